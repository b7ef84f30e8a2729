package dev.flare.tensor.cpu;

import dev.flare.tensor.HalfFloats;
import dev.flare.tensor.ops.BinaryOp;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector API kernels for contiguous F32 runs (the hot elementwise ops of training). Callers check
 * {@link #ENABLED} first: this class is only loaded when the {@code jdk.incubator.vector} module is present,
 * so the backend still works (on its scalar paths) without {@code --add-modules jdk.incubator.vector}.
 * Only ADD, SUB, MUL and DIV are accepted by the binary kernels.
 */
final class CpuVector {
    private CpuVector() {}

    /** True when the Vector API module is resolved in the boot layer. Set -Dflare.cpu.vector=false to disable. */
    static final boolean ENABLED = Boolean.parseBoolean(System.getProperty("flare.cpu.vector", "true"))
            && ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();

    private static final class K {
        static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
        static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED;
        /** Shorts with as many lanes as I (half its bit size). */
        static final VectorSpecies<Short> H = ShortVector.SPECIES_PREFERRED.withShape(VectorShape.forBitSize(I.vectorBitSize() / 2));
        static final float SQRT_2_OVER_PI = (float) Math.sqrt(2 / Math.PI);
    }

    /** o[i] = a[i] op b[i] for i < n (arrays may be the same, with equal offsets, for in-place updates). */
    static void binary(BinaryOp op, float[] a, int ao, float[] b, int bo, float[] o, int oo, int n) {
        VectorSpecies<Float> s = K.S;
        int i = 0, ub = s.loopBound(n);
        switch (op) {
            case ADD -> {
                for (; i < ub; i += s.length())
                    FloatVector.fromArray(s, a, ao + i).add(FloatVector.fromArray(s, b, bo + i)).intoArray(o, oo + i);
                for (; i < n; i++) o[oo + i] = a[ao + i] + b[bo + i];
            }
            case SUB -> {
                for (; i < ub; i += s.length())
                    FloatVector.fromArray(s, a, ao + i).sub(FloatVector.fromArray(s, b, bo + i)).intoArray(o, oo + i);
                for (; i < n; i++) o[oo + i] = a[ao + i] - b[bo + i];
            }
            case MUL -> {
                for (; i < ub; i += s.length())
                    FloatVector.fromArray(s, a, ao + i).mul(FloatVector.fromArray(s, b, bo + i)).intoArray(o, oo + i);
                for (; i < n; i++) o[oo + i] = a[ao + i] * b[bo + i];
            }
            case DIV -> {
                for (; i < ub; i += s.length())
                    FloatVector.fromArray(s, a, ao + i).div(FloatVector.fromArray(s, b, bo + i)).intoArray(o, oo + i);
                for (; i < n; i++) o[oo + i] = a[ao + i] / b[bo + i];
            }
            default -> throw new IllegalArgumentException("CpuVector.binary: unsupported op " + op);
        }
    }

    /** o[i] = a[i] op c, or c op a[i] when scalarFirst. */
    static void binaryScalar(BinaryOp op, float[] a, int ao, float c, boolean scalarFirst, float[] o, int oo, int n) {
        VectorSpecies<Float> s = K.S;
        int i = 0, ub = s.loopBound(n);
        switch (op) {
            case ADD -> {
                for (; i < ub; i += s.length()) FloatVector.fromArray(s, a, ao + i).add(c).intoArray(o, oo + i);
                for (; i < n; i++) o[oo + i] = a[ao + i] + c;
            }
            case MUL -> {
                for (; i < ub; i += s.length()) FloatVector.fromArray(s, a, ao + i).mul(c).intoArray(o, oo + i);
                for (; i < n; i++) o[oo + i] = a[ao + i] * c;
            }
            case SUB -> {
                if (scalarFirst) {
                    FloatVector cv = FloatVector.broadcast(s, c);
                    for (; i < ub; i += s.length()) cv.sub(FloatVector.fromArray(s, a, ao + i)).intoArray(o, oo + i);
                    for (; i < n; i++) o[oo + i] = c - a[ao + i];
                } else {
                    for (; i < ub; i += s.length()) FloatVector.fromArray(s, a, ao + i).sub(c).intoArray(o, oo + i);
                    for (; i < n; i++) o[oo + i] = a[ao + i] - c;
                }
            }
            case DIV -> {
                if (scalarFirst) {
                    FloatVector cv = FloatVector.broadcast(s, c);
                    for (; i < ub; i += s.length()) cv.div(FloatVector.fromArray(s, a, ao + i)).intoArray(o, oo + i);
                    for (; i < n; i++) o[oo + i] = c / a[ao + i];
                } else {
                    for (; i < ub; i += s.length()) FloatVector.fromArray(s, a, ao + i).div(c).intoArray(o, oo + i);
                    for (; i < n; i++) o[oo + i] = a[ao + i] / c;
                }
            }
            default -> throw new IllegalArgumentException("CpuVector.binaryScalar: unsupported op " + op);
        }
    }

    // exp here is NNVector's polynomial, not VectorOperators.EXP: the JIT-compiled EXP (a vector math library) and
    // its interpreted fallback differ in the last bits, so results would depend on whether the loop had been compiled
    // yet, and two identical runs in one JVM (a resumed run, a world of one) would not match bit for bit.

    /**
     * exp(x) from NNVector's polynomial over the whole float range: above 88 (where the polynomial saturates) as
     * exp(x / 2)^2, which overflows to +inf past ln(Float.MAX_VALUE) as it should; 0 below about -87.3.
     */
    private static FloatVector exp(FloatVector x) {
        FloatVector half = NNVector.exp(x.mul(0.5f));
        return NNVector.exp(x).blend(half.mul(half), x.compare(VectorOperators.GT, 88f));
    }

    private static float exp(float x) {
        if (!(x > 88f)) return NNVector.exp(x);
        float half = NNVector.exp(x * 0.5f);
        return half * half;
    }

    /** o[i] = exp(x[i]) (within about 1 ulp). */
    static void exp(float[] x, int xo, float[] o, int oo, int n) {
        VectorSpecies<Float> s = K.S;
        int i = 0, ub = s.loopBound(n);
        for (; i < ub; i += s.length())
            exp(FloatVector.fromArray(s, x, xo + i)).intoArray(o, oo + i);
        for (; i < n; i++) o[oo + i] = exp(x[xo + i]);
    }

    /**
     * o[i] = gelu(x[i]), tanh form, evaluated as x / (1 + exp(-2u)) with u = sqrt(2/pi) (x + 0.044715 x^3),
     * which equals 0.5 x (1 + tanh(u)) and avoids the cancellation of 1 + tanh(u) for negative x. gelu(-inf) is -0
     * (the limit; the formula gives -inf / inf), as on CUDA.
     */
    static void gelu(float[] x, int xo, float[] o, int oo, int n) {
        VectorSpecies<Float> s = K.S;
        float c1 = -2f * K.SQRT_2_OVER_PI, c3 = -2f * K.SQRT_2_OVER_PI * 0.044715f;
        int i = 0, ub = s.loopBound(n);
        for (; i < ub; i += s.length()) {
            FloatVector v = FloatVector.fromArray(s, x, xo + i);
            FloatVector minus2u = v.mul(v).mul(c3).add(c1).mul(v);
            v.div(NNVector.exp(minus2u).add(1f))   // saturating at 88 is exact enough here: the quotient is ~0
                    .blend(-0f, v.compare(VectorOperators.EQ, Float.NEGATIVE_INFINITY)).intoArray(o, oo + i);
        }
        for (; i < n; i++) {
            float v = x[xo + i], minus2u = (v * v * c3 + c1) * v;
            o[oo + i] = v == Float.NEGATIVE_INFINITY ? -0f : v / (NNVector.exp(minus2u) + 1f);
        }
    }

    /** o[i] = tanh(x[i]), with StrictMath (the same bits compiled or not; not on a GPT's hot path). */
    static void tanh(float[] x, int xo, float[] o, int oo, int n) {
        for (int i = 0; i < n; i++) o[oo + i] = (float) StrictMath.tanh(x[xo + i]);
    }

    /** o[i] = 1 / (1 + exp(-x[i])). */
    static void sigmoid(float[] x, int xo, float[] o, int oo, int n) {
        VectorSpecies<Float> s = K.S;
        int i = 0, ub = s.loopBound(n);
        FloatVector one = FloatVector.broadcast(s, 1f);
        for (; i < ub; i += s.length())
            one.div(NNVector.exp(FloatVector.fromArray(s, x, xo + i).neg()).add(1f)).intoArray(o, oo + i);
        for (; i < n; i++) o[oo + i] = 1f / (1f + NNVector.exp(-x[xo + i]));
    }

    /** o[i] = bf16(x[i]), rounding to nearest even; NaN becomes a quiet NaN (as {@link Half#floatToBf16}). */
    static void toBf16(float[] x, int xo, short[] o, int oo, int n) {
        VectorSpecies<Float> s = K.S;
        int i = 0, ub = s.length() == K.I.length() && K.H.length() == s.length() ? s.loopBound(n) : 0;
        for (; i < ub; i += s.length()) {
            IntVector bits = FloatVector.fromArray(s, x, xo + i).reinterpretAsInts();
            IntVector rounded = bits.add(bits.lanewise(VectorOperators.LSHR, 16).and(1).add(0x7FFF));
            VectorMask<Integer> nan = bits.and(0x7FFF_FFFF).compare(VectorOperators.GT, 0x7F80_0000);
            IntVector top = rounded.blend(bits.or(0x0040_0000), nan).lanewise(VectorOperators.LSHR, 16);
            top.convertShape(VectorOperators.I2S, K.H, 0).reinterpretAsShorts().intoArray(o, oo + i);
        }
        for (; i < n; i++) o[oo + i] = HalfFloats.floatToBf16(x[xo + i]);
    }

    /** o[i] = the float value of bf16 bits x[i] (exact). */
    static void fromBf16(short[] x, int xo, float[] o, int oo, int n) {
        VectorSpecies<Float> s = K.S;
        int i = 0, ub = s.length() == K.I.length() && K.H.length() == s.length() ? s.loopBound(n) : 0;
        for (; i < ub; i += s.length()) {
            IntVector wide = (IntVector) ShortVector.fromArray(K.H, x, xo + i).convertShape(VectorOperators.S2I, K.I, 0);
            wide.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().intoArray(o, oo + i);
        }
        for (; i < n; i++) o[oo + i] = HalfFloats.bf16ToFloat(x[xo + i]);
    }
}
