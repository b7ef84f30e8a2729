package dev.flare.tensor.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector API row primitives for the float NN kernels (unit-stride rows). exp is a portable polynomial (Cephes
 * expf: Cody-Waite reduction, degree-5 minimax, about 1 ulp) built only from lane ops that C2 intrinsifies on
 * every platform, rather than {@code VectorOperators.EXP}, which is fast only where the JDK ships a vector math
 * library and very slow elsewhere. Results below exp(-87.3) flush to 0; NaN propagates. Sums are accumulated
 * in float lanes over blocks and the blocks added in double. Only loaded when the incubator module is present.
 */
final class NNVector {
    private NNVector() {}

    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    private static final int BLOCK = 64 * L;   // elements per float-lane partial sum

    private static final float LOG2E = 1.44269504088896341f;
    private static final float C1 = 0.693359375f, C2 = -2.12194440e-4f;
    private static final float MAGIC = 12582912f;   // 1.5 * 2^23: adding it rounds to an integer
    private static final int MAGIC_BITS = 0x4B400000;
    private static final float HI = 88.0f, LO = -87.33f;
    private static final float P0 = 1.9875691500E-4f, P1 = 1.3981999507E-3f, P2 = 8.3334519073E-3f,
            P3 = 4.1665795894E-2f, P4 = 1.6666665459E-1f, P5 = 5.0000001201E-1f;

    static FloatVector exp(FloatVector x) {
        VectorMask<Float> under = x.compare(VectorOperators.LT, LO);
        FloatVector xc = x.min(HI);                                 // NaN stays NaN (Java min semantics)
        FloatVector t = xc.mul(LOG2E).add(MAGIC);                   // round(x * log2 e) + MAGIC
        FloatVector fn = t.sub(MAGIC);
        IntVector n = t.reinterpretAsInts().sub(MAGIC_BITS);
        FloatVector r = fn.fma(FloatVector.broadcast(S, -C1), xc).sub(fn.mul(C2));            // x - n ln2, in two parts
        FloatVector z = r.mul(r);
        FloatVector p = r.fma(P0, P1).fma(r, FloatVector.broadcast(S, P2)).fma(r, FloatVector.broadcast(S, P3))
                .fma(r, FloatVector.broadcast(S, P4)).fma(r, FloatVector.broadcast(S, P5));
        FloatVector y = p.fma(z, r).add(1f);
        FloatVector scale = n.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        return y.mul(scale).blend(0f, under);
    }

    /** exp for a scalar tail element, the same polynomial (so a row does not mix two exp implementations). */
    static float exp(float x) {
        if (x < LO) return 0f;
        if (x != x) return x;
        float xc = Math.min(x, HI);
        float t = xc * LOG2E + MAGIC;
        float fn = t - MAGIC;
        int n = Float.floatToRawIntBits(t) - MAGIC_BITS;
        float r = Math.fma(fn, -C1, xc) - fn * C2;
        float z = r * r;
        float p = Math.fma(Math.fma(Math.fma(Math.fma(Math.fma(P0, r, P1), r, P2), r, P3), r, P4), r, P5);
        float y = Math.fma(p, z, r) + 1f;
        return y * Float.intBitsToFloat((n + 127) << 23);
    }

    /** max of a[o, o+n); NaN if any element is NaN; -Inf for n == 0. */
    static float max(float[] a, int o, int n) {
        int i = 0, ub = S.loopBound(n);
        float m = Float.NEGATIVE_INFINITY;
        if (ub > 0) {
            FloatVector acc = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
            for (; i < ub; i += L) acc = acc.max(FloatVector.fromArray(S, a, o + i));
            m = acc.reduceLanes(VectorOperators.MAX);
        }
        for (; i < n; i++) m = Math.max(m, a[o + i]);
        return m;
    }

    /** sum of exp(x[xo+i] - shift); when y != null also stores each exp to y[yo+i]. */
    static double expSum(float[] x, int xo, float shift, float[] y, int yo, int n) {
        double s = 0;
        int i = 0, ub = S.loopBound(n);
        while (i < ub) {
            int end = Math.min(ub, i + BLOCK);
            FloatVector acc = FloatVector.zero(S);
            for (; i < end; i += L) {
                FloatVector e = exp(FloatVector.fromArray(S, x, xo + i).sub(shift));
                if (y != null) e.intoArray(y, yo + i);
                acc = acc.add(e);
            }
            s += sumLanes(acc);
        }
        for (; i < n; i++) {
            float e = exp(x[xo + i] - shift);
            if (y != null) y[yo + i] = e;
            s += e;
        }
        return s;
    }

    /** y[yo+i] = exp(x[xo+i] * scale - shift) (y may be x); returns their sum, float lanes per block, blocks in double. */
    static double expScaledSum(float[] x, int xo, float scale, float shift, float[] y, int yo, int n) {
        double s = 0;
        int i = 0, ub = S.loopBound(n);
        while (i < ub) {
            int end = Math.min(ub, i + BLOCK);
            FloatVector acc = FloatVector.zero(S);
            for (; i < end; i += L) {
                FloatVector e = exp(FloatVector.fromArray(S, x, xo + i).mul(scale).sub(shift));
                e.intoArray(y, yo + i);
                acc = acc.add(e);
            }
            s += sumLanes(acc);
        }
        for (; i < n; i++) {
            float e = exp(x[xo + i] * scale - shift);
            y[yo + i] = e;
            s += e;
        }
        return s;
    }

    /** y[yo+i] = g * exp(x[xo+i] - shift). */
    static void scaledExp(float[] x, int xo, float shift, float g, float[] y, int yo, int n) {
        int i = 0, ub = S.loopBound(n);
        for (; i < ub; i += L) exp(FloatVector.fromArray(S, x, xo + i).sub(shift)).mul(g).intoArray(y, yo + i);
        for (; i < n; i++) y[yo + i] = g * exp(x[xo + i] - shift);
    }

    /** y[yo+i] = x[xo+i] * s (y may be x). */
    static void scale(float[] x, int xo, float s, float[] y, int yo, int n) {
        int i = 0, ub = S.loopBound(n);
        for (; i < ub; i += L) FloatVector.fromArray(S, x, xo + i).mul(s).intoArray(y, yo + i);
        for (; i < n; i++) y[yo + i] = x[xo + i] * s;
    }

    /** y[yo+i] = (x[xo+i] - c1) - c2 (two steps: c1 + c2 would round away a small c2 next to a large c1). */
    static void subtract(float[] x, int xo, float c1, float c2, float[] y, int yo, int n) {
        int i = 0, ub = S.loopBound(n);
        for (; i < ub; i += L) FloatVector.fromArray(S, x, xo + i).sub(c1).sub(c2).intoArray(y, yo + i);
        for (; i < n; i++) y[yo + i] = (x[xo + i] - c1) - c2;
    }

    /**
     * The lanes of acc added in lane order. Not reduceLanes(ADD): its order is unspecified for floats, and the
     * compiled intrinsic and the interpreter's fallback do differ, so results changed with JIT warm-up (runs and
     * resumed runs were not bit-for-bit reproducible).
     */
    private static double sumLanes(FloatVector acc) {
        double s = 0;
        for (int k = 0; k < L; k++) s += acc.lane(k);
        return s;
    }

    /** sum of a[ao+i] (b == null) or of a[ao+i] * b[bo+i]. */
    static double sum(float[] a, int ao, float[] b, int bo, int n) {
        double s = 0;
        int i = 0, ub = S.loopBound(n);
        while (i < ub) {
            int end = Math.min(ub, i + BLOCK);
            FloatVector acc = FloatVector.zero(S);
            for (; i < end; i += L) {
                FloatVector v = FloatVector.fromArray(S, a, ao + i);
                acc = b == null ? acc.add(v) : v.fma(FloatVector.fromArray(S, b, bo + i), acc);
            }
            s += sumLanes(acc);
        }
        for (; i < n; i++) s += b == null ? a[ao + i] : a[ao + i] * b[bo + i];
        return s;
    }

    /** softmax backward: dx = y * (dy - s). */
    static void softmaxGrad(float[] y, int yo, float[] g, int go, float s, float[] dx, int o, int n) {
        int i = 0, ub = S.loopBound(n);
        for (; i < ub; i += L)
            FloatVector.fromArray(S, g, go + i).sub(s).mul(FloatVector.fromArray(S, y, yo + i)).intoArray(dx, o + i);
        for (; i < n; i++) dx[o + i] = y[yo + i] * (g[go + i] - s);
    }

    /** log-softmax backward: dx = dy - exp(y) * s. */
    static void logSoftmaxGrad(float[] y, int yo, float[] g, int go, float s, float[] dx, int o, int n) {
        int i = 0, ub = S.loopBound(n);
        for (; i < ub; i += L)
            exp(FloatVector.fromArray(S, y, yo + i)).mul(-s).add(FloatVector.fromArray(S, g, go + i)).intoArray(dx, o + i);
        for (; i < n; i++) dx[o + i] = g[go + i] - exp(y[yo + i]) * s;
    }

    private static final float GK = 0.7978845608028654f, GA = 0.044715f;

    /**
     * dx = dy * gelu'(x) for the tanh GELU. With e = exp(-2|u|), q = 1 / (1 + e): 1 - tanh^2 = 4 e q^2 and
     * 1 + tanh = 2q (u >= 0) or 2eq (u < 0), so gelu' = (u >= 0 ? q : eq) + 2 x e q^2 du, free of the
     * cancellation that 1 + tanh(u) suffers in float in the negative tail.
     */
    static void geluGrad(float[] x, int xo, float[] g, int go, float[] dx, int o, int n) {
        int i = 0, ub = S.loopBound(n);
        for (; i < ub; i += L) {
            FloatVector xv = FloatVector.fromArray(S, x, xo + i);
            FloatVector x2 = xv.mul(xv);
            FloatVector u = x2.mul(GA * GK).add(GK).mul(xv);                            // k (x + a x^3)
            FloatVector e = exp(u.abs().mul(-2f));
            FloatVector q = FloatVector.broadcast(S, 1f).div(e.add(1f));
            FloatVector eq = e.mul(q);
            FloatVector du = x2.mul(3 * GA * GK).add(GK);                              // k (1 + 3 a x^2)
            FloatVector d = q.blend(eq, u.compare(VectorOperators.LT, 0f)).add(xv.mul(2f).mul(eq).mul(q).mul(du));
            d.mul(FloatVector.fromArray(S, g, go + i)).intoArray(dx, o + i);
        }
        for (; i < n; i++) dx[o + i] = g[go + i] * geluGrad(x[xo + i]);
    }

    /** Scalar gelu' in float, the same formula. */
    static float geluGrad(float x) {
        float x2 = x * x;
        float u = (GA * GK * x2 + GK) * x;
        float e = exp(-2f * Math.abs(u));
        float q = 1f / (1f + e), eq = e * q;
        float du = 3 * GA * GK * x2 + GK;
        return (u < 0 ? eq : q) + 2f * x * eq * q * du;
    }
}
