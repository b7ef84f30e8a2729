package dev.flare.tensor.cpu;

import dev.flare.tensor.DType;
import dev.flare.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static dev.flare.tensor.cpu.NNFixtures.*;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CpuSoftmaxTest {
    private final long seed = seed();
    private final Random rnd = new Random(seed);

    /** Softmax / log-softmax of row-major x along dim, in double. */
    static double[] softmaxRef(double[] x, int[] shape, int dim, boolean log) {
        int outer = 1, inner = 1, c = shape[dim];
        for (int i = 0; i < dim; i++) outer *= shape[i];
        for (int i = dim + 1; i < shape.length; i++) inner *= shape[i];
        double[] y = new double[x.length];
        for (int o = 0; o < outer; o++)
            for (int in = 0; in < inner; in++) {
                double m = Double.NEGATIVE_INFINITY;
                for (int k = 0; k < c; k++) m = Math.max(m, x[(o * c + k) * inner + in]);
                double s = 0;
                for (int k = 0; k < c; k++) s += Math.exp(x[(o * c + k) * inner + in] - m);
                for (int k = 0; k < c; k++) {
                    int i = (o * c + k) * inner + in;
                    y[i] = log ? x[i] - m - Math.log(s) : Math.exp(x[i] - m) / s;
                }
            }
        return y;
    }

    static double[] softmaxBackwardRef(double[] y, double[] dy, int[] shape, int dim, boolean log) {
        int outer = 1, inner = 1, c = shape[dim];
        for (int i = 0; i < dim; i++) outer *= shape[i];
        for (int i = dim + 1; i < shape.length; i++) inner *= shape[i];
        double[] dx = new double[y.length];
        for (int o = 0; o < outer; o++)
            for (int in = 0; in < inner; in++) {
                double s = 0;
                for (int k = 0; k < c; k++) {
                    int i = (o * c + k) * inner + in;
                    s += log ? dy[i] : dy[i] * y[i];
                }
                for (int k = 0; k < c; k++) {
                    int i = (o * c + k) * inner + in;
                    dx[i] = log ? dy[i] - Math.exp(y[i]) * s : y[i] * (dy[i] - s);
                }
            }
        return dx;
    }

    /** A random shape of rank 1..3 with size c at a random dim; returns {shape..., dim}. */
    private int[][] randomShape(int c) {
        int rank = 1 + rnd.nextInt(3);
        int dim = rnd.nextInt(rank);
        int[] shape = new int[rank];
        for (int i = 0; i < rank; i++) shape[i] = i == dim ? c : 1 + rnd.nextInt(c >= 1000 ? 4 : 7);
        return new int[][]{shape, {dim}};
    }

    private static final int[] SIZES = {1, 3, 65, 1000, 2, 7, 64, 129};

    private void checkForward(DType dt, int c, double scale, boolean log, boolean strided, double atol, double rtol) {
        int[][] sd = randomShape(c);
        int[] shape = sd[0];
        int dim = sd[1][0];
        Tensor x = tensor(dt, gaussian(rnd, numel(shape), scale), shape, rnd, strided);
        Tensor y = out(dt, shape);
        CPU.softmax(x, dim, log, y);
        String what = (log ? "logSoftmax " : "softmax ") + dt + " shape " + java.util.Arrays.toString(shape) + " dim " + dim
                + (strided ? " strided " + java.util.Arrays.toString(x.strides()) : "");
        assertClose(what, softmaxRef(read(x), shape, dim, log), read(y), atol, rtol, seed);
    }

    @Test
    void softmaxAndLogSoftmaxMatchTheReferenceAlongAnyDimForOddAndLargeSizes() {
        for (int c : SIZES)
            for (boolean log : new boolean[]{false, true})
                for (boolean strided : new boolean[]{false, true}) {
                    checkForward(DType.F32, c, 3, log, strided, 1e-6, 2e-5);
                    checkForward(DType.F64, c, 3, log, strided, 1e-13, 1e-11);
                }
    }

    @Test
    void softmaxIsStableForLogitsOfMagnitude1000() {
        for (int c : SIZES)
            for (boolean log : new boolean[]{false, true}) {
                // uniform in [-1000, 1000]: naive exp would overflow to Inf / underflow to 0 for every element
                int[] shape = {3, c};
                double[] v = new double[3 * c];
                for (int i = 0; i < v.length; i++) v[i] = rnd.nextDouble() * 2000 - 1000;
                for (DType dt : new DType[]{DType.F32, DType.F64}) {
                    Tensor x = tensor(dt, v, shape, rnd, rnd.nextBoolean());
                    Tensor y = out(dt, shape);
                    CPU.softmax(x, 1, log, y);
                    double[] got = read(y);
                    for (double g : got) assertTrue(Double.isFinite(g), "non-finite output; " + replay(seed));
                    assertClose("stable " + (log ? "logSoftmax " : "softmax ") + dt + " C=" + c,
                            softmaxRef(read(x), shape, 1, log), got, dt == DType.F32 ? 1e-6 : 1e-13, dt == DType.F32 ? 2e-6 : 1e-12, seed);
                }
            }
        // exact small case: two tied maxima at +1000 share the mass, -1000 gets none
        Tensor x = tensor(DType.F32, new double[]{1000, -1000, 1000}, 1, 3);
        Tensor y = out(DType.F32, 1, 3);
        CPU.softmax(x, 1, false, y);
        assertClose("tied maxima", new double[]{0.5, 0, 0.5}, read(y), 0, 0, seed);
    }

    @Test
    void softmaxOfMaskedRowsGivesZeroWeightToMinusInfinity() {
        // a causal attention mask: row t of a (T, T) score matrix keeps columns <= t, the rest are -Inf
        for (int t : new int[]{1, 5, 64, 67}) {
            double[] v = gaussian(rnd, t * t, 2);
            for (int r = 0; r < t; r++) for (int c = r + 1; c < t; c++) v[r * t + c] = Double.NEGATIVE_INFINITY;
            for (DType dt : new DType[]{DType.F32, DType.F64, DType.BF16})
                for (boolean log : new boolean[]{false, true}) {
                    Tensor x = tensor(dt, v, new int[]{t, t}, rnd, rnd.nextBoolean());
                    Tensor y = out(dt, t, t);
                    CPU.softmax(x, 1, log, y);
                    double[] ref = softmaxRef(read(x), new int[]{t, t}, 1, log);
                    assertClose("masked " + (log ? "logSoftmax " : "softmax ") + dt + " T=" + t, ref, read(y),
                            1e-6, dt == DType.BF16 ? eps(dt) : 2e-5, seed);
                }
        }
    }

    @Test
    void softmaxBackwardMatchesTheReferenceForStridedInputs() {
        for (int c : SIZES)
            for (boolean log : new boolean[]{false, true})
                for (DType dt : new DType[]{DType.F32, DType.F64}) {
                    int[][] sd = randomShape(c);
                    int[] shape = sd[0];
                    int dim = sd[1][0];
                    double[] yv = softmaxRef(gaussian(rnd, numel(shape), 2), shape, dim, log);
                    Tensor y = tensor(dt, yv, shape, rnd, rnd.nextBoolean());
                    Tensor dy = tensor(dt, gaussian(rnd, numel(shape), 1), shape, rnd, rnd.nextBoolean());
                    Tensor dx = out(dt, shape);
                    CPU.softmaxBackward(y, dy, dim, log, dx);
                    boolean f32 = dt == DType.F32;
                    assertClose((log ? "logSoftmax" : "softmax") + " backward " + dt + " " + java.util.Arrays.toString(shape) + " dim " + dim,
                            softmaxBackwardRef(read(y), read(dy), shape, dim, log), read(dx),
                            f32 ? 1e-5 : 1e-12, f32 ? 1e-5 : 1e-10, seed);
                }
    }

    @Test
    void softmaxBackwardAgreesWithFiniteDifferencesInF64() {
        for (boolean log : new boolean[]{false, true})
            for (int trial = 0; trial < 3; trial++) {
                int[] shape = {2 + rnd.nextInt(2), 1 + rnd.nextInt(4), 1 + rnd.nextInt(5)};
                int dim = rnd.nextInt(3);
                int n = numel(shape);
                double[] xv = gaussian(rnd, n, 2), g = gaussian(rnd, n, 1);
                // f(x) = sum g * softmax(x); df/dx from the backward kernel
                Tensor y = out(DType.F64, shape);
                CPU.softmax(tensor(DType.F64, xv, shape), dim, log, y);
                Tensor dx = out(DType.F64, shape);
                CPU.softmaxBackward(y, tensor(DType.F64, g, shape, rnd, true), dim, log, dx);
                double[] num = new double[n];
                double h = 1e-6;
                for (int i = 0; i < n; i++) {
                    double keep = xv[i];
                    xv[i] = keep + h;
                    double fp = dot(g, forward(xv, shape, dim, log));
                    xv[i] = keep - h;
                    double fm = dot(g, forward(xv, shape, dim, log));
                    xv[i] = keep;
                    num[i] = (fp - fm) / (2 * h);
                }
                assertClose((log ? "logSoftmax" : "softmax") + " gradcheck " + java.util.Arrays.toString(shape) + " dim " + dim,
                        num, read(dx), 1e-7, 1e-6, seed);
            }
    }

    private static double[] forward(double[] xv, int[] shape, int dim, boolean log) {
        Tensor y = out(DType.F64, shape);
        CPU.softmax(tensor(DType.F64, xv, shape), dim, log, y);
        return read(y);
    }

    static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) s += a[i] * b[i];
        return s;
    }

    @Test
    void halfPrecisionSoftmaxIsComputedInFloatAndRoundedOnce() {
        // Tolerance: one rounding of the output to the 16-bit type (rtol = 2x its unit roundoff) on the rounded inputs.
        for (DType dt : new DType[]{DType.BF16, DType.F16})
            for (int c : SIZES)
                for (boolean log : new boolean[]{false, true}) {
                    checkForward(dt, c, 3, log, rnd.nextBoolean(), 1e-6, eps(dt));
                    int[][] sd = randomShape(c);
                    int[] shape = sd[0];
                    int dim = sd[1][0];
                    Tensor y = tensor(dt, softmaxRef(gaussian(rnd, numel(shape), 2), shape, dim, log), shape, rnd, rnd.nextBoolean());
                    Tensor dy = tensor(dt, gaussian(rnd, numel(shape), 1), shape, rnd, rnd.nextBoolean());
                    Tensor dx = out(dt, shape);
                    CPU.softmaxBackward(y, dy, dim, log, dx);
                    assertClose(dt + (log ? " logSoftmax" : " softmax") + " backward C=" + c,
                            softmaxBackwardRef(read(y), read(dy), shape, dim, log), read(dx), 1e-4, eps(dt), seed);
                }
    }
}
