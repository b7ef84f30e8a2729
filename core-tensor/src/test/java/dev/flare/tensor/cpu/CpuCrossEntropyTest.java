package dev.flare.tensor.cpu;

import dev.flare.tensor.DType;
import dev.flare.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static dev.flare.tensor.cpu.NNFixtures.*;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CpuCrossEntropyTest {
    private final long seed = seed();
    private final Random rnd = new Random(seed);

    private static final int[] CLASSES = {1, 3, 65, 1000, 2, 50};
    private static final long IGNORE = -100;

    /** {loss, lse} per row, in double; loss 0 on ignored rows. */
    static double[][] crossEntropyRef(double[] x, long[] t, int n, int c, long ignore) {
        double[] loss = new double[n], lse = new double[n];
        for (int r = 0; r < n; r++) {
            double m = Double.NEGATIVE_INFINITY;
            for (int i = 0; i < c; i++) m = Math.max(m, x[r * c + i]);
            double s = 0;
            for (int i = 0; i < c; i++) s += Math.exp(x[r * c + i] - m);
            lse[r] = m + Math.log(s);
            loss[r] = t[r] == ignore ? 0 : lse[r] - x[r * c + (int) t[r]];
        }
        return new double[][]{loss, lse};
    }

    static double[] crossEntropyBackwardRef(double[] x, long[] t, double[] lse, double[] dLoss, int n, int c, long ignore) {
        double[] dx = new double[n * c];
        for (int r = 0; r < n; r++) {
            if (t[r] == ignore) continue;
            for (int i = 0; i < c; i++)
                dx[r * c + i] = dLoss[r] * (Math.exp(x[r * c + i] - lse[r]) - (i == t[r] ? 1 : 0));
        }
        return dx;
    }

    /** Targets in [0, c), about a quarter replaced by ignore (all of them when allIgnored). */
    private long[] targets(int n, int c, long ignore, boolean allIgnored) {
        long[] t = new long[n];
        for (int i = 0; i < n; i++) t[i] = allIgnored || rnd.nextInt(4) == 0 ? ignore : rnd.nextInt(c);
        return t;
    }

    private static DType stats(DType dt) { return dt == DType.F64 ? DType.F64 : DType.F32; }

    private record Case(Tensor logits, Tensor targets, long[] t, int n, int c, long ignore) {}

    private Case randomCase(DType dt, int c, double scale, boolean allIgnored) {
        int n = 1 + rnd.nextInt(c >= 1000 ? 8 : 40);
        // an in-range ignoreIndex sometimes: that class then never counts as a target
        long ignore = rnd.nextInt(3) == 0 ? rnd.nextInt(c) : IGNORE;
        long[] t = targets(n, c, ignore, allIgnored);
        double[] x;
        if (scale >= 1000) {
            x = new double[n * c];
            for (int i = 0; i < x.length; i++) x[i] = rnd.nextDouble() * 2 * scale - scale;
        } else {
            x = gaussian(rnd, n * c, scale);
        }
        Tensor logits = tensor(dt, x, new int[]{n, c}, rnd, rnd.nextBoolean());
        Tensor targets = NNFixtures.ids(rnd.nextBoolean() ? DType.I32 : DType.I64, t, new int[]{n}, rnd, rnd.nextBoolean());
        return new Case(logits, targets, t, n, c, ignore);
    }

    private void checkForward(DType dt, int c, double scale, boolean allIgnored, double atol, double rtol) {
        Case k = randomCase(dt, c, scale, allIgnored);
        Tensor loss = out(stats(dt), k.n), lse = out(stats(dt), k.n);
        CPU.crossEntropy(k.logits, k.targets, k.ignore, loss, lse);
        double[][] ref = crossEntropyRef(read(k.logits), k.t, k.n, k.c, k.ignore);
        String what = "crossEntropy " + dt + " N=" + k.n + " C=" + c + " ignore " + k.ignore + " scale " + scale
                + " logits strides " + java.util.Arrays.toString(k.logits.strides());
        assertClose(what + " lse", ref[1], read(lse), atol, rtol, seed);
        assertClose(what + " loss", ref[0], read(loss), atol, rtol, seed);
    }

    @Test
    void crossEntropyMatchesTheReferenceWithSomeRowsIgnoredOnStridedInputs() {
        for (int c : CLASSES)
            for (int trial = 0; trial < 2; trial++) {
                checkForward(DType.F32, c, 3, false, 2e-5, 2e-6);
                checkForward(DType.F64, c, 3, false, 1e-12, 1e-13);
            }
    }

    @Test
    void crossEntropyIsStableForLogitsOfMagnitude1000() {
        for (int c : CLASSES) {
            checkForward(DType.F32, c, 1000, false, 1e-3, 2e-6);    // |lse| ~ 1000: 1e-3 is ~10 float ulps there
            checkForward(DType.F64, c, 1000, false, 1e-10, 1e-13);
        }
    }

    @Test
    void crossEntropyGivesZeroLossAndZeroGradientWhenEveryRowIsIgnored() {
        for (DType dt : new DType[]{DType.F32, DType.F64, DType.BF16}) {
            Case k = randomCase(dt, 65, 3, true);
            Tensor loss = out(stats(dt), k.n), lse = out(stats(dt), k.n);
            CPU.crossEntropy(k.logits, k.targets, k.ignore, loss, lse);
            assertClose("all-ignored loss " + dt, new double[k.n], read(loss), 0, 0, seed);
            for (double v : read(lse)) assertTrue(Double.isFinite(v), "lse is still computed on ignored rows; " + replay(seed));
            Tensor dLogits = out(dt, k.n, k.c);
            CPU.crossEntropyBackward(k.logits, k.targets, k.ignore, lse, tensor(stats(dt), gaussian(rnd, k.n, 1), k.n), dLogits);
            assertClose("all-ignored dLogits " + dt, new double[k.n * k.c], read(dLogits), 0, 0, seed);
        }
    }

    private void checkBackward(DType dt, int c, double scale, boolean broadcastDLoss, double atol, double rtol) {
        Case k = randomCase(dt, c, scale, false);
        Tensor loss = out(stats(dt), k.n), lse = out(stats(dt), k.n);
        CPU.crossEntropy(k.logits, k.targets, k.ignore, loss, lse);
        Tensor dLoss;
        if (broadcastDLoss) {
            // the gradient of a mean arrives as one scalar expanded to (N): stride 0
            double g = rnd.nextGaussian();
            dLoss = Tensor.of(tensor(stats(dt), new double[]{g}, 1).storage(), new int[]{k.n}, new long[]{0}, 0);
        } else {
            dLoss = tensor(stats(dt), gaussian(rnd, k.n, 1), new int[]{k.n}, rnd, rnd.nextBoolean());
        }
        Tensor dLogits = out(dt, k.n, c);
        CPU.crossEntropyBackward(k.logits, k.targets, k.ignore, lse, dLoss, dLogits);
        double[] ref = crossEntropyBackwardRef(read(k.logits), k.t, read(lse), read(dLoss), k.n, c, k.ignore);
        assertClose("crossEntropy backward " + dt + " N=" + k.n + " C=" + c + " ignore " + k.ignore + " broadcast " + broadcastDLoss,
                ref, read(dLogits), atol, rtol, seed);
    }

    @Test
    void crossEntropyBackwardMatchesSoftmaxMinusOneHotAndZeroesIgnoredRows() {
        for (int c : CLASSES)
            for (boolean broadcast : new boolean[]{false, true}) {
                checkBackward(DType.F32, c, 3, broadcast, 1e-6, 1e-5);
                checkBackward(DType.F64, c, 3, broadcast, 1e-14, 1e-12);
                checkBackward(DType.F32, c, 1000, broadcast, 1e-6, 1e-5);
            }
    }

    @Test
    void crossEntropyBackwardAgreesWithFiniteDifferencesInF64() {
        for (int trial = 0; trial < 4; trial++) {
            int n = 1 + rnd.nextInt(5), c = 1 + rnd.nextInt(7);
            long ignore = IGNORE;
            long[] t = targets(n, c, ignore, false);
            double[] x = gaussian(rnd, n * c, 2), g = gaussian(rnd, n, 1);
            Tensor targets = NNFixtures.ids(DType.I64, t, new int[]{n}, rnd, false);
            Tensor lse = out(DType.F64, n);
            CPU.crossEntropy(tensor(DType.F64, x, n, c), targets, ignore, out(DType.F64, n), lse);
            Tensor dLogits = out(DType.F64, n, c);
            CPU.crossEntropyBackward(tensor(DType.F64, x, new int[]{n, c}, rnd, true), targets, ignore, lse,
                    tensor(DType.F64, g, n), dLogits);
            double[] num = new double[n * c];
            double h = 1e-6;
            for (int i = 0; i < num.length; i++) {
                double keep = x[i];
                x[i] = keep + h;
                double fp = CpuSoftmaxTest.dot(g, loss(x, targets, ignore, n, c));
                x[i] = keep - h;
                double fm = CpuSoftmaxTest.dot(g, loss(x, targets, ignore, n, c));
                x[i] = keep;
                num[i] = (fp - fm) / (2 * h);
            }
            assertClose("crossEntropy gradcheck N=" + n + " C=" + c, num, read(dLogits), 1e-7, 1e-6, seed);
        }
    }

    private static double[] loss(double[] x, Tensor targets, long ignore, int n, int c) {
        Tensor loss = out(DType.F64, n);
        CPU.crossEntropy(tensor(DType.F64, x, n, c), targets, ignore, loss, out(DType.F64, n));
        return read(loss);
    }

    @Test
    void halfPrecisionLogitsGiveF32LossAndRoundedGradients() {
        // Loss/lse are F32 computed from the rounded logits: F32 tolerances. dLogits is rounded once to the
        // 16-bit type: 2 units of its roundoff, plus a small absolute term for probabilities near 0.
        for (DType dt : new DType[]{DType.BF16, DType.F16})
            for (int c : CLASSES) {
                checkForward(dt, c, 3, false, 2e-5, 2e-6);
                checkBackward(dt, c, 3, rnd.nextBoolean(), 1e-6, eps(dt));
            }
    }
}
