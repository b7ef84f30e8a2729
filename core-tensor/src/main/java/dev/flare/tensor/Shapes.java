package dev.flare.tensor;

import java.util.Arrays;

/** Shape arithmetic shared by ops and backends: element counts, strides, broadcasting, dim checks. */
public final class Shapes {
    private Shapes() {}

    public static long numel(int[] shape) {
        long n = 1;
        for (int d : shape) n *= d;
        return n;
    }

    /** Row-major (C-contiguous) strides in elements. */
    public static long[] contiguousStrides(int[] shape) {
        long[] strides = new long[shape.length];
        long s = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            strides[i] = s;
            s *= Math.max(shape[i], 1);
        }
        return strides;
    }

    public static void checkShape(String argument, int[] shape) {
        for (int i = 0; i < shape.length; i++)
            if (shape[i] < 0)
                throw new IllegalArgumentException(argument + ": expected non-negative sizes, got " + Arrays.toString(shape));
    }

    /** Normalizes a possibly negative dim for a tensor of rank {@code rank}; the error names the argument. */
    public static int dim(String argument, int dim, int rank) {
        int d = dim < 0 ? dim + rank : dim;
        if (d < 0 || d >= rank)
            throw new IllegalArgumentException(argument + ": expected a dim in [" + (-rank) + ", " + (rank - 1)
                    + "] for a tensor of rank " + rank + ", got " + dim);
        return d;
    }

    /** The broadcast shape of two shapes (NumPy rules: align right, sizes equal or 1). */
    public static int[] broadcast(String what, int[] a, int[] b) {
        int rank = Math.max(a.length, b.length);
        int[] out = new int[rank];
        for (int i = 0; i < rank; i++) {
            int da = i < rank - a.length ? 1 : a[i - (rank - a.length)];
            int db = i < rank - b.length ? 1 : b[i - (rank - b.length)];
            if (da != db && da != 1 && db != 1)
                throw new IllegalArgumentException(what + ": shapes " + Arrays.toString(a) + " and " + Arrays.toString(b)
                        + " cannot be broadcast (dim " + i + " of the result: " + da + " vs " + db + ")");
            out[i] = da == 1 ? db : da;
        }
        return out;
    }

    public static String str(int[] shape) { return Arrays.toString(shape); }
}
