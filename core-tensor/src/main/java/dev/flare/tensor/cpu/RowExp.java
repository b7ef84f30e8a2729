package dev.flare.tensor.cpu;

/**
 * Exponentials of a row for host kernels outside this package (FLASH_CPU's softmax): the float overload runs
 * {@link NNVector}'s vector polynomial (about 1 ulp; 0 below exp(-87.3)), the double overload {@link Math#exp}, one
 * element after the other. Both have the same shape, so that FLASH_CPU's F32 kernel, generated from the F64 one by
 * replacing double with float, gets the fast one. Needs the incubator vector module (as FLASH_CPU's kernels do).
 */
public final class RowExp {
    private RowExp() {}

    /**
     * y[yo + i] = exp(x[xo + i] * scale - shift) for i in [0, n) (y may be x, at the same offset); returns the sum of
     * those values, added in float lanes over blocks and the blocks in double.
     */
    public static double expScaledShifted(float[] x, int xo, float scale, float shift, float[] y, int yo, int n) {
        return NNVector.expScaledSum(x, xo, scale, shift, y, yo, n);
    }

    /** The double version of {@link #expScaledShifted(float[], int, float, float, float[], int, int)}: Math.exp, summed in order. */
    public static double expScaledShifted(double[] x, int xo, double scale, double shift, double[] y, int yo, int n) {
        double sum = 0;
        for (int i = 0; i < n; i++) {
            double e = Math.exp(x[xo + i] * scale - shift);
            y[yo + i] = e;
            sum += e;
        }
        return sum;
    }
}
