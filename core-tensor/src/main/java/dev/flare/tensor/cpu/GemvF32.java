package dev.flare.tensor.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * F32 products with one row of A (M = 1: a decoding step, a batch of one) without packing. The GEMM packs all of B
 * and runs its 8-row (4-row on AVX2) micro-kernel with seven (three) rows of padding, so for one row it moved B twice
 * and did eight (four) times the arithmetic; here B is read once, in its own layout: rows of B contiguous along n (a Linear's weight) as vector
 * multiply-adds into a row of sums, or columns contiguous along k (a transposed weight, the tied LM head) as eight
 * rows' dot products side by side.
 *
 * <p>Every element is summed in the GEMM's order: fused multiply-adds over k from zero within each block of
 * {@link CpuGemm#KC} steps, each block's sum then written into C (the first one) or added to it, in order. So this
 * path and the GEMM give the same bits, and a KV-cached decoding step equals the same row of a full forward.
 */
final class GemvF32 {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    /** Rows of B^T whose dot products run side by side: enough independent FMA chains to hide their latency. */
    private static final int DOT_ROWS = 8;

    /** Off for tests that compare this path against the GEMM. */
    static volatile boolean enabled = !Boolean.getBoolean("flare.cpu.gemv.off");
    /** Calls taken, for tests. */
    static final java.util.concurrent.atomic.AtomicLong CALLS = new java.util.concurrent.atomic.AtomicLong();

    private GemvF32() {}

    /** Whether this path takes j: F32, one row of A, B with unit stride along n or along k, C not reduced over the batch. */
    static boolean takes(GemmJob j) {
        return enabled && j.kernel == GemmKernelF32.INSTANCE && j.M == 1 && j.K > 0 && !(j.cBS == 0 && j.batch > 1)
                && (j.bCS == 1 || j.bRS == 1);
    }

    /** Runs j, splitting the columns of C over pool's threads when pool is not null. */
    static void run(GemmJob j, GemmThreads pool) {
        CALLS.incrementAndGet();
        int parts = pool == null ? 1 : Math.min(pool.size(), Math.max(1, j.N / 64));
        if (parts == 1) {
            for (int bi = 0; bi < j.batch; bi++) columns(j, bi, 0, j.N);
            return;
        }
        pool.run(parts, t -> {       // boundaries on multiples of 64 columns: whole strips (rowsAlongN), whole groups
            int n0 = boundary(j.N, t, parts), n1 = boundary(j.N, t + 1, parts);
            for (int bi = 0; bi < j.batch; bi++) columns(j, bi, n0, n1);
        });
    }

    private static int boundary(int n, int t, int parts) {
        return t == parts ? n : (int) ((long) n * t / parts) / 64 * 64;
    }

    private static void columns(GemmJob j, int bi, int n0, int n1) {
        if (n0 >= n1) return;
        if (j.bCS == 1) rowsAlongN(j, bi, n0, n1);
        else dotsAlongK(j, bi, n0, n1);
    }

    /**
     * B[k][n] contiguous along n: strips of STRIP vectors of columns, their sums held in registers over each block of k
     * (sums[n] = fma(a[k], B[k][n], sums[n]) in k order), then written or added into C; columns past the last whole
     * vector as scalars, same order.
     */
    private static void rowsAlongN(GemmJob j, int bi, int n0, int n1) {
        float[] a = (float[]) j.a, b = (float[]) j.b, c = (float[]) j.c;
        int aBase = j.aOff + bi * j.aBS, bBase = j.bOff + bi * j.bBS, cBase = j.cOff + bi * j.cBS;
        int w = S.length(), strip = 4 * w, n = n0;
        float[] sums = new float[strip];
        for (; n + strip <= n1; n += strip) {
            for (int pc = 0; pc < j.K; pc += CpuGemm.KC) {
                int kEnd = Math.min(j.K, pc + CpuGemm.KC);
                FloatVector s0 = FloatVector.zero(S), s1 = FloatVector.zero(S), s2 = FloatVector.zero(S), s3 = FloatVector.zero(S);
                for (int k = pc; k < kEnd; k++) {
                    FloatVector av = FloatVector.broadcast(S, a[aBase + k * j.aCS]);
                    int row = bBase + k * j.bRS + n;
                    s0 = av.fma(FloatVector.fromArray(S, b, row), s0);
                    s1 = av.fma(FloatVector.fromArray(S, b, row + w), s1);
                    s2 = av.fma(FloatVector.fromArray(S, b, row + 2 * w), s2);
                    s3 = av.fma(FloatVector.fromArray(S, b, row + 3 * w), s3);
                }
                s0.intoArray(sums, 0);
                s1.intoArray(sums, w);
                s2.intoArray(sums, 2 * w);
                s3.intoArray(sums, 3 * w);
                store(c, cBase + n * j.cCS, j.cCS, sums, strip, pc == 0 && !j.accumulate);
            }
        }
        for (; n < n1; n++) {                                   // the last columns, one at a time
            for (int pc = 0; pc < j.K; pc += CpuGemm.KC) {
                int kEnd = Math.min(j.K, pc + CpuGemm.KC);
                float s = 0;
                for (int k = pc; k < kEnd; k++) s = Math.fma(a[aBase + k * j.aCS], b[bBase + k * j.bRS + n], s);
                sums[0] = s;
                store(c, cBase + n * j.cCS, j.cCS, sums, 1, pc == 0 && !j.accumulate);
            }
        }
    }

    /** B[k][n] contiguous along k (B^T row-major): DOT_ROWS columns at a time, each a chain of fmas over k in order. */
    private static void dotsAlongK(GemmJob j, int bi, int n0, int n1) {
        float[] a = (float[]) j.a, b = (float[]) j.b, c = (float[]) j.c;
        int aBase = j.aOff + bi * j.aBS, bBase = j.bOff + bi * j.bBS, cBase = j.cOff + bi * j.cBS;
        float[] sums = new float[DOT_ROWS];
        int[] cols = new int[DOT_ROWS];
        for (int g = n0; g < n1; g += DOT_ROWS) {
            int rows = Math.min(DOT_ROWS, n1 - g);
            for (int r = 0; r < DOT_ROWS; r++) cols[r] = bBase + Math.min(g + r, n1 - 1) * j.bCS;   // spare lanes repeat the last
            for (int pc = 0; pc < j.K; pc += CpuGemm.KC) {
                int kEnd = Math.min(j.K, pc + CpuGemm.KC);
                float s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
                int b0 = cols[0], b1 = cols[1], b2 = cols[2], b3 = cols[3], b4 = cols[4], b5 = cols[5], b6 = cols[6], b7 = cols[7];
                int k = pc;
                for (; k + 1 < kEnd; k += 2) {          // two steps per trip: each chain still in k order
                    float ak = a[aBase + k * j.aCS], ak1 = a[aBase + (k + 1) * j.aCS];
                    s0 = Math.fma(ak1, b[b0 + k + 1], Math.fma(ak, b[b0 + k], s0));
                    s1 = Math.fma(ak1, b[b1 + k + 1], Math.fma(ak, b[b1 + k], s1));
                    s2 = Math.fma(ak1, b[b2 + k + 1], Math.fma(ak, b[b2 + k], s2));
                    s3 = Math.fma(ak1, b[b3 + k + 1], Math.fma(ak, b[b3 + k], s3));
                    s4 = Math.fma(ak1, b[b4 + k + 1], Math.fma(ak, b[b4 + k], s4));
                    s5 = Math.fma(ak1, b[b5 + k + 1], Math.fma(ak, b[b5 + k], s5));
                    s6 = Math.fma(ak1, b[b6 + k + 1], Math.fma(ak, b[b6 + k], s6));
                    s7 = Math.fma(ak1, b[b7 + k + 1], Math.fma(ak, b[b7 + k], s7));
                }
                for (; k < kEnd; k++) {
                    float ak = a[aBase + k * j.aCS];
                    s0 = Math.fma(ak, b[b0 + k], s0);
                    s1 = Math.fma(ak, b[b1 + k], s1);
                    s2 = Math.fma(ak, b[b2 + k], s2);
                    s3 = Math.fma(ak, b[b3 + k], s3);
                    s4 = Math.fma(ak, b[b4 + k], s4);
                    s5 = Math.fma(ak, b[b5 + k], s5);
                    s6 = Math.fma(ak, b[b6 + k], s6);
                    s7 = Math.fma(ak, b[b7 + k], s7);
                }
                sums[0] = s0; sums[1] = s1; sums[2] = s2; sums[3] = s3; sums[4] = s4; sums[5] = s5; sums[6] = s6; sums[7] = s7;
                store(c, cBase + g * j.cCS, j.cCS, sums, rows, pc == 0 && !j.accumulate);
            }
        }
    }

    /** c[n * cs] = sums[n] (the first block without accumulate), else c[n * cs] += sums[n], as the GEMM's tile store. */
    private static void store(float[] c, int base, int cs, float[] sums, int n, boolean overwrite) {
        for (int e = 0, o = base; e < n; e++, o += cs) c[o] = overwrite ? sums[e] : c[o] + sums[e];
    }
}
