package dev.flare.tensor.cuda;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The fast-math GELU of {@code GeluKernels.cu} (gelu_fwd_vec_*, gelu_bwd_vec_*), replayed step by step in Java float
 * math and checked against the tanh GELU in double, on the CPU. The two hardware approximations are modelled as the
 * correctly rounded result times (1 + d) for every combination of d in {-E, 0, E} (ex2.approx: E = 2^-22, two ulps;
 * rcp.approx: E = 2^-23, one ulp), the worst kept; ftz flushes their subnormal results to zero.
 */
class GeluFastMathTest {
    static final double K = Math.sqrt(2 / Math.PI), A = 0.044715, LOG2E = 1 / Math.log(2);
    // The kernel's constants, as written there.
    static final float C1 = 2.302208198144325f, C3 = 0.1029432395800235f, KF = 0.7978845608028654f, K3A = 0.10703222440890038f;
    static final double[] EX2_ERR = {-0x1p-22, 0, 0x1p-22}, RCP_ERR = {-0x1p-23, 0, 0x1p-23};

    static float ftz(double v) {
        float f = (float) v;
        return Math.abs(f) < Float.MIN_NORMAL ? Math.copySign(0f, f) : f;
    }

    static float ex2(float t, double d) { return ftz((float) Math.pow(2, t) * (1 + d)); }

    static float rcp(float v, double d) { return ftz((float) (1.0 / v) * (1 + d)); }

    /** gelu_fast of the kernel with the given approximation errors. */
    static float geluFast(float x, double dEx2, double dRcp) {
        x = Float.isNaN(x) ? x : Math.max(x, -20f);                    // max.NaN.f32
        float t = x * Math.fma(C3, x * x, C1);
        return x * rcp(1f + ex2(-t, dEx2), dRcp);
    }

    /** gelu_grad_fast of the kernel with the given approximation errors. */
    static float geluGradFast(float x, double dEx2, double dRcp) {
        float x2 = x * x;
        float e = ex2(-Math.abs(x * Math.fma(C3, x2, C1)), dEx2);
        float q = rcp(1f + e, dRcp), eq = e * q;
        return Math.fma(2f * x * eq, q * Math.fma(K3A, x2, KF), x < 0f ? eq : q);
    }

    /** The tanh GELU in double, as x sigmoid(2u) (the same function; 1 + tanh u would cancel for x < -8). */
    static double gelu(double x) {
        double u = K * (x + A * x * x * x);
        return x == Double.NEGATIVE_INFINITY ? -0.0 : x / (1 + Math.exp(-2 * u));
    }

    static double geluGrad(double x) {
        double u = K * (x + A * x * x * x), e = Math.exp(-2 * Math.abs(u)), q = 1 / (1 + e);
        double s = u >= 0 ? q : e * q, s1 = u >= 0 ? e * q : q;        // s = sigmoid(2u), s1 = 1 - s
        return s + 2 * x * s * s1 * K * (1 + 3 * A * x * x);
    }

    /** Max abs error, max relative error where |ref| >= floor, and the worst of |err| / (atol + rtol |ref|). */
    record Errors(double abs, double rel, double tol) {}

    static Errors sweep(boolean grad, double floor, double atol, double rtol) {
        double abs = 0, rel = 0, tol = 0;
        Random rnd = new Random(7);
        int n = 1 << 21;
        for (int i = 0; i <= n + 200_000; i++) {
            // A dense grid over [-20, 20], then random floats there (all exponents near 0 included).
            float x = i <= n ? (float) (-20 + 40.0 * i / n) : (float) ((rnd.nextBoolean() ? 1 : -1) * 20 * Math.pow(2, -30 * rnd.nextDouble()));
            double ref = grad ? geluGrad(x) : gelu(x);
            for (double de : EX2_ERR)
                for (double dr : RCP_ERR) {
                    double err = Math.abs((grad ? geluGradFast(x, de, dr) : geluFast(x, de, dr)) - ref);
                    abs = Math.max(abs, err);
                    if (Math.abs(ref) >= floor) rel = Math.max(rel, err / Math.abs(ref));
                    tol = Math.max(tol, err / (atol + rtol * Math.abs(ref)));
                }
        }
        return new Errors(abs, rel, tol);
    }

    @Test
    void constantsAreTheRoundedDefinitions() {
        assertEquals((float) (2 * LOG2E * K), C1);
        assertEquals((float) (2 * LOG2E * K * A), C3);
        assertEquals((float) K, KF);
        assertEquals((float) (3 * K * A), K3A);
    }

    @Test
    void forwardErrorIsFarBelowTheF32Tolerance() {
        // Everywhere: within the F32 tolerance of the CUDA tests (1e-6 + 4e-6 |ref|) with a margin of 4.
        Errors all = sweep(false, 1e-30, 1e-6, 4e-6);
        // Where |x| <= 4 (|gelu| >= 1e-4 or x near 0): a few float roundings.
        Errors bulk = sweepBulk(false);
        System.out.printf("gelu fast: max abs %.3g, max rel %.3g (|ref| >= 1e-30), max rel %.3g (|x| <= 4), tol ratio %.3g%n",
                all.abs(), all.rel(), bulk.rel(), all.tol());
        assertTrue(all.tol() < 0.25, "tolerance ratio " + all.tol());
        assertTrue(all.rel() < 3e-5, "rel " + all.rel());
        assertTrue(bulk.rel() < 2e-6, "bulk rel " + bulk.rel());
    }

    @Test
    void backwardErrorIsFarBelowTheF32Tolerance() {
        // gelu' in [-0.17, 1.13] crosses 0 near x = -0.75 (two terms cancel there): abs error, and relative error
        // where |gelu'| >= 0.1. Tolerance of the CUDA tests for F32 gelu': 2e-6 + 4e-5 |ref|.
        Errors all = sweep(true, 0.1, 2e-6, 4e-5);
        System.out.printf("gelu' fast: max abs %.3g, max rel %.3g (|ref| >= 0.1), tol ratio %.3g%n", all.abs(), all.rel(), all.tol());
        assertTrue(all.tol() < 0.25, "tolerance ratio " + all.tol());
        assertTrue(all.abs() < 1e-6, "abs " + all.abs());
        assertTrue(all.rel() < 2e-6, "rel " + all.rel());
    }

    static Errors sweepBulk(boolean grad) {
        double rel = 0;
        for (int i = 0; i <= 1 << 20; i++) {
            float x = (float) (-4 + 8.0 * i / (1 << 20));
            double ref = grad ? geluGrad(x) : gelu(x);
            if (ref == 0) continue;
            for (double de : EX2_ERR)
                for (double dr : RCP_ERR) rel = Math.max(rel, Math.abs(geluFast(x, de, dr) - ref) / Math.abs(ref));
        }
        return new Errors(0, rel, 0);
    }

    @Test
    void specialValues() {
        for (double de : EX2_ERR)
            for (double dr : RCP_ERR) {
                assertEquals(Float.POSITIVE_INFINITY, geluFast(Float.POSITIVE_INFINITY, de, dr));
                assertEquals(0f, geluFast(Float.NEGATIVE_INFINITY, de, dr), 0f);
                assertTrue(Float.isNaN(geluFast(Float.NaN, de, dr)));
                assertEquals(-0f, geluFast(-0f, de, dr));                  // sign kept, as 0.5 x (1 + tanh u)
                assertEquals(0f, geluFast(0f, de, dr));
                assertEquals(3e30f, geluFast(3e30f, de, dr), 3e30f * 0x1p-22f);   // x^3 overflows: s = 1 (+- rcp error)
                assertEquals(0f, geluFast(-3e30f, de, dr), 0f);
                assertEquals(0f, geluFast(-25f, de, dr), 0f);
                // The backward keeps the reference's inf * 0 = NaN at +-inf.
                assertEquals(1f, geluGradFast(30f, de, dr), 0x1p-22f);
                assertEquals(0f, geluGradFast(-30f, de, dr), 0f);
                assertTrue(Float.isNaN(geluGradFast(Float.NaN, de, dr)));
                assertTrue(Float.isNaN(geluGradFast(Float.POSITIVE_INFINITY, de, dr)));
                assertTrue(Float.isNaN(geluGradFast(Float.NEGATIVE_INFINITY, de, dr)));
            }
    }
}
