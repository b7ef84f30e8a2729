package dev.flare.tensor.cpu;

import dev.flare.tensor.DType;
import dev.flare.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;

import static dev.flare.tensor.cpu.NNFixtures.*;

class CpuGeluBackwardTest {
    private final long seed = seed();
    private final Random rnd = new Random(seed);

    static double gelu(double x) {
        return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
    }

    /** The derivative of the tanh GELU, written out independently of the kernel. */
    static double geluGradRef(double x) {
        double k = Math.sqrt(2 / Math.PI), u = k * (x + 0.044715 * x * x * x), t = Math.tanh(u);
        double du = k * (1 + 3 * 0.044715 * x * x);
        return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * du;
    }

    private int[] randomShape() {
        int rank = 1 + rnd.nextInt(3);
        int[] shape = new int[rank];
        for (int i = 0; i < rank; i++) shape[i] = 1 + rnd.nextInt(rank == 1 ? 3000 : 40);
        return shape;
    }

    private void check(DType dt, double atol, double rtol) {
        for (int layout = 0; layout < 4; layout++) check(dt, (layout & 1) != 0, (layout & 2) != 0, atol, rtol);
    }

    private void check(DType dt, boolean xStrided, boolean dyStrided, double atol, double rtol) {
        int[] shape = randomShape();
        int n = numel(shape);
        Tensor x = tensor(dt, gaussian(rnd, n, 3), shape, rnd, xStrided);
        Tensor dy = tensor(dt, gaussian(rnd, n, 1), shape, rnd, dyStrided);
        Tensor dx = out(dt, shape);
        CPU.geluBackward(x, dy, dx);
        double[] xv = read(x), gv = read(dy), ref = new double[n];
        for (int i = 0; i < n; i++) ref[i] = gv[i] * geluGradRef(xv[i]);
        assertClose("geluBackward " + dt + " " + Arrays.toString(shape) + " x strides " + Arrays.toString(x.strides()),
                ref, read(dx), atol, rtol, seed);
    }

    @Test
    void geluBackwardMatchesTheTanhFormulaOnContiguousAndStridedInputs() {
        for (int trial = 0; trial < 3; trial++) {
            check(DType.F32, 1e-6, 1e-5);
            check(DType.F64, 1e-14, 1e-12);
        }
    }

    @Test
    void geluBackwardInHalfPrecisionIsRoundedOnce() {
        // Tolerance: 2 units of roundoff of the 16-bit type, on the rounded inputs.
        for (int trial = 0; trial < 2; trial++) {
            check(DType.BF16, 1e-6, eps(DType.BF16));
            check(DType.F16, 1e-6, eps(DType.F16));
        }
    }

    @Test
    void geluBackwardAgreesWithFiniteDifferencesOfGeluInF64() {
        double[] xv = gaussian(rnd, 200, 3);
        xv[0] = 0; xv[1] = 20; xv[2] = -20; xv[3] = 1e-8;
        Tensor dx = out(DType.F64, 200);
        double[] ones = new double[200];
        Arrays.fill(ones, 1);
        CPU.geluBackward(tensor(DType.F64, xv, 200), tensor(DType.F64, ones, 200), dx);
        double[] num = new double[200];
        double h = 1e-6;
        for (int i = 0; i < 200; i++) num[i] = (gelu(xv[i] + h) - gelu(xv[i] - h)) / (2 * h);
        assertClose("gelu gradcheck", num, read(dx), 1e-8, 1e-7, seed);
    }
}
