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
        int[] av = view(op, "A", "a", aLen, aOff, batch, aBS, M, aRS, K, aCS);
        int[] bv = view(op, "B", "b", bLen, bOff, batch, bBS, K, bRS, N, bCS);
        int[] cv = view(op, "C", "c", cLen, cOff, batch, cBS, M, cRS, N, cCS);
        this.aOff = av[0];
        this.aBS = av[1];
        this.aRS = av[2];
        this.aCS = av[3];
        this.bOff = bv[0];
        this.bBS = bv[1];
        this.bRS = bv[2];
        this.bCS = bv[3];
        this.cOff = cv[0];
        this.cBS = cv[1];
        this.cRS = cv[2];
        this.cCS = cv[3];
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
     * Checks that every element of a (batch x rows x cols) strided view lies inside its array and returns
     * {offset, batchStride, rowStride, colStride} as ints. An empty view is not checked (any offset will
     * do, as it reads nothing) and comes back as zeros.
     */
    private static int[] view(String op, String matrix, String array, int len, long off,
                              int batch, long bs, int rows, long rs, int cols, long cs) {
        if (batch == 0 || rows == 0 || cols == 0) {
            return new int[4];
        }
        // the description is built only for an error: a call runs this three times, and small GEMMs (flash attention's
        // CPU tiles) are called often enough for eager string building to show in profiles
        java.util.function.Supplier<String> what = () -> op + ": " + matrix + " (" + batch + " x " + rows + " x " + cols
                + ", offset " + off + ", strides " + bs + ", " + rs + ", " + cs + ")";
        long lo = off, hi = off;
        try {
            long[] extent = {batch - 1, rows - 1, cols - 1};
            long[] stride = {bs, rs, cs};
            for (int d = 0; d < 3; d++) {
                long reach = Math.multiplyExact(extent[d], stride[d]);
                if (reach > 0) {
                    hi = Math.addExact(hi, reach);
                } else {
                    lo = Math.addExact(lo, reach);
                }
            }
        } catch (ArithmeticException e) {
            throw new IndexOutOfBoundsException(what.get() + ": offset + stride * extent overflows a long");
        }
        if (lo < 0 || hi >= len) {
            throw new IndexOutOfBoundsException(what.get() + ": expected elements within " + array + "[0.." + (len - 1)
                    + "] (length " + len + "), got elements " + lo + ".." + hi);
        }
        return new int[] {(int) off, batch > 1 ? (int) bs : 0, rows > 1 ? (int) rs : 0, cols > 1 ? (int) cs : 0};
    }
}
