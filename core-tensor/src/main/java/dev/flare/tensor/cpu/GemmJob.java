package dev.flare.tensor.cpu;

/**
 * One {@link CpuGemm} call, checked and narrowed to int: every element that the call reads or writes
 * lies inside its array, so offsets and strides that reach it fit in an int and the loops index with
 * ints. Error messages name the call, the argument, what was expected and what came.
 */
final class GemmJob {
    final GemmKernel kernel;
    final int batch, M, N, K;
    /** float[] or double[], as the kernel expects. */
    final Object a, b, c;
    /** Offset and batch, row, column strides in elements; a stride of a dimension of extent 1 is 0. */
    final int aOff, aBS, aRS, aCS, bOff, bBS, bRS, bCS, cOff, cBS, cRS, cCS;
    final boolean accumulate;

    GemmJob(String op, GemmKernel kernel, int batch, int M, int N, int K,
            Object a, int aLen, long aOff, long aBS, long aRS, long aCS,
            Object b, int bLen, long bOff, long bBS, long bRS, long bCS,
            Object c, int cLen, long cOff, long cBS, long cRS, long cCS, boolean accumulate) {
        requireSize(op, "batch", batch);
        requireSize(op, "M", M);
        requireSize(op, "N", N);
        requireSize(op, "K", K);
        requireArray(op, "a", a);
        requireArray(op, "b", b);
        requireArray(op, "c", c);
        this.kernel = kernel;
        this.batch = batch;
        this.M = M;
        this.N = N;
        this.K = K;
        this.a = a;
        this.b = b;
        this.c = c;
        this.accumulate = accumulate;
        check(op, "A", "a", aLen, aOff, batch, aBS, M, aRS, K, aCS);
        check(op, "B", "b", bLen, bOff, batch, bBS, K, bRS, N, bCS);
        check(op, "C", "c", cLen, cOff, batch, cBS, M, cRS, N, cCS);
        // checked: every reach fits the array, so these fit an int (an empty view reads nothing: zeros will do)
        boolean aEmpty = batch == 0 || M == 0 || K == 0, bEmpty = batch == 0 || K == 0 || N == 0, cEmpty = batch == 0 || M == 0 || N == 0;
        this.aOff = aEmpty ? 0 : (int) aOff;
        this.aBS = aEmpty || batch == 1 ? 0 : (int) aBS;
        this.aRS = aEmpty || M == 1 ? 0 : (int) aRS;
        this.aCS = aEmpty || K == 1 ? 0 : (int) aCS;
        this.bOff = bEmpty ? 0 : (int) bOff;
        this.bBS = bEmpty || batch == 1 ? 0 : (int) bBS;
        this.bRS = bEmpty || K == 1 ? 0 : (int) bRS;
        this.bCS = bEmpty || N == 1 ? 0 : (int) bCS;
        this.cOff = cEmpty ? 0 : (int) cOff;
        this.cBS = cEmpty || batch == 1 ? 0 : (int) cBS;
        this.cRS = cEmpty || M == 1 ? 0 : (int) cRS;
        this.cCS = cEmpty || N == 1 ? 0 : (int) cCS;
    }

    private static void requireSize(String op, String name, int size) {
        if (size < 0) {
            throw new IllegalArgumentException(op + ": " + name + " must be >= 0, got " + size);
        }
    }

    private static void requireArray(String op, String name, Object array) {
        if (array == null) {
            throw new NullPointerException(op + ": array " + name + " must not be null");
        }
    }

    /**
     * Checks that every element of a (batch x rows x cols) strided view lies inside its array (an empty view reads
     * nothing and is not checked). Allocates nothing unless it throws: small GEMMs (flash attention's CPU tiles) are
     * called often enough for per-call garbage to show.
     */
    private static void check(String op, String matrix, String array, int len, long off,
                              int batch, long bs, int rows, long rs, int cols, long cs) {
        if (batch == 0 || rows == 0 || cols == 0) {
            return;
        }
        long lo = off, hi = off;
        try {
            long reach = Math.multiplyExact((long) (batch - 1), bs);
            if (reach > 0) hi = Math.addExact(hi, reach); else lo = Math.addExact(lo, reach);
            reach = Math.multiplyExact((long) (rows - 1), rs);
            if (reach > 0) hi = Math.addExact(hi, reach); else lo = Math.addExact(lo, reach);
            reach = Math.multiplyExact((long) (cols - 1), cs);
            if (reach > 0) hi = Math.addExact(hi, reach); else lo = Math.addExact(lo, reach);
        } catch (ArithmeticException e) {
            throw new IndexOutOfBoundsException(describe(op, matrix, off, batch, bs, rows, rs, cols, cs)
                    + ": offset + stride * extent overflows a long");
        }
        if (lo < 0 || hi >= len) {
            throw new IndexOutOfBoundsException(describe(op, matrix, off, batch, bs, rows, rs, cols, cs)
                    + ": expected elements within " + array + "[0.." + (len - 1) + "] (length " + len + "), got elements "
                    + lo + ".." + hi);
        }
    }

    private static String describe(String op, String matrix, long off, int batch, long bs, int rows, long rs, int cols, long cs) {
        return op + ": " + matrix + " (" + batch + " x " + rows + " x " + cols + ", offset " + off + ", strides " + bs
                + ", " + rs + ", " + cs + ")";
    }
}
