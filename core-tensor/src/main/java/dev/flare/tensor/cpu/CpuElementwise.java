package dev.flare.tensor.cpu;

import dev.flare.tensor.HalfFloats;
import dev.flare.tensor.DType;
import dev.flare.tensor.Tensor;
import dev.flare.tensor.ops.BinaryOp;
import dev.flare.tensor.ops.UnaryOp;

/**
 * Elementwise CPU kernels: copy/cast, fill, unary, binary, binary-with-scalar and where.
 *
 * <p>Every kernel walks its operands with {@link StridedLoop}, so inputs and the output may be any strided
 * views (broadcast inputs have stride 0), and the output may be the very same view as an input (in-place):
 * each element is read before the same element is written, and no other element is touched in between.
 *
 * <p>Most work goes through one generic path: a run of elements is loaded, a block at a time, into a
 * {@code double[]} (floating-point dtypes) or {@code long[]} (I32, I64, BOOL) scratch buffer, the op is
 * applied to the buffer with the switch over ops outside the inner loop, and the result is stored converted
 * to the output dtype (see {@link Lanes} for the conversion rules: float to integer truncates toward zero,
 * saturates out of range and maps NaN to 0; anything to BOOL is {@code != 0}). F32 results computed in
 * double are rounded once to float, which for + - * / and sqrt equals computing in float; BF16/F16 results
 * are rounded to float, then to the half format (as computing in float would). Integer math is done in
 * long and wraps when stored to I32.
 *
 * <p>Fast paths: F32 add/sub/mul/div (tensor or scalar operand, including a broadcast stride-0 operand),
 * exp, gelu, tanh and sigmoid, and F32&lt;-&gt;BF16 copies use the Vector API on contiguous runs (within
 * about 1 ulp of the generic path for the transcendental ones, bit-identical otherwise) and typed loops on
 * strided ones; same-dtype copies use {@link System#arraycopy}; F32&lt;-&gt;F16 copies use typed loops.
 *
 * <p>Scalars of {@link #binaryScalar}: for F32/BF16/F16 tensors the scalar is first rounded to float (the
 * compute type), for F64 it is used as is; for I32/I64/BOOL tensors an integral scalar is used exactly as
 * a long, and a non-integral one makes the op compute in double, truncating the result toward zero (so
 * {@code intTensor.mul(0.5)} halves and truncates, and {@code intTensor.lt(2.5)} compares in double).
 */
final class CpuElementwise {
    private CpuElementwise() {}

    private static final int B = Lanes.BLOCK;
    private static final double SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

    // ---- copy and fill -------------------------------------------------------------------------------------

    static void copy(Tensor src, Tensor dst) {
        DType s = src.dtype(), d = dst.dtype();
        Object sa = Lanes.array(src), da = Lanes.array(dst);
        if (s == d) {
            StridedLoop.forEach(dst.shape(), 1, (off, st, n) -> copySame(sa, off[0], st[0], da, off[1], st[1], n), src, dst);
        } else if (s == DType.F32 && d.isHalf()) {
            boolean bf = d == DType.BF16;
            StridedLoop.forEach(dst.shape(), 2, (off, st, n) -> {
                float[] a = (float[]) sa;
                short[] o = (short[]) da;
                int ai = (int) off[0], as = (int) st[0], oi = (int) off[1], os = (int) st[1];
                if (bf && as == 1 && os == 1 && CpuVector.ENABLED) CpuVector.toBf16(a, ai, o, oi, n);
                else if (bf) for (int i = 0; i < n; i++, ai += as, oi += os) o[oi] = HalfFloats.floatToBf16(a[ai]);
                else for (int i = 0; i < n; i++, ai += as, oi += os) o[oi] = HalfFloats.floatToF16(a[ai]);
            }, src, dst);
        } else if (s.isHalf() && d == DType.F32) {
            boolean bf = s == DType.BF16;
            StridedLoop.forEach(dst.shape(), 2, (off, st, n) -> {
                short[] a = (short[]) sa;
                float[] o = (float[]) da;
                int ai = (int) off[0], as = (int) st[0], oi = (int) off[1], os = (int) st[1];
                if (bf && as == 1 && os == 1 && CpuVector.ENABLED) CpuVector.fromBf16(a, ai, o, oi, n);
                else if (bf) for (int i = 0; i < n; i++, ai += as, oi += os) o[oi] = HalfFloats.bf16ToFloat(a[ai]);
                else for (int i = 0; i < n; i++, ai += as, oi += os) o[oi] = HalfFloats.f16ToFloat(a[ai]);
            }, src, dst);
        } else if (Lanes.integral(s)) {
            // Integers convert from long: exact to I64, wrapping to I32, rounded once to F32/F64.
            StridedLoop.forEach(dst.shape(), 3, (off, st, n) -> {
                long[] buf = Lanes.scratch().l0;
                for (int i = 0; i < n; i += B) {
                    int m = Math.min(B, n - i);
                    Lanes.loadL(s, sa, off[0] + i * st[0], st[0], m, buf);
                    Lanes.storeL(buf, m, d, da, off[1] + i * st[1], st[1]);
                }
            }, src, dst);
        } else {
            StridedLoop.forEach(dst.shape(), 3, (off, st, n) -> {
                double[] buf = Lanes.scratch().d0;
                for (int i = 0; i < n; i += B) {
                    int m = Math.min(B, n - i);
                    Lanes.loadD(s, sa, off[0] + i * st[0], st[0], m, buf);
                    Lanes.storeD(buf, m, d, da, off[1] + i * st[1], st[1]);
                }
            }, src, dst);
        }
    }

    private static void copySame(Object src, long srcOff, long srcStep, Object dst, long dstOff, long dstStep, int n) {
        int si = (int) srcOff, ss = (int) srcStep, di = (int) dstOff, ds = (int) dstStep;
        if (ss == 1 && ds == 1) {
            System.arraycopy(src, si, dst, di, n);
            return;
        }
        switch (src) {
            case float[] a -> { float[] o = (float[]) dst; for (int i = 0; i < n; i++, si += ss, di += ds) o[di] = a[si]; }
            case double[] a -> { double[] o = (double[]) dst; for (int i = 0; i < n; i++, si += ss, di += ds) o[di] = a[si]; }
            case short[] a -> { short[] o = (short[]) dst; for (int i = 0; i < n; i++, si += ss, di += ds) o[di] = a[si]; }
            case int[] a -> { int[] o = (int[]) dst; for (int i = 0; i < n; i++, si += ss, di += ds) o[di] = a[si]; }
            case long[] a -> { long[] o = (long[]) dst; for (int i = 0; i < n; i++, si += ss, di += ds) o[di] = a[si]; }
            case byte[] a -> { byte[] o = (byte[]) dst; for (int i = 0; i < n; i++, si += ss, di += ds) o[di] = a[si]; }
            default -> throw new IllegalStateException("copy: unexpected host array " + src.getClass());
        }
    }

    /** Sets every element of dst to value converted to dst's dtype (by the rules of {@link Lanes}). */
    static void fill(Tensor dst, double value) {
        Object da = Lanes.array(dst);
        // Convert once through a one-element array, then replicate the stored pattern.
        Object one = dev.flare.tensor.HostArrays.allocate(dst.dtype(), 1);
        Lanes.storeD(new double[]{value}, 1, dst.dtype(), one, 0, 0);
        StridedLoop.forEach(dst.shape(), 1, (off, st, n) -> {
            int o = (int) off[0], s = (int) st[0];
            switch (da) {
                case float[] a -> { float v = ((float[]) one)[0]; if (s == 1) java.util.Arrays.fill(a, o, o + n, v); else for (int i = 0; i < n; i++, o += s) a[o] = v; }
                case double[] a -> { double v = ((double[]) one)[0]; if (s == 1) java.util.Arrays.fill(a, o, o + n, v); else for (int i = 0; i < n; i++, o += s) a[o] = v; }
                case short[] a -> { short v = ((short[]) one)[0]; if (s == 1) java.util.Arrays.fill(a, o, o + n, v); else for (int i = 0; i < n; i++, o += s) a[o] = v; }
                case int[] a -> { int v = ((int[]) one)[0]; if (s == 1) java.util.Arrays.fill(a, o, o + n, v); else for (int i = 0; i < n; i++, o += s) a[o] = v; }
                case long[] a -> { long v = ((long[]) one)[0]; if (s == 1) java.util.Arrays.fill(a, o, o + n, v); else for (int i = 0; i < n; i++, o += s) a[o] = v; }
                case byte[] a -> { byte v = ((byte[]) one)[0]; if (s == 1) java.util.Arrays.fill(a, o, o + n, v); else for (int i = 0; i < n; i++, o += s) a[o] = v; }
                default -> throw new IllegalStateException("fill: unexpected host array " + da.getClass());
            }
        }, dst);
    }

    // ---- unary ---------------------------------------------------------------------------------------------

    static void unary(UnaryOp op, Tensor x, Tensor out) {
        DType t = x.dtype(), ot = out.dtype();
        Object xa = Lanes.array(x), oa = Lanes.array(out);
        long cost = unaryCost(op);
        if (t == DType.F32 && ot == DType.F32 && CpuVector.ENABLED
                && (op == UnaryOp.EXP || op == UnaryOp.GELU || op == UnaryOp.TANH || op == UnaryOp.SIGMOID)) {
            float[] xf = (float[]) xa, of = (float[]) oa;
            StridedLoop.forEach(out.shape(), cost, (off, st, n) -> {
                if (st[0] == 1 && st[1] == 1) {
                    int xi = (int) off[0], oi = (int) off[1];
                    switch (op) {
                        case EXP -> CpuVector.exp(xf, xi, of, oi, n);
                        case GELU -> CpuVector.gelu(xf, xi, of, oi, n);
                        case TANH -> CpuVector.tanh(xf, xi, of, oi, n);
                        default -> CpuVector.sigmoid(xf, xi, of, oi, n);
                    }
                } else {
                    unaryRunD(op, t, xa, off[0], st[0], ot, oa, off[1], st[1], n);
                }
            }, x, out);
        } else if (Lanes.integral(t)) {
            StridedLoop.forEach(out.shape(), cost, (off, st, n) -> {
                long[] buf = Lanes.scratch().l0;
                for (int i = 0; i < n; i += B) {
                    int m = Math.min(B, n - i);
                    Lanes.loadL(t, xa, off[0] + i * st[0], st[0], m, buf);
                    applyUnaryL(op, buf, m);
                    Lanes.storeL(buf, m, ot, oa, off[1] + i * st[1], st[1]);
                }
            }, x, out);
        } else {
            StridedLoop.forEach(out.shape(), cost, (off, st, n) -> unaryRunD(op, t, xa, off[0], st[0], ot, oa, off[1], st[1], n), x, out);
        }
    }

    private static void unaryRunD(UnaryOp op, DType t, Object xa, long xo, long xs, DType ot, Object oa, long oo, long os, int n) {
        double[] buf = Lanes.scratch().d0;
        for (int i = 0; i < n; i += B) {
            int m = Math.min(B, n - i);
            Lanes.loadD(t, xa, xo + i * xs, xs, m, buf);
            applyUnaryD(op, buf, m);
            Lanes.storeD(buf, m, ot, oa, oo + i * os, os);
        }
    }

    private static long unaryCost(UnaryOp op) {
        return switch (op) {
            case NEG, ABS, SQUARE, RELU, SIGN, NOT, RECIPROCAL -> 2;
            case SQRT, RSQRT -> 4;
            default -> 20;
        };
    }

    /** GELU, tanh form: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))); gelu(-inf) is the limit -0, not -inf * 0. */
    static double gelu(double x) {
        if (x == Double.NEGATIVE_INFINITY) return -0.0;
        return 0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)));
    }

    static void applyUnaryD(UnaryOp op, double[] v, int n) {
        switch (op) {
            case NEG -> { for (int i = 0; i < n; i++) v[i] = -v[i]; }
            case ABS -> { for (int i = 0; i < n; i++) v[i] = Math.abs(v[i]); }
            case EXP -> { for (int i = 0; i < n; i++) v[i] = Math.exp(v[i]); }
            case LOG -> { for (int i = 0; i < n; i++) v[i] = Math.log(v[i]); }
            case SQRT -> { for (int i = 0; i < n; i++) v[i] = Math.sqrt(v[i]); }
            case RSQRT -> { for (int i = 0; i < n; i++) v[i] = 1 / Math.sqrt(v[i]); }
            case SQUARE -> { for (int i = 0; i < n; i++) v[i] = v[i] * v[i]; }
            case RECIPROCAL -> { for (int i = 0; i < n; i++) v[i] = 1 / v[i]; }
            case SIN -> { for (int i = 0; i < n; i++) v[i] = Math.sin(v[i]); }
            case COS -> { for (int i = 0; i < n; i++) v[i] = Math.cos(v[i]); }
            case TANH -> { for (int i = 0; i < n; i++) v[i] = Math.tanh(v[i]); }
            case SIGMOID -> { for (int i = 0; i < n; i++) v[i] = 1 / (1 + Math.exp(-v[i])); }
            // max(x, 0) keeps NaN, as PyTorch's relu does.
            case RELU -> { for (int i = 0; i < n; i++) v[i] = v[i] > 0 || v[i] != v[i] ? v[i] : 0; }
            case GELU -> { for (int i = 0; i < n; i++) v[i] = gelu(v[i]); }
            case SIGN -> { for (int i = 0; i < n; i++) v[i] = Math.signum(v[i]); }
            case NOT -> { for (int i = 0; i < n; i++) v[i] = v[i] == 0 ? 1 : 0; }
        }
    }

    static void applyUnaryL(UnaryOp op, long[] v, int n) {
        switch (op) {
            case NEG -> { for (int i = 0; i < n; i++) v[i] = -v[i]; }
            case ABS -> { for (int i = 0; i < n; i++) v[i] = Math.abs(v[i]); }
            case SQUARE -> { for (int i = 0; i < n; i++) v[i] = v[i] * v[i]; }
            case RELU -> { for (int i = 0; i < n; i++) v[i] = Math.max(v[i], 0); }
            case SIGN -> { for (int i = 0; i < n; i++) v[i] = Long.signum(v[i]); }
            case NOT -> { for (int i = 0; i < n; i++) v[i] = v[i] == 0 ? 1 : 0; }
            default -> throw new IllegalArgumentException(op + ": not defined for integer tensors");
        }
    }

    // ---- binary --------------------------------------------------------------------------------------------

    private static boolean f32Fast(BinaryOp op) {
        return op == BinaryOp.ADD || op == BinaryOp.SUB || op == BinaryOp.MUL || op == BinaryOp.DIV;
    }

    static void binary(BinaryOp op, Tensor a, Tensor b, Tensor out) {
        DType t = a.dtype(), ot = out.dtype();
        Object aa = Lanes.array(a), ba = Lanes.array(b), oa = Lanes.array(out);
        long cost = op == BinaryOp.POW ? 20 : 3;
        if (t == DType.F32 && ot == DType.F32 && f32Fast(op)) {
            float[] af = (float[]) aa, bf = (float[]) ba, of = (float[]) oa;
            StridedLoop.forEach(out.shape(), 2, (off, st, n) ->
                    f32Binary(op, af, (int) off[0], (int) st[0], bf, (int) off[1], (int) st[1], of, (int) off[2], (int) st[2], n),
                    a, b, out);
        } else if (Lanes.integral(t)) {
            StridedLoop.forEach(out.shape(), cost, (off, st, n) -> {
                Lanes.Scratch s = Lanes.scratch();
                for (int i = 0; i < n; i += B) {
                    int m = Math.min(B, n - i);
                    Lanes.loadL(t, aa, off[0] + i * st[0], st[0], m, s.l0);
                    Lanes.loadL(t, ba, off[1] + i * st[1], st[1], m, s.l1);
                    applyBinaryL(op, s.l0, s.l1, s.l0, m);
                    Lanes.storeL(s.l0, m, ot, oa, off[2] + i * st[2], st[2]);
                }
            }, a, b, out);
        } else {
            StridedLoop.forEach(out.shape(), cost, (off, st, n) -> {
                Lanes.Scratch s = Lanes.scratch();
                for (int i = 0; i < n; i += B) {
                    int m = Math.min(B, n - i);
                    Lanes.loadD(t, aa, off[0] + i * st[0], st[0], m, s.d0);
                    Lanes.loadD(t, ba, off[1] + i * st[1], st[1], m, s.d1);
                    storeBinaryD(op, s, m, ot, oa, off[2] + i * st[2], st[2]);
                }
            }, a, b, out);
        }
    }

    /** Applies op to s.d0 and s.d1 and stores the result (BOOL for comparisons) to the output run. */
    private static void storeBinaryD(BinaryOp op, Lanes.Scratch s, int m, DType ot, Object oa, long oo, long os) {
        if (op.isComparison()) {
            compareD(op, s.d0, s.d1, s.l2, m);
            Lanes.storeL(s.l2, m, ot, oa, oo, os);
        } else {
            applyBinaryD(op, s.d0, s.d1, s.d0, m);
            Lanes.storeD(s.d0, m, ot, oa, oo, os);
        }
    }

    private static void f32Binary(BinaryOp op, float[] a, int ai, int as, float[] b, int bi, int bs, float[] o, int oi, int os, int n) {
        if (CpuVector.ENABLED && os == 1) {
            if (as == 1 && bs == 1) { CpuVector.binary(op, a, ai, b, bi, o, oi, n); return; }
            if (as == 1 && bs == 0) { CpuVector.binaryScalar(op, a, ai, b[bi], false, o, oi, n); return; }
            if (as == 0 && bs == 1) { CpuVector.binaryScalar(op, b, bi, a[ai], true, o, oi, n); return; }
        }
        switch (op) {
            case ADD -> { for (int i = 0; i < n; i++, ai += as, bi += bs, oi += os) o[oi] = a[ai] + b[bi]; }
            case SUB -> { for (int i = 0; i < n; i++, ai += as, bi += bs, oi += os) o[oi] = a[ai] - b[bi]; }
            case MUL -> { for (int i = 0; i < n; i++, ai += as, bi += bs, oi += os) o[oi] = a[ai] * b[bi]; }
            case DIV -> { for (int i = 0; i < n; i++, ai += as, bi += bs, oi += os) o[oi] = a[ai] / b[bi]; }
            default -> throw new IllegalArgumentException("f32Binary: unsupported op " + op);
        }
    }

    /** r[i] = x[i] op y[i] for arithmetic ops (r may alias x or y). MAXIMUM/MINIMUM propagate NaN. */
    static void applyBinaryD(BinaryOp op, double[] x, double[] y, double[] r, int n) {
        switch (op) {
            case ADD -> { for (int i = 0; i < n; i++) r[i] = x[i] + y[i]; }
            case SUB -> { for (int i = 0; i < n; i++) r[i] = x[i] - y[i]; }
            case MUL -> { for (int i = 0; i < n; i++) r[i] = x[i] * y[i]; }
            case DIV -> { for (int i = 0; i < n; i++) r[i] = x[i] / y[i]; }
            case POW -> { for (int i = 0; i < n; i++) r[i] = Math.pow(x[i], y[i]); }
            case MAXIMUM -> { for (int i = 0; i < n; i++) r[i] = Math.max(x[i], y[i]); }
            case MINIMUM -> { for (int i = 0; i < n; i++) r[i] = Math.min(x[i], y[i]); }
            case AND -> { for (int i = 0; i < n; i++) r[i] = x[i] != 0 && y[i] != 0 ? 1 : 0; }
            case OR -> { for (int i = 0; i < n; i++) r[i] = x[i] != 0 || y[i] != 0 ? 1 : 0; }
            default -> throw new IllegalArgumentException("applyBinaryD: " + op + " is a comparison");
        }
    }

    /** r[i] = (x[i] cmp y[i]) ? 1 : 0; comparisons with NaN are false except NE. */
    static void compareD(BinaryOp op, double[] x, double[] y, long[] r, int n) {
        switch (op) {
            case EQ -> { for (int i = 0; i < n; i++) r[i] = x[i] == y[i] ? 1 : 0; }
            case NE -> { for (int i = 0; i < n; i++) r[i] = x[i] != y[i] ? 1 : 0; }
            case LT -> { for (int i = 0; i < n; i++) r[i] = x[i] < y[i] ? 1 : 0; }
            case LE -> { for (int i = 0; i < n; i++) r[i] = x[i] <= y[i] ? 1 : 0; }
            case GT -> { for (int i = 0; i < n; i++) r[i] = x[i] > y[i] ? 1 : 0; }
            case GE -> { for (int i = 0; i < n; i++) r[i] = x[i] >= y[i] ? 1 : 0; }
            default -> throw new IllegalArgumentException("compareD: " + op + " is not a comparison");
        }
    }

    /** r[i] = x[i] op y[i] in long (r may alias x or y); comparisons and AND/OR give 0/1. */
    static void applyBinaryL(BinaryOp op, long[] x, long[] y, long[] r, int n) {
        switch (op) {
            case ADD -> { for (int i = 0; i < n; i++) r[i] = x[i] + y[i]; }
            case SUB -> { for (int i = 0; i < n; i++) r[i] = x[i] - y[i]; }
            case MUL -> { for (int i = 0; i < n; i++) r[i] = x[i] * y[i]; }
            case MAXIMUM -> { for (int i = 0; i < n; i++) r[i] = Math.max(x[i], y[i]); }
            case MINIMUM -> { for (int i = 0; i < n; i++) r[i] = Math.min(x[i], y[i]); }
            case EQ -> { for (int i = 0; i < n; i++) r[i] = x[i] == y[i] ? 1 : 0; }
            case NE -> { for (int i = 0; i < n; i++) r[i] = x[i] != y[i] ? 1 : 0; }
            case LT -> { for (int i = 0; i < n; i++) r[i] = x[i] < y[i] ? 1 : 0; }
            case LE -> { for (int i = 0; i < n; i++) r[i] = x[i] <= y[i] ? 1 : 0; }
            case GT -> { for (int i = 0; i < n; i++) r[i] = x[i] > y[i] ? 1 : 0; }
            case GE -> { for (int i = 0; i < n; i++) r[i] = x[i] >= y[i] ? 1 : 0; }
            case AND -> { for (int i = 0; i < n; i++) r[i] = x[i] != 0 && y[i] != 0 ? 1 : 0; }
            case OR -> { for (int i = 0; i < n; i++) r[i] = x[i] != 0 || y[i] != 0 ? 1 : 0; }
            case DIV, POW -> throw new IllegalArgumentException(op + ": not defined for integer tensors (cast first)");
        }
    }

    // ---- binary with a scalar ------------------------------------------------------------------------------

    static void binaryScalar(BinaryOp op, Tensor a, double scalar, boolean scalarFirst, Tensor out) {
        DType t = a.dtype(), ot = out.dtype();
        Object aa = Lanes.array(a), oa = Lanes.array(out);
        long cost = op == BinaryOp.POW ? 20 : 3;
        if (t == DType.F32 && ot == DType.F32 && f32Fast(op)) {
            float c = (float) scalar;
            float[] af = (float[]) aa, of = (float[]) oa;
            float[] cf = {c};
            StridedLoop.forEach(out.shape(), 2, (off, st, n) -> {
                if (scalarFirst) f32Binary(op, cf, 0, 0, af, (int) off[0], (int) st[0], of, (int) off[1], (int) st[1], n);
                else f32Binary(op, af, (int) off[0], (int) st[0], cf, 0, 0, of, (int) off[1], (int) st[1], n);
            }, a, out);
        } else if (Lanes.integral(t) && scalar == Math.rint(scalar) && Math.abs(scalar) < 0x1p63) {
            long c = (long) scalar;
            StridedLoop.forEach(out.shape(), cost, (off, st, n) -> {
                Lanes.Scratch s = Lanes.scratch();
                java.util.Arrays.fill(s.l1, c);
                for (int i = 0; i < n; i += B) {
                    int m = Math.min(B, n - i);
                    Lanes.loadL(t, aa, off[0] + i * st[0], st[0], m, s.l0);
                    if (scalarFirst) applyBinaryL(op, s.l1, s.l0, s.l0, m);
                    else applyBinaryL(op, s.l0, s.l1, s.l0, m);
                    Lanes.storeL(s.l0, m, ot, oa, off[1] + i * st[1], st[1]);
                }
            }, a, out);
        } else {
            // Floating-point tensors compute in their compute type's precision: F32/halves see a float scalar.
            double c = t == DType.F64 || Lanes.integral(t) ? scalar : (double) (float) scalar;
            StridedLoop.forEach(out.shape(), cost, (off, st, n) -> {
                Lanes.Scratch s = Lanes.scratch();
                for (int i = 0; i < n; i += B) {
                    int m = Math.min(B, n - i);
                    Lanes.loadD(t, aa, off[0] + i * st[0], st[0], m, scalarFirst ? s.d1 : s.d0);
                    java.util.Arrays.fill(scalarFirst ? s.d0 : s.d1, 0, m, c);
                    storeBinaryD(op, s, m, ot, oa, off[1] + i * st[1], st[1]);
                }
            }, a, out);
        }
    }

    // ---- where ---------------------------------------------------------------------------------------------

    static void where(Tensor cond, Tensor a, Tensor b, Tensor out) {
        DType t = a.dtype(), ot = out.dtype(), ct = cond.dtype();
        Object ca = Lanes.array(cond), aa = Lanes.array(a), ba = Lanes.array(b), oa = Lanes.array(out);
        if (Lanes.integral(t)) {
            StridedLoop.forEach(out.shape(), 3, (off, st, n) -> {
                Lanes.Scratch s = Lanes.scratch();
                for (int i = 0; i < n; i += B) {
                    int m = Math.min(B, n - i);
                    Lanes.loadL(ct, ca, off[0] + i * st[0], st[0], m, s.l2);
                    Lanes.loadL(t, aa, off[1] + i * st[1], st[1], m, s.l0);
                    Lanes.loadL(t, ba, off[2] + i * st[2], st[2], m, s.l1);
                    for (int j = 0; j < m; j++) if (s.l2[j] == 0) s.l0[j] = s.l1[j];
                    Lanes.storeL(s.l0, m, ot, oa, off[3] + i * st[3], st[3]);
                }
            }, cond, a, b, out);
        } else {
            StridedLoop.forEach(out.shape(), 3, (off, st, n) -> {
                Lanes.Scratch s = Lanes.scratch();
                for (int i = 0; i < n; i += B) {
                    int m = Math.min(B, n - i);
                    Lanes.loadL(ct, ca, off[0] + i * st[0], st[0], m, s.l2);
                    Lanes.loadD(t, aa, off[1] + i * st[1], st[1], m, s.d0);
                    Lanes.loadD(t, ba, off[2] + i * st[2], st[2], m, s.d1);
                    for (int j = 0; j < m; j++) if (s.l2[j] == 0) s.d0[j] = s.d1[j];
                    Lanes.storeD(s.d0, m, ot, oa, off[3] + i * st[3], st[3]);
                }
            }, cond, a, b, out);
        }
    }
}
