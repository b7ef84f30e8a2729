package dev.flare.tensor.cpu;

import jdk.incubator.vector.FloatVector;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * Strided, batched matrix multiply on the CPU in pure Java (Vector API): {@link #sgemm} (F32) and
 * {@link #dgemm} (F64).
 *
 * <p>Design (GotoBLAS/BLIS style): for each block of NC columns of C and each block of KC steps of K, a
 * KC x NC block of B is packed into NR-wide column panels; then MC x KC blocks of A are packed into
 * MR-tall row panels and an MR x NR register-blocked micro-kernel runs over every (A panel, B panel)
 * pair, the B panel staying in L1 while the A block streams from L2. Packing makes every stride layout
 * (row-major, transposed, broadcast, arbitrary) look the same to the kernel, and zero padding of the
 * panels turns edge tiles into full tiles whose write-back is clipped.
 *
 * <p>Files: this class (API, scheduling over threads), {@link GemmJob} (argument checks), {@link GemvF32} (one row
 * of A in F32, without packing),
 * {@link GemmBlocked} (the cache-blocked loop nest), {@link GemmThreads} (spinning worker pool),
 * {@link GemmWorkspace} (per-thread panels), {@link GemmKernel} with its twins {@link GemmKernelF32} and
 * {@link GemmKernelF64} (packing, micro-kernel, tile store, tiny loop).
 *
 * <p>Threads: {@code flare.cpu.threads} in total (default: the available processors), the calling thread
 * being one of them. Many small matrices are split over the batch; large ones inside each matrix into
 * independent blocks of rows of C (or of columns when there are few rows), each thread packing its own
 * panels, so threads never synchronise until the end of the call; small problems stay on the caller.
 *
 * <p>C must not overlap A or B, and distinct (batch, m, n) must address distinct elements of C, except
 * that a C batch stride of 0 with {@code batch > 1} is allowed and means a reduction over the batch: the
 * first batch item honours {@code accumulate}, the others add to it.
 */
public final class CpuGemm {
    private CpuGemm() {}

    /** Threads of one call, the caller included. */
    static final int THREADS = Math.max(1,
            Integer.getInteger("flare.cpu.threads", Runtime.getRuntime().availableProcessors()));
    /**
     * Cache blocking: KC steps of K per packed block; MC rows of A and NC columns of B (kernels round them). KC is
     * also the GEMV's summation block (its results equal the GEMM's). With 512-bit vectors KC = 512: on the Zen 5 dev
     * machine 1-12% more GFLOP/s than 256 wherever K > 256, the most on the weight gradient 512x1024x128 (A^T B)
     * (docs/benchmarks.md, "KC"); 256 elsewhere, where 512 was not measured.
     */
    static final int KC = Math.max(1, Integer.getInteger("flare.cpu.gemm.kc",
            FloatVector.SPECIES_PREFERRED.vectorBitSize() >= 512 ? 512 : 256));
    static final int MC = Math.max(1, Integer.getInteger("flare.cpu.gemm.mc", 240));
    static final int NC = Math.max(1, Integer.getInteger("flare.cpu.gemm.nc", 4096));
    /** Minimum height of a block of rows that a thread claims. */
    static final int MIN_ROWS = Integer.getInteger("flare.cpu.gemm.minRows", 32);
    /**
     * How long idle pool threads (and a caller waiting for them) spin before parking. Short: a spinning thread takes
     * a core from the other work of a step (attention, elementwise ops); on 2 cores the default CPU training step was
     * about 8% faster at 20 us than at 100 (docs/benchmarks.md).
     */
    static final long SPIN_NANOS = 1000L * Long.getLong("flare.cpu.gemm.spinMicros", 20);
    /** At most this many multiply-adds (M*N*K) per matrix: a plain loop beats packing. */
    static final long TINY = Long.getLong("flare.cpu.gemm.tiny", 1024);
    /** Below this many multiply-adds in total a call stays on the calling thread. */
    static final long PAR_MIN = Long.getLong("flare.cpu.gemm.parMin", 1L << 21);
    /** Matrices with at least this many multiply-adds may be split inside rather than over the batch. */
    static final long SPLIT_MIN = Long.getLong("flare.cpu.gemm.splitMin", 1L << 24);

    /**
     * C[m][n] = (accumulate ? C[m][n] : 0) + sum_k A[m][k] * B[k][n], for each batch index. Element (m, k)
     * of A is {@code a[aOffset + batch*aBatchStride + m*aRowStride + k*aColStride]}, likewise (k, n) of B
     * and (m, n) of C. Strides are in elements and may be negative or 0 (a batch stride of 0 broadcasts A
     * or B over the batch), so A and B may be transposed or any other strided views.
     *
     * @throws IllegalArgumentException a negative size
     * @throws NullPointerException a null array
     * @throws IndexOutOfBoundsException a view that reaches outside its array
     */
    public static void sgemm(int batch, int M, int N, int K,
                             float[] a, long aOffset, long aBatchStride, long aRowStride, long aColStride,
                             float[] b, long bOffset, long bBatchStride, long bRowStride, long bColStride,
                             float[] c, long cOffset, long cBatchStride, long cRowStride, long cColStride,
                             boolean accumulate) {
        sgemm(GemmKernelF32.INSTANCE, batch, M, N, K, a, aOffset, aBatchStride, aRowStride, aColStride, b, bOffset,
                bBatchStride, bRowStride, bColStride, c, cOffset, cBatchStride, cRowStride, cColStride, accumulate);
    }

    /** {@link #sgemm} with a given micro-kernel height (tests run each on every machine). */
    static void sgemm(GemmKernelF32 kernel, int batch, int M, int N, int K,
                      float[] a, long aOffset, long aBatchStride, long aRowStride, long aColStride,
                      float[] b, long bOffset, long bBatchStride, long bRowStride, long bColStride,
                      float[] c, long cOffset, long cBatchStride, long cRowStride, long cColStride,
                      boolean accumulate) {
        run(new GemmJob("sgemm", kernel, batch, M, N, K,
                a, a == null ? 0 : a.length, aOffset, aBatchStride, aRowStride, aColStride,
                b, b == null ? 0 : b.length, bOffset, bBatchStride, bRowStride, bColStride,
                c, c == null ? 0 : c.length, cOffset, cBatchStride, cRowStride, cColStride, accumulate));
    }

    /** Double precision {@link #sgemm}, same contract. */
    public static void dgemm(int batch, int M, int N, int K,
                             double[] a, long aOffset, long aBatchStride, long aRowStride, long aColStride,
                             double[] b, long bOffset, long bBatchStride, long bRowStride, long bColStride,
                             double[] c, long cOffset, long cBatchStride, long cRowStride, long cColStride,
                             boolean accumulate) {
        dgemm(GemmKernelF64.INSTANCE, batch, M, N, K, a, aOffset, aBatchStride, aRowStride, aColStride, b, bOffset,
                bBatchStride, bRowStride, bColStride, c, cOffset, cBatchStride, cRowStride, cColStride, accumulate);
    }

    /** {@link #dgemm} with a given micro-kernel height (tests run each on every machine). */
    static void dgemm(GemmKernelF64 kernel, int batch, int M, int N, int K,
                      double[] a, long aOffset, long aBatchStride, long aRowStride, long aColStride,
                      double[] b, long bOffset, long bBatchStride, long bRowStride, long bColStride,
                      double[] c, long cOffset, long cBatchStride, long cRowStride, long cColStride,
                      boolean accumulate) {
        run(new GemmJob("dgemm", kernel, batch, M, N, K,
                a, a == null ? 0 : a.length, aOffset, aBatchStride, aRowStride, aColStride,
                b, b == null ? 0 : b.length, bOffset, bBatchStride, bRowStride, bColStride,
                c, c == null ? 0 : c.length, cOffset, cBatchStride, cRowStride, cColStride, accumulate));
    }

    /** {@link #sgemm} by another name: code written once over float[] and double[] (one file generated from the other) calls gemm. */
    public static void gemm(int batch, int M, int N, int K,
                            float[] a, long aOffset, long aBatchStride, long aRowStride, long aColStride,
                            float[] b, long bOffset, long bBatchStride, long bRowStride, long bColStride,
                            float[] c, long cOffset, long cBatchStride, long cRowStride, long cColStride,
                            boolean accumulate) {
        sgemm(batch, M, N, K, a, aOffset, aBatchStride, aRowStride, aColStride, b, bOffset, bBatchStride, bRowStride,
                bColStride, c, cOffset, cBatchStride, cRowStride, cColStride, accumulate);
    }

    /** {@link #dgemm} by another name (see the float[] overload). */
    public static void gemm(int batch, int M, int N, int K,
                            double[] a, long aOffset, long aBatchStride, long aRowStride, long aColStride,
                            double[] b, long bOffset, long bBatchStride, long bRowStride, long bColStride,
                            double[] c, long cOffset, long cBatchStride, long cRowStride, long cColStride,
                            boolean accumulate) {
        dgemm(batch, M, N, K, a, aOffset, aBatchStride, aRowStride, aColStride, b, bOffset, bBatchStride, bRowStride,
                bColStride, c, cOffset, cBatchStride, cRowStride, cColStride, accumulate);
    }

    /** Picks the path (nothing, tiny loop, one thread, split over the batch, rows or columns) and runs it. */
    private static void run(GemmJob j) {
        if (j.batch == 0 || j.M == 0 || j.N == 0) {
            return;
        }
        GemmKernel kd = j.kernel;
        if (j.K == 0) {
            if (!j.accumulate) {
                for (int bi = 0; bi < j.batch; bi++) {
                    kd.zero(j.c, j.cOff + bi * j.cBS, j.cRS, j.cCS, j.M, j.N);
                }
            }
            return;
        }
        final long work = (long) j.M * j.N * j.K;
        final boolean reduce = j.cBS == 0 && j.batch > 1;
        final int M = j.M, N = j.N, MR = kd.MR, NR = kd.NR;
        if (work <= TINY) {
            for (int bi = 0; bi < j.batch; bi++) {
                kd.tinyLoop(j, bi, j.accumulate || (reduce && bi > 0));
            }
            return;
        }
        if (GemvF32.takes(j)) {       // one row of A: no packing, B read once (same sums as below, bit for bit)
            // memory-bound: two threads pay off from about a megabyte of B
            GemmThreads rowPool = work * j.batch < PAR_MIN / 8 ? null : GemmThreads.acquire();
            try {
                GemvF32.run(j, rowPool);
            } finally {
                if (rowPool != null) rowPool.release();
            }
            return;
        }
        GemmThreads pool = work * j.batch < PAR_MIN ? null : GemmThreads.acquire();
        if (pool == null) {
            GemmWorkspace ws = GemmWorkspace.get();
            for (int bi = 0; bi < j.batch; bi++) {
                GemmBlocked.run(j, bi, j.accumulate || (reduce && bi > 0), 0, N, null, 0, ws);
            }
            return;
        }
        try {
            final int threads = pool.size();
            if (!reduce && j.batch > 1
                    && (j.batch % threads == 0 || j.batch >= 4 * threads || work < SPLIT_MIN)) {
                // Many matrices: threads take whole matrices, one at a time, from a shared counter.
                final AtomicInteger next = new AtomicInteger();
                pool.run(Math.min(threads, j.batch), t -> {
                    GemmWorkspace ws = GemmWorkspace.get();
                    for (int bi; (bi = next.getAndIncrement()) < j.batch; ) {
                        GemmBlocked.run(j, bi, j.accumulate, 0, N, null, t, ws);
                    }
                });
                return;
            }
            final int mPanels = (M + MR - 1) / MR, nPanels = (N + NR - 1) / NR;
            if (mPanels >= 2 * threads || mPanels >= nPanels) {
                // Threads share out blocks of rows of C, each packing the B panels it needs itself.
                final GemmBlocked.RowSplit split = new GemmBlocked.RowSplit(j, threads, !reduce);
                pool.run(threads, t -> {
                    GemmWorkspace ws = GemmWorkspace.get();
                    for (int bi = 0; bi < j.batch; bi++) {
                        GemmBlocked.run(j, bi, j.accumulate || (reduce && bi > 0), 0, N, split, t, ws);
                    }
                });
            } else {
                // Few rows: a static split of the columns of C.
                final int parts = Math.min(threads, nPanels);
                pool.run(parts, t -> {
                    GemmWorkspace ws = GemmWorkspace.get();
                    int n0 = (int) ((long) nPanels * t / parts) * NR;
                    int n1 = Math.min(N, (int) ((long) nPanels * (t + 1) / parts) * NR);
                    for (int bi = 0; bi < j.batch; bi++) {
                        GemmBlocked.run(j, bi, j.accumulate || (reduce && bi > 0), n0, n1, null, t, ws);
                    }
                });
            }
        } finally {
            pool.release();
        }
    }

    static int roundUp(int x, int m) {
        return (x + m - 1) / m * m;
    }
}
