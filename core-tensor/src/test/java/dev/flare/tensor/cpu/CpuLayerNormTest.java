package dev.flare.tensor.cpu;

import dev.flare.tensor.DType;
import dev.flare.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;

import static dev.flare.tensor.cpu.NNFixtures.*;
import static org.junit.jupiter.api.Assertions.fail;

class CpuLayerNormTest {
    private final long seed = seed();
    private final Random rnd = new Random(seed);

    /** {out, mean, rstd} of layer norm over rows of c, in double; w/b may be null. */
    static double[][] layerNormRef(double[] x, int c, double[] w, double[] b, double eps) {
        int rows = x.length / c;
        double[] out = new double[x.length], mean = new double[rows], rstd = new double[rows];
        for (int r = 0; r < rows; r++) {
            double s = 0;
            for (int i = 0; i < c; i++) s += x[r * c + i];
            double mu = s / c, v = 0;
            for (int i = 0; i < c; i++) v += (x[r * c + i] - mu) * (x[r * c + i] - mu);
            double rs = 1 / Math.sqrt(v / c + eps);
            mean[r] = mu;
            rstd[r] = rs;
            for (int i = 0; i < c; i++)
                out[r * c + i] = (x[r * c + i] - mu) * rs * (w == null ? 1 : w[i]) + (b == null ? 0 : b[i]);
        }
        return new double[][]{out, mean, rstd};
    }

    /** {dx, dw, db} in double from the textbook formulas. */
    static double[][] layerNormBackwardRef(double[] dy, double[] x, double[] w, double[] mean, double[] rstd, int c) {
        int rows = x.length / c;
        double[] dx = new double[x.length], dw = new double[c], db = new double[c];
        for (int r = 0; r < rows; r++) {
            double sg = 0, sgx = 0;
            for (int i = 0; i < c; i++) {
                double xh = (x[r * c + i] - mean[r]) * rstd[r];
                double g = dy[r * c + i] * (w == null ? 1 : w[i]);
                sg += g;
                sgx += g * xh;
                dw[i] += dy[r * c + i] * xh;
                db[i] += dy[r * c + i];
            }
            for (int i = 0; i < c; i++) {
                double xh = (x[r * c + i] - mean[r]) * rstd[r];
                double g = dy[r * c + i] * (w == null ? 1 : w[i]);
                dx[r * c + i] = rstd[r] * (g - sg / c - xh * sgx / c);
            }
        }
        return new double[][]{dx, dw, db};
    }

    private static final int[] SIZES = {1, 3, 65, 1000, 2, 64, 768};

    private int[] randomShape(int c) {
        int rank = 1 + rnd.nextInt(3);
        int[] shape = new int[rank];
        for (int i = 0; i < rank - 1; i++) shape[i] = 1 + rnd.nextInt(c >= 768 ? 4 : 9);
        shape[rank - 1] = c;
        return shape;
    }

    private static DType stats(DType dt) { return dt == DType.F64 ? DType.F64 : DType.F32; }

    private void checkForward(DType dt, int c, boolean withW, boolean withB, double atol, double rtol) {
        int[] shape = randomShape(c);
        double eps = 1e-5;
        double[] xv = gaussian(rnd, numel(shape), 2);
        for (int i = 0; i < xv.length; i++) xv[i] += 3;          // a non-zero mean
        Tensor x = tensor(dt, xv, shape, rnd, rnd.nextBoolean());
        Tensor w = withW ? tensor(dt, gaussian(rnd, c, 1), new int[]{c}, rnd, rnd.nextBoolean()) : null;
        Tensor b = withB ? tensor(dt, gaussian(rnd, c, 1), new int[]{c}, rnd, rnd.nextBoolean()) : null;
        int[] rowShape = Arrays.copyOf(shape, shape.length - 1);
        Tensor out = out(dt, shape), mean = out(stats(dt), rowShape), rstd = out(stats(dt), rowShape);
        CPU.layerNorm(x, w, b, eps, out, mean, rstd);
        double[][] ref = layerNormRef(read(x), c, w == null ? null : read(w), b == null ? null : read(b), eps);
        String what = "layerNorm " + dt + " " + Arrays.toString(shape) + " w=" + withW + " b=" + withB;
        assertClose(what + " mean", ref[1], read(mean), 1e-6, 1e-6, seed);
        assertClose(what + " rstd", ref[2], read(rstd), 0, dt == DType.F64 ? 1e-12 : 1e-5, seed);
        // x - mean carries the input's rounding (about |x| ulp) into every output, amplified by rstd: a short row of
        // nearly equal values (small variance) loses relative accuracy however the kernel computes, so the tolerance
        // has that term besides atol and rtol.
        double[] xs = read(x), got = read(out), ws = w == null ? null : read(w);
        double unit = dt == DType.F64 ? 0x1p-52 : 0x1p-23;
        for (int i = 0; i < got.length; i++) {
            double conditioning = 4 * unit * (Math.abs(xs[i]) + Math.abs(ref[1][i / c])) * ref[2][i / c]
                    * (ws == null ? 1 : Math.abs(ws[i % c]));
            double tol = atol + rtol * Math.abs(ref[0][i]) + conditioning;
            if (!(Math.abs(got[i] - ref[0][i]) <= tol))
                fail(what + " out [" + i + "]: expected " + ref[0][i] + ", got " + got[i] + " (tolerance " + tol + "); "
                        + NNFixtures.replay(seed));
        }
    }

    @Test
    void layerNormMatchesTheReferenceWithAndWithoutAffineOnStridedInputs() {
        for (int c : SIZES)
            for (int mask = 0; mask < 4; mask++) {
                checkForward(DType.F32, c, (mask & 1) != 0, (mask & 2) != 0, 2e-5, 2e-5);
                checkForward(DType.F64, c, (mask & 1) != 0, (mask & 2) != 0, 1e-12, 1e-10);
            }
    }

    @Test
    void layerNormOfAConstantRowIsTheBiasWithRstdFromEps() {
        int c = 5;
        Tensor x = tensor(DType.F32, new double[]{2, 2, 2, 2, 2}, 1, c);
        Tensor b = tensor(DType.F32, new double[]{1, 2, 3, 4, 5}, c);
        Tensor w = tensor(DType.F32, new double[]{9, 9, 9, 9, 9}, c);
        Tensor out = out(DType.F32, 1, c), mean = out(DType.F32, 1), rstd = out(DType.F32, 1);
        CPU.layerNorm(x, w, b, 0.25, out, mean, rstd);
        assertClose("constant row out", new double[]{1, 2, 3, 4, 5}, read(out), 0, 0, seed);
        assertClose("constant row mean", new double[]{2}, read(mean), 0, 0, seed);
        assertClose("constant row rstd", new double[]{2}, read(rstd), 0, 0, seed);
    }

    private void checkBackward(DType dt, int c, boolean withW, boolean wantWB, double atol, double rtol) {
        int[] shape = randomShape(c);
        int rows = numel(shape) / c;
        int[] rowShape = Arrays.copyOf(shape, shape.length - 1);
        Tensor x = tensor(dt, gaussian(rnd, numel(shape), 2), shape, rnd, rnd.nextBoolean());
        Tensor w = withW ? tensor(dt, gaussian(rnd, c, 1), new int[]{c}, rnd, rnd.nextBoolean()) : null;
        Tensor mean = out(stats(dt), rowShape), rstd = out(stats(dt), rowShape);
        CPU.layerNorm(x, w, null, 1e-5, out(dt, shape), mean, rstd);
        Tensor dy = tensor(dt, gaussian(rnd, numel(shape), 1), shape, rnd, rnd.nextBoolean());
        Tensor dx = out(dt, shape);
        // pre-filled with garbage: the kernel must overwrite, not accumulate
        Tensor dw = wantWB ? tensor(dt, gaussian(rnd, c, 100), c) : null;
        Tensor db = wantWB ? tensor(dt, gaussian(rnd, c, 100), c) : null;
        CPU.layerNormBackward(dy, x, w, mean, rstd, dx, dw, db);
        double[][] ref = layerNormBackwardRef(read(dy), read(x), w == null ? null : read(w), read(mean), read(rstd), c);
        String what = "layerNorm backward " + dt + " " + Arrays.toString(shape) + " w=" + withW;
        assertClose(what + " dx", ref[0], read(dx), atol, rtol, seed);
        if (wantWB) {
            // column sums over `rows` terms: scale the absolute tolerance with sqrt(rows)
            assertClose(what + " dWeight", ref[1], read(dw), atol * Math.sqrt(rows), rtol, seed);
            assertClose(what + " dBias", ref[2], read(db), atol * Math.sqrt(rows), rtol, seed);
        }
    }

    @Test
    void layerNormBackwardMatchesTheReferenceAndOverwritesWeightAndBiasGradients() {
        for (int c : SIZES)
            for (int mask = 0; mask < 4; mask++) {
                checkBackward(DType.F32, c, (mask & 1) != 0, (mask & 2) != 0, 5e-5, 5e-5);
                checkBackward(DType.F64, c, (mask & 1) != 0, (mask & 2) != 0, 1e-11, 1e-9);
            }
    }

    @Test
    void layerNormBackwardAgreesWithFiniteDifferencesForXWeightAndBiasInF64() {
        for (int trial = 0; trial < 3; trial++) {
            int c = 1 + rnd.nextInt(6), rows = 1 + rnd.nextInt(4);
            int[] shape = {rows, c};
            double eps = 1e-3;
            double[] xv = gaussian(rnd, rows * c, 1), wv = gaussian(rnd, c, 1), bv = gaussian(rnd, c, 1);
            double[] g = gaussian(rnd, rows * c, 1);
            Tensor mean = out(DType.F64, rows), rstd = out(DType.F64, rows);
            CPU.layerNorm(tensor(DType.F64, xv, shape), tensor(DType.F64, wv, c), tensor(DType.F64, bv, c), eps,
                    out(DType.F64, shape), mean, rstd);
            Tensor dx = out(DType.F64, shape), dw = out(DType.F64, c), db = out(DType.F64, c);
            CPU.layerNormBackward(tensor(DType.F64, g, shape, rnd, true), tensor(DType.F64, xv, shape, rnd, true),
                    tensor(DType.F64, wv, new int[]{c}, rnd, true), mean, rstd, dx, dw, db);
            double[][] params = {xv, wv, bv};
            Tensor[] analytic = {dx, dw, db};
            String[] names = {"dx", "dWeight", "dBias"};
            for (int p = 0; p < 3; p++) {
                double[] v = params[p], num = new double[v.length];
                double h = 1e-6;
                for (int i = 0; i < v.length; i++) {
                    double keep = v[i];
                    v[i] = keep + h;
                    double fp = CpuSoftmaxTest.dot(g, forward(xv, wv, bv, shape, eps));
                    v[i] = keep - h;
                    double fm = CpuSoftmaxTest.dot(g, forward(xv, wv, bv, shape, eps));
                    v[i] = keep;
                    num[i] = (fp - fm) / (2 * h);
                }
                assertClose("layerNorm gradcheck " + names[p] + " " + Arrays.toString(shape), num, read(analytic[p]), 1e-7, 1e-6, seed);
            }
        }
    }

    private static double[] forward(double[] xv, double[] wv, double[] bv, int[] shape, double eps) {
        int c = shape[1];
        Tensor out = out(DType.F64, shape);
        CPU.layerNorm(tensor(DType.F64, xv, shape), tensor(DType.F64, wv, c), tensor(DType.F64, bv, c), eps, out,
                out(DType.F64, shape[0]), out(DType.F64, shape[0]));
        return read(out);
    }

    @Test
    void halfPrecisionLayerNormKeepsF32StatisticsAndRoundsOutputsOnce() {
        // Tolerance: out and dx within 2 units of roundoff of the 16-bit type of the reference on the rounded inputs
        // (plus a small absolute term for values near 0); mean/rstd are F32 and as accurate as the F32 path.
        for (DType dt : new DType[]{DType.BF16, DType.F16})
            for (int c : SIZES) {
                checkForward(dt, c, true, true, 1e-3, eps(dt));
                checkBackward(dt, c, true, true, 1e-3, 2 * eps(dt));
            }
    }
}
