package dev.flare.tensor.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.flare.tensor.TestSeeds;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@link CpuGemm} against the slow {@link NaiveGemm} on random strided views: odd sizes (edge tiles, the
 * tiny loop, several KC/MC/NC blocks), transposed, strided, negative and broadcast (batch stride 0)
 * operands, accumulate, batches, the reduction over the batch, and every threading path, each with both
 * micro-kernel heights (8 x 2W and 4 x 2W) whatever the machine. Each test draws a fresh seed, printed on
 * failure.
 */
class CpuGemmTest {
    private final long seed = TestSeeds.fresh();
    private final Random rnd = new Random(seed);

    /** Layout of a (batch x rows x cols) operand inside a flat array. */
    enum Layout { ROW_MAJOR, TRANSPOSED, STRIDED }

    /** A strided view: element (b, r, c) = data[off + b*bs + r*rs + c*cs]. Values are exact floats. */
    record View(double[] data, long off, long bs, long rs, long cs) {
        float[] floats() {
            float[] f = new float[data.length];
            for (int i = 0; i < f.length; i++) f[i] = (float) data[i];
            return f;
        }

        View abs() {
            double[] d = data.clone();
            for (int i = 0; i < d.length; i++) d[i] = Math.abs(d[i]);
            return new View(d, off, bs, rs, cs);
        }
    }

    /**
     * A random view. ROW_MAJOR: rows of {@code cols} (plus padding) one after another; TRANSPOSED:
     * column-major; STRIDED: row-major with column stride 2 and padded rows. broadcast: batch stride 0.
     */
    private View view(int batch, int rows, int cols, Layout layout, boolean broadcast) {
        int pad = rnd.nextInt(3);
        long rs, cs, matrix;
        switch (layout) {
            case ROW_MAJOR -> { cs = 1; rs = cols + pad; matrix = rows * rs; }
            case TRANSPOSED -> { rs = 1; cs = rows + pad; matrix = cols * cs; }
            default -> { cs = 2; rs = 2L * cols + 1 + pad; matrix = rows * rs; }
        }
        long off = rnd.nextInt(5);
        long bs = broadcast ? 0 : matrix + rnd.nextInt(3);
        long len = off + (broadcast ? 1 : batch) * Math.max(bs, matrix) + 1;
        double[] d = new double[(int) len];
        for (int i = 0; i < d.length; i++) d[i] = (float) (rnd.nextDouble() * 2 - 1);
        return new View(d, off, bs, rs, cs);
    }

    /**
     * Runs sgemm and dgemm on the same data and checks both, element by element, against NaiveGemm in
     * double precision, within the classic gamma bound (K+2) * eps * (|A||B| + |C0|), that bound itself
     * computed by NaiveGemm on absolute values. Elements of C outside the view must stay untouched.
     */
    private void check(int batch, int M, int N, int K, View a, View b, View c, boolean accumulate) {
        // the public entry points (this machine's micro-kernel height), then both heights by name
        check(batch, M, N, K, a, b, c, accumulate, null, null);
        check(batch, M, N, K, a, b, c, accumulate, GemmKernelF32.ROWS_8, GemmKernelF64.ROWS_8);
        check(batch, M, N, K, a, b, c, accumulate, GemmKernelF32.ROWS_4, GemmKernelF64.ROWS_4);
    }

    private void check(int batch, int M, int N, int K, View a, View b, View c, boolean accumulate,
                       GemmKernelF32 kernelF32, GemmKernelF64 kernelF64) {
        String ctx = String.format("batch=%d M=%d N=%d K=%d acc=%b A=[%d,%d,%d,%d] B=[%d,%d,%d,%d] C=[%d,%d,%d,%d] "
                        + "MR=%s; %s", batch, M, N, K, accumulate, a.off, a.bs, a.rs, a.cs, b.off, b.bs, b.rs, b.cs,
                c.off, c.bs, c.rs, c.cs, kernelF32 == null ? "default" : kernelF32.MR, TestSeeds.describe(seed));
        float[] cf = c.floats();
        double[] cd = c.data.clone();
        if (kernelF32 == null) {
            CpuGemm.sgemm(batch, M, N, K, a.floats(), a.off, a.bs, a.rs, a.cs, b.floats(), b.off, b.bs, b.rs, b.cs,
                    cf, c.off, c.bs, c.rs, c.cs, accumulate);
            CpuGemm.dgemm(batch, M, N, K, a.data, a.off, a.bs, a.rs, a.cs, b.data, b.off, b.bs, b.rs, b.cs,
                    cd, c.off, c.bs, c.rs, c.cs, accumulate);
        } else {
            CpuGemm.sgemm(kernelF32, batch, M, N, K, a.floats(), a.off, a.bs, a.rs, a.cs, b.floats(), b.off, b.bs,
                    b.rs, b.cs, cf, c.off, c.bs, c.rs, c.cs, accumulate);
            CpuGemm.dgemm(kernelF64, batch, M, N, K, a.data, a.off, a.bs, a.rs, a.cs, b.data, b.off, b.bs, b.rs,
                    b.cs, cd, c.off, c.bs, c.rs, c.cs, accumulate);
        }
        double[] ref = naive(batch, M, N, K, a, b, c, accumulate);
        double[] bound = naive(batch, M, N, K, a.abs(), b.abs(), c.abs(), accumulate);
        boolean[] inView = new boolean[c.data.length];
        int steps = (c.bs == 0 && batch > 1 ? batch : 1) * (K + 2);
        for (int bi = 0; bi < batch; bi++) {
            for (int m = 0; m < M; m++) {
                for (int n = 0; n < N; n++) {
                    int i = (int) (c.off + bi * c.bs + m * c.rs + n * c.cs);
                    inView[i] = true;
                    double tolF = steps * 0x1p-23 * bound[i] + 1e-30, tolD = steps * 0x1p-52 * bound[i] + 1e-300;
                    if (!(Math.abs(cf[i] - ref[i]) <= tolF)) {
                        fail("sgemm at batch " + bi + " (" + m + "," + n + "): got " + cf[i] + ", expected " + ref[i]
                                + " within " + tolF + " | " + ctx);
                    }
                    if (!(Math.abs(cd[i] - ref[i]) <= tolD)) {
                        fail("dgemm at batch " + bi + " (" + m + "," + n + "): got " + cd[i] + ", expected " + ref[i]
                                + " within " + tolD + " | " + ctx);
                    }
                }
            }
        }
        for (int i = 0; i < inView.length; i++) {
            if (!inView[i]) {
                assertEquals((float) c.data[i], cf[i], "sgemm wrote outside C at " + i + " | " + ctx);
                assertEquals(c.data[i], cd[i], "dgemm wrote outside C at " + i + " | " + ctx);
            }
        }
    }

    private static double[] naive(int batch, int M, int N, int K, View a, View b, View c, boolean accumulate) {
        double[] out = c.data.clone();
        NaiveGemm.dgemm(batch, M, N, K, a.data, a.off, a.bs, a.rs, a.cs, b.data, b.off, b.bs, b.rs, b.cs,
                out, c.off, c.bs, c.rs, c.cs, accumulate);
        return out;
    }

    private void check(int batch, int M, int N, int K, Layout la, Layout lb, Layout lc,
                       boolean bcastA, boolean bcastB, boolean accumulate) {
        check(batch, M, N, K, view(batch, M, K, la, bcastA), view(batch, K, N, lb, bcastB),
                view(batch, M, N, lc, false), accumulate);
    }

    @ParameterizedTest(name = "M={0} N={1} K={2}")
    @CsvSource({"1,1,1", "1,17,3", "3,1,17", "7,7,7", "17,63,1", "1,1,257", "33,33,33", "63,65,129",
            "65,63,17", "129,257,65", "257,129,63", "8,32,16", "16,64,64", "7,31,255", "31,33,300",
            "17,129,513", "2,300,5", "255,255,255"})
    void oddSizesRowMajor(int M, int N, int K) {
        check(1, M, N, K, Layout.ROW_MAJOR, Layout.ROW_MAJOR, Layout.ROW_MAJOR, false, false, false);
        check(1, M, N, K, Layout.ROW_MAJOR, Layout.ROW_MAJOR, Layout.ROW_MAJOR, false, false, true);
    }

    @ParameterizedTest(name = "A={0} B={1}")
    @CsvSource({"ROW_MAJOR,TRANSPOSED", "TRANSPOSED,ROW_MAJOR", "TRANSPOSED,TRANSPOSED",
            "STRIDED,STRIDED", "STRIDED,TRANSPOSED", "TRANSPOSED,STRIDED"})
    void transposedAndStridedOperands(Layout la, Layout lb) {
        check(1, 65, 47, 129, la, lb, Layout.ROW_MAJOR, false, false, false);
        check(1, 3, 17, 1, la, lb, Layout.ROW_MAJOR, false, false, false);
        check(2, 33, 70, 63, la, lb, Layout.ROW_MAJOR, false, false, true);
    }

    @ParameterizedTest(name = "C={0}")
    @CsvSource({"TRANSPOSED", "STRIDED"})
    void nonUnitCStrides(Layout lc) {
        check(1, 63, 65, 33, Layout.ROW_MAJOR, Layout.ROW_MAJOR, lc, false, false, false);
        check(3, 17, 40, 9, Layout.TRANSPOSED, Layout.ROW_MAJOR, lc, false, false, true);
        check(1, 1, 1, 5, Layout.ROW_MAJOR, Layout.ROW_MAJOR, lc, false, false, true);
    }

    @Test
    void accumulateOverSeveralKBlocks() {
        check(1, 40, 33, 600, Layout.ROW_MAJOR, Layout.TRANSPOSED, Layout.ROW_MAJOR, false, false, true);
        check(1, 2, 3, 4, Layout.ROW_MAJOR, Layout.ROW_MAJOR, Layout.ROW_MAJOR, false, false, true);
    }

    @Test
    void batchedWithBroadcast() {
        // attention-sized: many small matrices
        check(24, 64, 64, 16, Layout.ROW_MAJOR, Layout.TRANSPOSED, Layout.ROW_MAJOR, false, false, false);
        check(5, 17, 33, 65, Layout.ROW_MAJOR, Layout.ROW_MAJOR, Layout.ROW_MAJOR, true, false, false);
        check(5, 17, 33, 65, Layout.ROW_MAJOR, Layout.ROW_MAJOR, Layout.ROW_MAJOR, false, true, true);
        check(4, 3, 5, 7, Layout.TRANSPOSED, Layout.ROW_MAJOR, Layout.STRIDED, true, true, false);
    }

    @Test
    void zeroCBatchStrideReducesOverBatch() {
        int batch = 3, M = 20, N = 35, K = 40;
        View a = view(batch, M, K, Layout.ROW_MAJOR, false);
        View b = view(batch, K, N, Layout.TRANSPOSED, false);
        View c = view(1, M, N, Layout.ROW_MAJOR, true);
        check(batch, M, N, K, a, b, c, false);
        check(batch, M, N, K, a, b, c, true);
        // large enough for the pool (static row split, the same rows per thread for every batch item)
        a = view(2, 300, 200, Layout.ROW_MAJOR, false);
        b = view(2, 200, 150, Layout.ROW_MAJOR, false);
        c = view(1, 300, 150, Layout.ROW_MAJOR, true);
        check(2, 300, 150, 200, a, b, c, true);
    }

    @Test
    void zeroSizes() {
        for (boolean acc : new boolean[] {false, true}) {
            check(1, 0, 5, 7, Layout.ROW_MAJOR, Layout.ROW_MAJOR, Layout.ROW_MAJOR, false, false, acc);
            check(1, 5, 0, 7, Layout.ROW_MAJOR, Layout.ROW_MAJOR, Layout.ROW_MAJOR, false, false, acc);
            check(2, 5, 7, 0, Layout.ROW_MAJOR, Layout.ROW_MAJOR, Layout.STRIDED, false, false, acc);
            check(0, 5, 7, 3, Layout.ROW_MAJOR, Layout.ROW_MAJOR, Layout.ROW_MAJOR, false, false, acc);
        }
        // empty operands may come with empty arrays
        CpuGemm.sgemm(1, 0, 0, 0, new float[0], 0, 0, 0, 0, new float[0], 0, 0, 0, 0, new float[0], 0, 0, 0, 0, false);
        float[] c = {5f, 6f};
        CpuGemm.sgemm(1, 1, 2, 0, new float[0], 0, 0, 0, 0, new float[0], 0, 0, 0, 0, c, 0, 0, 2, 1, false);
        assertArrayEquals(new float[] {0f, 0f}, c);
    }

    /** Sizes above the threading thresholds: rows (dynamic, several column blocks), columns, the batch. */
    @Test
    void threadedPaths() {
        check(1, 300, 280, 270, Layout.ROW_MAJOR, Layout.ROW_MAJOR, Layout.ROW_MAJOR, false, false, false);
        check(1, 5, 2000, 300, Layout.ROW_MAJOR, Layout.ROW_MAJOR, Layout.ROW_MAJOR, false, false, true);
        check(1, 257, 4200, 20, Layout.TRANSPOSED, Layout.ROW_MAJOR, Layout.ROW_MAJOR, false, false, false);
        check(2, 260, 257, 260, Layout.ROW_MAJOR, Layout.TRANSPOSED, Layout.ROW_MAJOR, false, true, false);
        check(3, 255, 256, 257, Layout.TRANSPOSED, Layout.ROW_MAJOR, Layout.TRANSPOSED, false, false, true);
        check(16, 64, 64, 128, Layout.ROW_MAJOR, Layout.TRANSPOSED, Layout.ROW_MAJOR, false, false, false);
    }

    /** Two callers at once: one gets the pool, the other runs alone; both must be right. */
    @Test
    void concurrentCallers() throws Exception {
        ExecutorService callers = Executors.newFixedThreadPool(2);
        try {
            Callable<Void> job = () -> {
                for (int i = 0; i < 3; i++) {
                    View a, b, c;
                    synchronized (this) { // rnd is shared; the GEMMs run concurrently
                        a = view(1, 200, 230, Layout.ROW_MAJOR, false);
                        b = view(1, 230, 190, Layout.ROW_MAJOR, false);
                        c = view(1, 200, 190, Layout.ROW_MAJOR, false);
                    }
                    check(1, 200, 190, 230, a, b, c, false);
                }
                return null;
            };
            Future<Void> f1 = callers.submit(job), f2 = callers.submit(job);
            f1.get();
            f2.get();
        } finally {
            callers.shutdown();
        }
    }

    @Test
    void negativeStrides() {
        // A read bottom-up: row stride -rs
        int M = 9, N = 11, K = 13;
        View a0 = view(1, M, K, Layout.ROW_MAJOR, false);
        View a = new View(a0.data, a0.off + (M - 1) * a0.rs, 0, -a0.rs, 1);
        check(1, M, N, K, a, view(1, K, N, Layout.ROW_MAJOR, false), view(1, M, N, Layout.ROW_MAJOR, false), false);
    }

    /** 4 rows on x86 without AVX-512 (16 vector registers), else 8; the override is checked. */
    @Test
    void microKernelHeightFollowsTheVectorRegisters() {
        String arch = System.getProperty("os.arch", "");
        boolean x86 = arch.equals("amd64") || arch.equals("x86_64");
        String old = System.getProperty("flare.cpu.gemm.mr");
        try {
            System.clearProperty("flare.cpu.gemm.mr");
            assertEquals(8, GemmKernel.defaultRows(512));
            assertEquals(x86 ? 4 : 8, GemmKernel.defaultRows(256));
            System.setProperty("flare.cpu.gemm.mr", "8");
            assertEquals(8, GemmKernel.defaultRows(256));
            System.setProperty("flare.cpu.gemm.mr", "6");
            var e = assertThrows(IllegalArgumentException.class, () -> GemmKernel.defaultRows(256));
            assertEquals("flare.cpu.gemm.mr: expected 4 or 8, got '6'", e.getMessage());
        } finally {
            if (old == null) System.clearProperty("flare.cpu.gemm.mr");
            else System.setProperty("flare.cpu.gemm.mr", old);
        }
        assertEquals(GemmKernel.defaultRows(GemmKernelF32.S.vectorBitSize()), GemmKernelF32.INSTANCE.MR);
        assertEquals(4, GemmKernelF32.ROWS_4.MR);
        assertEquals(8, GemmKernelF64.ROWS_8.MR);
    }

    /** Small integers: every sum is exact in F32, so fast and naive, F32 and F64 must agree bit for bit. */
    @Test
    void exactOnSmallIntegers() {
        int batch = 3, M = 37, N = 45, K = 70;
        float[] af = new float[batch * M * K], bf = new float[K * N];
        for (int i = 0; i < af.length; i++) af[i] = rnd.nextInt(9) - 4;
        for (int i = 0; i < bf.length; i++) bf[i] = rnd.nextInt(9) - 4;
        double[] ad = new double[af.length], bd = new double[bf.length];
        for (int i = 0; i < af.length; i++) ad[i] = af[i];
        for (int i = 0; i < bf.length; i++) bd[i] = bf[i];
        float[] fast = new float[batch * M * N], slow = new float[fast.length];
        double[] fastD = new double[fast.length];
        CpuGemm.sgemm(batch, M, N, K, af, 0, M * K, K, 1, bf, 0, 0, 1, K, fast, 0, M * N, N, 1, false);
        NaiveGemm.sgemm(batch, M, N, K, af, 0, M * K, K, 1, bf, 0, 0, 1, K, slow, 0, M * N, N, 1, false);
        CpuGemm.dgemm(batch, M, N, K, ad, 0, M * K, K, 1, bd, 0, 0, 1, K, fastD, 0, M * N, N, 1, false);
        assertArrayEquals(slow, fast, "sgemm vs naive; " + TestSeeds.describe(seed));
        for (int i = 0; i < fast.length; i++) {
            assertEquals(fast[i], fastD[i], "sgemm vs dgemm at " + i + "; " + TestSeeds.describe(seed));
        }
    }

    @Test
    void rejectsBadArgumentsNamingThem() {
        float[] a = new float[12], b = new float[12], c = new float[9];
        // C with offset 1 reaches element 9 of a 9-element array
        var e = assertThrows(IndexOutOfBoundsException.class,
                () -> CpuGemm.sgemm(1, 3, 3, 4, a, 0, 0, 4, 1, b, 0, 0, 3, 1, c, 1, 0, 3, 1, false));
        assertTrue(e.getMessage().contains("sgemm: C") && e.getMessage().contains("c[0..8]")
                && e.getMessage().contains("got elements 1..9"), e.getMessage());
        assertThrows(IndexOutOfBoundsException.class,
                () -> CpuGemm.sgemm(1, 3, 3, 4, a, 0, 0, 4, 1, b, 0, 0, 4, 1, c, 0, 0, 3, 1, false));
        assertThrows(IndexOutOfBoundsException.class,
                () -> CpuGemm.sgemm(2, 3, 3, 4, a, 0, 12, 4, 1, b, 0, 0, 3, 1, c, 0, 0, 3, 1, false));
        assertThrows(IndexOutOfBoundsException.class,
                () -> CpuGemm.sgemm(1, 3, 3, 4, a, -1, 0, 4, 1, b, 0, 0, 3, 1, c, 0, 0, 3, 1, false));
        assertThrows(IndexOutOfBoundsException.class,
                () -> CpuGemm.sgemm(1, 3, 3, 4, a, 0, 0, Long.MAX_VALUE / 2, 1, b, 0, 0, 3, 1, c, 0, 0, 3, 1, false));
        var neg = assertThrows(IllegalArgumentException.class,
                () -> CpuGemm.sgemm(1, -1, 3, 4, a, 0, 0, 4, 1, b, 0, 0, 3, 1, c, 0, 0, 3, 1, false));
        assertEquals("sgemm: M must be >= 0, got -1", neg.getMessage());
        var nul = assertThrows(NullPointerException.class,
                () -> CpuGemm.dgemm(1, 3, 3, 4, null, 0, 0, 4, 1, new double[12], 0, 0, 3, 1,
                        new double[9], 0, 0, 3, 1, false));
        assertEquals("dgemm: array a must not be null", nul.getMessage());
        var d = assertThrows(IndexOutOfBoundsException.class,
                () -> CpuGemm.dgemm(1, 3, 3, 4, new double[11], 0, 0, 4, 1, new double[12], 0, 0, 3, 1,
                        new double[9], 0, 0, 3, 1, false));
        assertTrue(d.getMessage().startsWith("dgemm: A (1 x 3 x 4"), d.getMessage());
        CpuGemm.sgemm(1, 3, 3, 4, a, 0, 0, 4, 1, b, 0, 0, 3, 1, c, 0, 0, 3, 1, false); // exactly fits
    }
}
