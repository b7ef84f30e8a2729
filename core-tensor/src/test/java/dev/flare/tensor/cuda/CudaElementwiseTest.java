package dev.flare.tensor.cuda;

import dev.flare.tensor.DType;
import dev.flare.tensor.Shapes;
import dev.flare.tensor.Tensor;
import dev.flare.tensor.ops.BinaryOp;
import dev.flare.tensor.ops.UnaryOp;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static dev.flare.tensor.cuda.CudaTestSupport.*;
import static org.junit.jupiter.api.Assertions.*;

/** CUDA copy/cast, fill, unary, binary, binaryScalar and where against double references on the host. */
@Tag("cuda")
class CudaElementwiseTest {
    static final int[][] SHAPES = {{1}, {7}, {1023}, {4097}, {37, 29}, {3, 5, 7}};

    // ---- copy / cast ------------------------------------------------------------------------------------------------

    static double[] sample(Random rnd, DType t, int n) {
        return switch (t) {
            case BOOL -> random(rnd, t, n, 0, 1);
            case I32, I64 -> random(rnd, t, n, -1000, 1000);
            default -> random(rnd, t, n, -300, 300);
        };
    }

    @Test
    void castsBetweenEveryPairOfDtypes() {
        CudaBackend b = gpu();
        Random rnd = new Random(1);
        for (DType s : ALL)
            for (DType d : ALL)
                for (int[] shape : new int[][]{{1}, {1023}, {13, 7}})
                    for (Layout in : new Layout[]{Layout.CONTIGUOUS, Layout.PERMUTED})
                        for (Layout out : new Layout[]{Layout.CONTIGUOUS, Layout.PADDED}) {
                            int n = (int) Shapes.numel(shape);
                            double[] v = sample(rnd, s, n);
                            if (s.isFloatingPoint()) { v[0] = 2.75; if (n > 3) { v[1] = -2.75; v[2] = 0; v[3] = 0.4; } }
                            v = rounded(s, v);
                            Tensor x = tensor(b, s, v, shape, in);
                            Tensor y = tensor(b, d, new double[n], shape, out);
                            b.copy(x, y);
                            double[] expect = rounded(d, v);
                            assertSame(s + "->" + d + " " + in + "->" + out + " n=" + n, expect, values(y));
                            x.release();
                            y.release();
                        }
    }

    @Test
    void specialValueConversions() {
        CudaBackend b = gpu();
        double[] v = {Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, 3e10, -3e10, -0.0, 1e-45, 65520, 3.4e38};
        Tensor x = tensor(b, DType.F32, rounded(DType.F32, v), v.length);
        for (DType d : ALL) {
            Tensor y = output(b, d, v.length);
            b.copy(x, y);
            assertSame("F32 specials -> " + d, rounded(d, rounded(DType.F32, v)), values(y));
        }
        // I64 beyond 2^24 to F32 rounds to nearest; to I32 keeps the low bits.
        long[] big = {(1L << 40) + 3, -(1L << 33) - 1, 16_777_217};
        Tensor xi = b.empty(DType.I64, 3);
        xi.storage().copyFromHost(big, 0, 0, 3);
        Tensor yf = output(b, DType.F32, 3), yi = output(b, DType.I32, 3);
        b.copy(xi, yf);
        b.copy(xi, yi);
        assertSame("I64 -> F32", new double[]{(float) big[0], (float) big[1], (float) big[2]}, values(yf));
        assertSame("I64 -> I32", new double[]{(int) big[0], (int) big[1], (int) big[2]}, values(yi));
    }

    @Test
    void sameDtypeCopyOfViewsLeavesTheRestAlone() {
        CudaBackend b = gpu();
        Random rnd = new Random(2);
        for (DType t : ALL) {
            double[] v = sample(rnd, t, 37 * 29);
            Tensor x = tensor(b, t, v, new int[]{37, 29}, Layout.PERMUTED);
            Tensor y = tensor(b, t, new double[37 * 29], new int[]{37, 29}, Layout.PADDED);
            double[] before = storageValues(y);
            b.copy(x, y);
            assertSame("copy " + t, v, values(y));
            double[] after = storageValues(y);
            // The padding (3 per row) and the first element keep their sentinels.
            assertEquals(before[0], after[0]);
            assertEquals(before[1 + 29], after[1 + 29]);
        }
    }

    // ---- fill ---------------------------------------------------------------------------------------------------

    @Test
    void fillEveryDtypeContiguousAndStrided() {
        CudaBackend b = gpu();
        double[] values = {2.7, -3.5, 0.1, Double.NaN, 1e20, -0.0};
        for (DType t : ALL)
            for (double value : values)
                for (Layout l : new Layout[]{Layout.CONTIGUOUS, Layout.OFFSET, Layout.PADDED, Layout.PERMUTED})
                    for (int[] shape : new int[][]{{1}, {1023}, {5, 33}, {0, 4}}) {
                        int n = (int) Shapes.numel(shape);
                        Tensor x = tensor(b, t, new double[n], shape, l);
                        b.fill(x, value);
                        double[] expect = new double[n];
                        java.util.Arrays.fill(expect, round(t, value));
                        assertSame("fill " + t + " " + value + " " + l, expect, values(x));
                        x.release();
                    }
    }

    // ---- unary --------------------------------------------------------------------------------------------------

    static double unaryRef(UnaryOp op, double x) {
        return switch (op) {
            case NEG -> -x;
            case ABS -> Math.abs(x);
            case EXP -> Math.exp(x);
            case LOG -> Math.log(x);
            case SQRT -> Math.sqrt(x);
            case RSQRT -> 1 / Math.sqrt(x);
            case SQUARE -> x * x;
            case RECIPROCAL -> 1 / x;
            case SIN -> Math.sin(x);
            case COS -> Math.cos(x);
            case TANH -> Math.tanh(x);
            case SIGMOID -> 1 / (1 + Math.exp(-x));
            case RELU -> x > 0 || Double.isNaN(x) ? x : 0;
            case GELU -> x == Double.NEGATIVE_INFINITY ? -0.0   // the limit, not -inf * 0
                    : 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
            case SIGN -> Math.signum(x);
            case NOT -> x == 0 ? 1 : 0;
        };
    }

    static double[] domain(UnaryOp op) {
        return switch (op) {
            case LOG, SQRT, RSQRT -> new double[]{0.01, 10};
            case RECIPROCAL -> new double[]{0.1, 5};
            case EXP -> new double[]{-10, 10};
            case SIN, COS -> new double[]{-20, 20};
            default -> new double[]{-5, 5};
        };
    }

    @Test
    void unaryFloatOpsAllLayouts() {
        CudaBackend b = gpu();
        Random rnd = new Random(3);
        for (DType t : FLOATS)
            for (UnaryOp op : UnaryOp.values()) {
                if (op == UnaryOp.NOT) continue;
                for (int[] shape : SHAPES)
                    for (Layout l : Layout.values()) {
                        int n = (int) Shapes.numel(shape);
                        double[] dom = domain(op);
                        double[] v = random(rnd, t, n, dom[0], dom[1]);
                        if (op == UnaryOp.RECIPROCAL) for (int i = 0; i < n; i += 2) v[i] = -v[i];
                        Tensor x = tensor(b, t, v, shape, l);
                        Tensor y = output(b, t, shape);
                        b.unary(op, x, y);
                        double[] expect = new double[n];
                        for (int i = 0; i < n; i++) expect[i] = round(t, unaryRef(op, v[i]));
                        assertClose(op + " " + t + " " + l + " " + java.util.Arrays.toString(shape), t, expect, values(y));
                        assertSame("input untouched", v, values(x));
                        x.release();
                        y.release();
                    }
            }
    }

    @Test
    void unaryInPlaceAndSpecials() {
        CudaBackend b = gpu();
        for (DType t : FLOATS) {
            double[] v = {Double.NaN, -0.0, 0.0, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, -1.5, 2.5, 1e-3};
            for (UnaryOp op : new UnaryOp[]{UnaryOp.RELU, UnaryOp.SIGN, UnaryOp.ABS, UnaryOp.NEG, UnaryOp.GELU, UnaryOp.SIGMOID, UnaryOp.TANH}) {
                Tensor x = tensor(b, t, rounded(t, v), v.length);
                b.unary(op, x, x);   // in place
                double[] expect = new double[v.length];
                for (int i = 0; i < v.length; i++) expect[i] = round(t, unaryRef(op, round(t, v[i])));
                assertClose("in-place " + op + " " + t, t, expect, values(x));
            }
        }
        // In-place on a large contiguous tensor (vectorized path) and on a tail that is not a whole vector.
        Random rnd = new Random(4);
        for (int n : new int[]{4097, 1 << 20}) {
            double[] v = random(rnd, DType.BF16, n, -3, 3);
            Tensor x = tensor(b, DType.BF16, v, n);
            b.unary(UnaryOp.GELU, x, x);
            double[] expect = new double[n];
            for (int i = 0; i < n; i++) expect[i] = round(DType.BF16, unaryRef(UnaryOp.GELU, v[i]));
            assertClose("in-place GELU BF16 n=" + n, DType.BF16, expect, values(x));
        }
    }

    @Test
    void unaryIntegerAndBool() {
        CudaBackend b = gpu();
        Random rnd = new Random(5);
        for (DType t : new DType[]{DType.I32, DType.I64})
            for (UnaryOp op : new UnaryOp[]{UnaryOp.NEG, UnaryOp.ABS, UnaryOp.SQUARE, UnaryOp.RELU, UnaryOp.SIGN})
                for (Layout l : Layout.values()) {
                    double[] v = random(rnd, t, 37 * 29, -1000, 1000);
                    Tensor x = tensor(b, t, v, new int[]{37, 29}, l);
                    Tensor y = output(b, t, 37, 29);
                    b.unary(op, x, y);
                    double[] expect = new double[v.length];
                    for (int i = 0; i < v.length; i++) expect[i] = round(t, unaryRef(op, v[i]));
                    assertSame(op + " " + t + " " + l, expect, values(y));
                }
        double[] v = random(rnd, DType.BOOL, 1023, 0, 1);
        Tensor x = tensor(b, DType.BOOL, v, 1023);
        Tensor y = output(b, DType.BOOL, 1023);
        b.unary(UnaryOp.NOT, x, y);
        double[] expect = new double[v.length];
        for (int i = 0; i < v.length; i++) expect[i] = v[i] == 0 ? 1 : 0;
        assertSame("NOT", expect, values(y));
        // INT_MIN wraps like Java: -MIN == MIN, |MIN| == MIN.
        Tensor m = tensor(b, DType.I32, new double[]{Integer.MIN_VALUE, Integer.MAX_VALUE}, 2);
        Tensor mo = output(b, DType.I32, 2);
        b.unary(UnaryOp.NEG, m, mo);
        assertSame("NEG I32 edge", new double[]{Integer.MIN_VALUE, -Integer.MAX_VALUE}, values(mo));
    }

    // ---- binary -------------------------------------------------------------------------------------------------

    static double binaryRef(BinaryOp op, double a, double b) {
        return switch (op) {
            case ADD -> a + b;
            case SUB -> a - b;
            case MUL -> a * b;
            case DIV -> a / b;
            case POW -> Math.pow(a, b);
            case MAXIMUM -> Math.max(a, b);
            case MINIMUM -> Math.min(a, b);
            case EQ -> a == b ? 1 : 0;
            case NE -> a != b ? 1 : 0;
            case LT -> a < b ? 1 : 0;
            case LE -> a <= b ? 1 : 0;
            case GT -> a > b ? 1 : 0;
            case GE -> a >= b ? 1 : 0;
            case AND -> a != 0 && b != 0 ? 1 : 0;
            case OR -> a != 0 || b != 0 ? 1 : 0;
        };
    }

    @Test
    void binaryFloatWithBroadcastAndLayouts() {
        CudaBackend b = gpu();
        Random rnd = new Random(6);
        for (DType t : FLOATS)
            for (BinaryOp op : BinaryOp.values()) {
                if (op.isLogical()) continue;
                DType ot = op.isComparison() ? DType.BOOL : t;
                boolean pow = op == BinaryOp.POW;
                // Same-shape operands (vectorized when contiguous and aligned).
                for (int[] shape : SHAPES)
                    for (Layout l : new Layout[]{Layout.CONTIGUOUS, Layout.OFFSET, Layout.PERMUTED}) {
                        int n = (int) Shapes.numel(shape);
                        double[] va = random(rnd, t, n, pow ? 0.1 : -4, 4), vb = random(rnd, t, n, pow ? -3 : -4, pow ? 3 : 4);
                        for (int i = 0; i < n; i += 5) vb[i] = va[i];   // equal elements for the comparisons
                        if (op == BinaryOp.DIV) for (int i = 0; i < n; i++) if (vb[i] == 0) vb[i] = 1;
                        Tensor ta = tensor(b, t, va, shape, l), tb = tensor(b, t, vb, shape, Layout.CONTIGUOUS);
                        Tensor out = output(b, ot, shape);
                        b.binary(op, ta, tb, out);
                        double[] expect = new double[n];
                        for (int i = 0; i < n; i++) expect[i] = round(ot, binaryRef(op, va[i], vb[i]));
                        if (ot == DType.BOOL) assertSame(op + " " + t + " " + l, expect, values(out));
                        else assertClose(op + " " + t + " " + l + " n=" + n, t, expect, values(out));
                        ta.release();
                        tb.release();
                        out.release();
                    }
                // Broadcast: a (5, 1, 7) and b (3, 7) to (5, 3, 7).
                double[] va = random(rnd, t, 35, pow ? 0.1 : -4, 4), vb = random(rnd, t, 21, pow ? -2 : -4, pow ? 2 : 4);
                if (op == BinaryOp.DIV) for (int i = 0; i < 21; i++) if (vb[i] == 0) vb[i] = 1;
                Tensor ta = expand(tensor(b, t, va, 5, 1, 7), 5, 3, 7), tb = expand(tensor(b, t, vb, 3, 7), 5, 3, 7);
                Tensor out = output(b, ot, 5, 3, 7);
                b.binary(op, ta, tb, out);
                double[] expect = new double[105];
                for (int i = 0; i < 5; i++)
                    for (int j = 0; j < 3; j++)
                        for (int k = 0; k < 7; k++)
                            expect[(i * 3 + j) * 7 + k] = round(ot, binaryRef(op, va[i * 7 + k], vb[j * 7 + k]));
                assertClose("broadcast " + op + " " + t, expect, values(out), rtol(ot), atol(ot));
            }
    }

    @Test
    void binaryNaNAndInPlace() {
        CudaBackend b = gpu();
        double nan = Double.NaN;
        double[] va = {nan, 1, nan, -0.0, 0.0, 3}, vb = {1, nan, nan, 0.0, -0.0, 3};
        for (DType t : FLOATS) {
            Tensor ta = tensor(b, t, va, 6), tb = tensor(b, t, vb, 6);
            for (BinaryOp op : new BinaryOp[]{BinaryOp.MAXIMUM, BinaryOp.MINIMUM, BinaryOp.EQ, BinaryOp.NE, BinaryOp.LT, BinaryOp.GE}) {
                DType ot = op.isComparison() ? DType.BOOL : t;
                Tensor out = output(b, ot, 6);
                b.binary(op, ta, tb, out);
                double[] expect = new double[6];
                for (int i = 0; i < 6; i++) expect[i] = round(ot, binaryRef(op, va[i], vb[i]));
                assertSame(op + " specials " + t, expect, values(out));
                if (!op.isComparison()) {
                    double[] got = values(out);
                    assertEquals(op == BinaryOp.MAXIMUM ? 0 : 1, (int) Math.copySign(1, got[3]) < 0 ? 1 : 0, op + " signed zero " + t);
                }
            }
            // In place: a += b, contiguous (vectorized) and strided.
            Random rnd = new Random(7);
            double[] x = random(rnd, t, 4097, -2, 2), y = random(rnd, t, 4097, -2, 2);
            Tensor tx = tensor(b, t, x, 4097), ty = tensor(b, t, y, 4097);
            b.binary(BinaryOp.ADD, tx, ty, tx);
            double[] expect = new double[4097];
            for (int i = 0; i < expect.length; i++) expect[i] = round(t, x[i] + y[i]);
            assertClose("in-place add " + t, t, expect, values(tx));
        }
    }

    @Test
    void binaryIntegerAndBool() {
        CudaBackend b = gpu();
        Random rnd = new Random(8);
        for (DType t : new DType[]{DType.I32, DType.I64})
            for (BinaryOp op : BinaryOp.values()) {
                if (!op.integerOk() || op.isLogical()) continue;
                DType ot = op.isComparison() ? DType.BOOL : t;
                double[] va = random(rnd, t, 1023, -100, 100), vb = random(rnd, t, 1023, -100, 100);
                Tensor ta = tensor(b, t, va, new int[]{1023}, Layout.OFFSET), tb = tensor(b, t, vb, 1023);
                Tensor out = output(b, ot, 1023);
                b.binary(op, ta, tb, out);
                double[] expect = new double[1023];
                for (int i = 0; i < 1023; i++) expect[i] = round(ot, binaryRef(op, va[i], vb[i]));
                assertSame(op + " " + t, expect, values(out));
            }
        // I32 overflow wraps.
        Tensor big = tensor(b, DType.I32, new double[]{Integer.MAX_VALUE, 65536}, 2);
        Tensor o = output(b, DType.I32, 2);
        b.binary(BinaryOp.MUL, big, big, o);
        assertSame("I32 wrap", new double[]{1, 0}, values(o));
        for (BinaryOp op : new BinaryOp[]{BinaryOp.AND, BinaryOp.OR, BinaryOp.EQ, BinaryOp.NE}) {
            double[] va = random(rnd, DType.BOOL, 999, 0, 1), vb = random(rnd, DType.BOOL, 999, 0, 1);
            Tensor ta = tensor(b, DType.BOOL, va, 999), tb = tensor(b, DType.BOOL, vb, new int[]{999}, Layout.OFFSET);
            Tensor out = output(b, DType.BOOL, 999);
            b.binary(op, ta, tb, out);
            double[] expect = new double[999];
            for (int i = 0; i < 999; i++) expect[i] = binaryRef(op, va[i], vb[i]);
            assertSame(op + " BOOL", expect, values(out));
        }
    }

    // ---- binary with a scalar -----------------------------------------------------------------------------------

    @Test
    void binaryScalarFloat() {
        CudaBackend b = gpu();
        Random rnd = new Random(9);
        double[] scalars = {0.1, -2.5, 3};
        for (DType t : FLOATS)
            for (BinaryOp op : BinaryOp.values()) {
                if (op.isLogical()) continue;
                DType ot = op.isComparison() ? DType.BOOL : t;
                for (double s : scalars)
                    for (boolean first : new boolean[]{false, true})
                        for (Layout l : new Layout[]{Layout.CONTIGUOUS, Layout.OFFSET, Layout.PERMUTED}) {
                            boolean pow = op == BinaryOp.POW;
                            double[] v = random(rnd, t, 37 * 29, pow ? 0.1 : -4, 4);
                            if (pow && first && s < 0) continue;           // negative base with fractional powers
                            if (op == BinaryOp.DIV && first) for (int i = 0; i < v.length; i++) if (v[i] == 0) v[i] = 1;
                            v[0] = round(t, s);                                      // equality for the comparisons
                            Tensor x = tensor(b, t, v, new int[]{37, 29}, l);
                            Tensor out = output(b, ot, 37, 29);
                            b.binaryScalar(op, x, s, first, out);
                            double sc = t == DType.F64 ? s : (float) s;
                            double[] expect = new double[v.length];
                            for (int i = 0; i < v.length; i++)
                                expect[i] = round(ot, first ? binaryRef(op, sc, v[i]) : binaryRef(op, v[i], sc));
                            assertClose(op + " scalar " + s + (first ? " first " : " ") + t + " " + l, expect, values(out), rtol(ot), atol(ot));
                            x.release();
                            out.release();
                        }
            }
    }

    @Test
    void binaryScalarInteger() {
        CudaBackend b = gpu();
        Random rnd = new Random(10);
        for (DType t : new DType[]{DType.I32, DType.I64})
            for (BinaryOp op : BinaryOp.values()) {
                if (!op.integerOk() || op.isLogical()) continue;
                DType ot = op.isComparison() ? DType.BOOL : t;
                for (double s : new double[]{3, -7, 2.5, -0.5})
                    for (boolean first : new boolean[]{false, true}) {
                        double[] v = random(rnd, t, 1023, -100, 100);
                        v[0] = 3;
                        Tensor x = tensor(b, t, v, 1023);
                        Tensor out = output(b, ot, 1023);
                        b.binaryScalar(op, x, s, first, out);
                        double[] expect = new double[1023];
                        for (int i = 0; i < 1023; i++)
                            expect[i] = round(ot, first ? binaryRef(op, s, v[i]) : binaryRef(op, v[i], s));
                        assertSame(op + " int scalar " + s + " first=" + first + " " + t, expect, values(out));
                    }
            }
        // BOOL with a scalar: comparisons and logical ops.
        double[] v = random(rnd, DType.BOOL, 100, 0, 1);
        Tensor x = tensor(b, DType.BOOL, v, 100);
        for (BinaryOp op : new BinaryOp[]{BinaryOp.AND, BinaryOp.OR, BinaryOp.EQ}) {
            Tensor out = output(b, DType.BOOL, 100);
            b.binaryScalar(op, x, 1, false, out);
            double[] expect = new double[100];
            for (int i = 0; i < 100; i++) expect[i] = binaryRef(op, v[i], 1);
            assertSame(op + " BOOL scalar", expect, values(out));
        }
    }

    // ---- where --------------------------------------------------------------------------------------------------

    @Test
    void whereEveryDtypeWithBroadcast() {
        CudaBackend b = gpu();
        Random rnd = new Random(11);
        for (DType t : ALL) {
            double[] c = random(rnd, DType.BOOL, 35, 0, 1);
            double[] va = sample(rnd, t, 21), vb = sample(rnd, t, 105);
            Tensor tc = expand(tensor(b, DType.BOOL, c, 5, 1, 7), 5, 3, 7);
            Tensor ta = expand(tensor(b, t, va, 3, 7), 5, 3, 7);
            Tensor tb = tensor(b, t, vb, new int[]{5, 3, 7}, Layout.PERMUTED);
            Tensor out = tensor(b, t, new double[105], new int[]{5, 3, 7}, Layout.PADDED);
            b.where(tc, ta, tb, out);
            double[] expect = new double[105];
            for (int i = 0; i < 5; i++)
                for (int j = 0; j < 3; j++)
                    for (int k = 0; k < 7; k++) {
                        int o = (i * 3 + j) * 7 + k;
                        expect[o] = c[i * 7 + k] != 0 ? va[j * 7 + k] : vb[o];
                    }
            assertSame("where " + t, expect, values(out));
        }
    }
}
