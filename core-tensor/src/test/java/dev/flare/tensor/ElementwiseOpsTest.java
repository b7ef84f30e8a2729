package dev.flare.tensor;

import dev.flare.tensor.TestTensors.Kind;
import dev.flare.tensor.ops.BinaryOp;
import dev.flare.tensor.ops.Elementwise;
import dev.flare.tensor.ops.UnaryOp;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

/** Elementwise ops against double-precision references, over random shapes, layouts and broadcasting. */
class ElementwiseOpsTest {
    private final TestTensors r = new TestTensors();

    private static final DType[] FLOATS = {DType.F32, DType.F64, DType.BF16, DType.F16};
    private static final DType[] ALL = DType.values();

    static double refUnary(UnaryOp op, double x) {
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
            case RELU -> Double.isNaN(x) ? x : x > 0 ? x : 0;
            case GELU -> x == Double.NEGATIVE_INFINITY ? -0.0   // the limit, not -inf * 0
                    : 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
            case SIGN -> Math.signum(x);
            case NOT -> x == 0 ? 1 : 0;
        };
    }

    static double refBinary(BinaryOp op, double a, double b) {
        return switch (op) {
            case ADD -> a + b;
            case SUB -> a - b;
            case MUL -> a * b;
            case DIV -> a / b;
            case POW -> Math.pow(a, b);
            case MAXIMUM -> Double.isNaN(a) || Double.isNaN(b) ? Double.NaN : Math.max(a, b);
            case MINIMUM -> Double.isNaN(a) || Double.isNaN(b) ? Double.NaN : Math.min(a, b);
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

    static List<DType> unaryTypes(UnaryOp op) {
        List<DType> types = new ArrayList<>();
        if (op == UnaryOp.NOT) return List.of(DType.BOOL);
        types.addAll(List.of(FLOATS));
        if (op.integerOk()) types.addAll(List.of(DType.I32, DType.I64));
        return types;
    }

    static List<DType> binaryTypes(BinaryOp op) {
        if (op.isLogical()) return List.of(DType.BOOL);
        List<DType> types = new ArrayList<>(List.of(FLOATS));
        if (op.integerOk()) types.addAll(List.of(DType.I32, DType.I64));
        if (op.isComparison()) types.add(DType.BOOL);
        return types;
    }

    private static boolean positiveDomain(UnaryOp op) {
        return op == UnaryOp.LOG || op == UnaryOp.SQRT || op == UnaryOp.RSQRT || op == UnaryOp.RECIPROCAL;
    }

    @Test
    void unaryOpsMatchReferenceForEveryDtypeOnRandomLayouts() {
        for (UnaryOp op : UnaryOp.values()) {
            for (DType dt : unaryTypes(op)) {
                for (int trial = 0; trial < 6; trial++) {
                    int[] shape = r.shape(4, 6, 0.05);
                    Kind kind = positiveDomain(op) ? Kind.POSITIVE : dt.isFloatingPoint() && trial % 2 == 1 ? Kind.SPECIAL : Kind.NORMAL;
                    double[] x = r.values(dt, (int) TestTensors.numel(shape), kind);
                    Tensor t = r.tensor(x, shape, dt);
                    Tensor y = Elementwise.unary(op, t);
                    assertEquals(dt, y.dtype(), r.at(op + " dtype"));
                    double[] expected = TestTensors.roundAll(dt, TestTensors.map(x, v -> refUnary(op, v)));
                    r.assertTensor(expected, shape, y, dt.isFloatingPoint(), op + " on " + dt + " shape " + Shapes.str(shape));
                }
            }
        }
    }

    @Test
    void binaryOpsBroadcastLikeNumPyForEveryDtype() {
        for (BinaryOp op : BinaryOp.values()) {
            for (DType dt : binaryTypes(op)) {
                for (int trial = 0; trial < 6; trial++) {
                    int[] out = r.shape(4, 5, 0.05);
                    int[] sa = r.broadcastableTo(out), sb = r.broadcastableTo(out);
                    if (r.chance(0.5)) sa = out;       // keep the full shape on one side often
                    int[] shape = Shapes.broadcast("test", sa, sb);
                    Kind ka = op == BinaryOp.POW ? Kind.POSITIVE : trial == 5 && dt.isFloatingPoint() ? Kind.SPECIAL
                            : trial % 2 == 0 ? Kind.TIES : Kind.NORMAL;
                    Kind kb = op == BinaryOp.DIV && trial != 5 ? Kind.POSITIVE : ka == Kind.POSITIVE ? Kind.NORMAL : ka;
                    double[] a = r.values(dt, (int) TestTensors.numel(sa), ka), b = r.values(dt, (int) TestTensors.numel(sb), kb);
                    Tensor ta = r.tensor(a, sa, dt), tb = r.tensor(b, sb, dt);
                    Tensor y = Elementwise.binary(op, ta, tb);
                    DType outType = op.isComparison() ? DType.BOOL : dt;
                    assertEquals(outType, y.dtype(), r.at(op + " result dtype"));
                    double[] ea = TestTensors.broadcast(a, sa, shape), eb = TestTensors.broadcast(b, sb, shape);
                    double[] expected = new double[ea.length];
                    for (int i = 0; i < ea.length; i++) expected[i] = TestTensors.round(outType, refBinary(op, ea[i], eb[i]));
                    r.assertTensor(expected, shape, y, false,
                            op + " " + dt + " " + Shapes.str(sa) + " with " + Shapes.str(sb));
                }
            }
        }
    }

    @Test
    void scalarOpsRoundTheScalarToTheComputeTypeAndHonourScalarFirst() {
        double[] scalars = {3, -2, 0.1, 2.5, -1.25, 0};
        for (BinaryOp op : BinaryOp.values()) {
            if (op.isLogical()) continue;
            for (DType dt : binaryTypes(op)) {
                for (double s : scalars) {
                    if ((op == BinaryOp.POW || op == BinaryOp.DIV) && s == 0 && r.chance(0.5)) continue;
                    boolean first = r.chance(0.5);
                    int[] shape = r.shape(3, 6, 0.05);
                    Kind kind = op == BinaryOp.POW ? Kind.POSITIVE : dt.isFloatingPoint() && r.chance(0.3) ? Kind.SPECIAL : Kind.NORMAL;
                    double[] x = r.values(dt, (int) TestTensors.numel(shape), kind);
                    Tensor y = Elementwise.scalar(op, r.tensor(x, shape, dt), s, first);
                    DType outType = op.isComparison() ? DType.BOOL : dt;
                    double sc = dt == DType.F64 || !dt.isFloatingPoint() ? s : (float) s;
                    double[] expected = TestTensors.map(x, v -> TestTensors.round(outType,
                            first ? refBinary(op, sc, v) : refBinary(op, v, sc)));
                    r.assertTensor(expected, shape, y, false, op + " " + dt + " scalar " + s + (first ? " first" : ""));
                }
            }
        }
    }

    @Test
    void tensorScalarMethodsMapToTheRightOps() {
        double[] x = {1, -2, 4, 0.5};
        Tensor t = Tensor.fromArray(new float[]{1, -2, 4, 0.5f});
        r.assertExact(TestTensors.map(x, v -> 10 - v), TestTensors.read(t.rsub(10)), "rsub");
        r.assertExact(TestTensors.map(x, v -> v / 4), TestTensors.read(t.div(4)), "div");
        r.assertExact(TestTensors.map(x, v -> v * v), TestTensors.read(t.pow(2)), "pow");
        r.assertExact(TestTensors.map(x, v -> Math.max(v, 0.75)), TestTensors.read(t.maximum(0.75)), "maximum");
        r.assertExact(TestTensors.map(x, v -> Math.min(v, 0.75)), TestTensors.read(t.minimum(0.75)), "minimum");
        r.assertExact(new double[]{0, 0, 1, 0}, TestTensors.read(t.gt(1)), "gt");
        r.assertExact(new double[]{1, 0, 1, 0}, TestTensors.read(t.ge(1)), "ge");
        r.assertExact(new double[]{0, 1, 0, 1}, TestTensors.read(t.lt(1)), "lt");
        r.assertExact(new double[]{1, 1, 0, 1}, TestTensors.read(t.le(1)), "le");
        r.assertExact(new double[]{1, 0, 0, 0}, TestTensors.read(t.eq(1)), "eq");
        r.assertExact(new double[]{0, 1, 1, 1}, TestTensors.read(t.ne(1)), "ne");
    }

    @Test
    void maximumAndMinimumPropagateNaNFromEitherSide() {
        Tensor a = Tensor.fromArray(new float[]{Float.NaN, 1, 2, Float.NaN});
        Tensor b = Tensor.fromArray(new float[]{0, Float.NaN, 1, Float.NaN});
        r.assertExact(new double[]{Double.NaN, Double.NaN, 2, Double.NaN}, TestTensors.read(a.maximum(b)), "maximum");
        r.assertExact(new double[]{Double.NaN, Double.NaN, 1, Double.NaN}, TestTensors.read(a.minimum(b)), "minimum");
        r.assertExact(new double[]{Double.NaN, 3, 3, Double.NaN}, TestTensors.read(a.maximum(3)), "maximum scalar");
    }

    @Test
    void integerMathIsExactInLongAndWrapsInI32() {
        long big = (1L << 60) + 1;
        Tensor a = Tensor.fromArray(new long[]{big, -big, 3});
        Tensor b = Tensor.fromArray(new long[]{1, 2, -4});
        assertEquals(big + 1, a.add(b).toLongArray()[0], r.at("I64 add keeps all 64 bits"));
        assertEquals(-big * 2, a.mul(b).toLongArray()[1], r.at("I64 mul keeps all 64 bits"));
        assertEquals(big - 8, a.add(-8).toLongArray()[0], r.at("I64 scalar add"));
        assertEquals(1, a.gt(Tensor.fromArray(new long[]{big - 1, 0, 0})).toLongArray()[0], r.at("I64 compare near 2^60"));
        Tensor i = Tensor.fromArray(new int[]{Integer.MAX_VALUE, 7, -7});
        assertEquals(Integer.MIN_VALUE, i.add(1).toIntArray()[0], r.at("I32 add wraps"));
        assertEquals(3, i.mul(0.5).toIntArray()[1], r.at("I32 times a non-integral scalar truncates toward zero"));
        assertEquals(-3, i.mul(0.5).toIntArray()[2], r.at("I32 times a non-integral scalar truncates toward zero"));
        r.assertExact(new double[]{0, 0, 1}, TestTensors.read(i.lt(-6.5)), "I32 compared with a non-integral scalar");
        r.assertExact(new double[]{1, 1, -1}, TestTensors.read(i.sign()), "I32 sign");
        r.assertExact(new double[]{Integer.MAX_VALUE, 7, 0}, TestTensors.read(i.relu()), "I32 relu");
    }

    @Test
    void logicalOpsOnBool() {
        Tensor a = Tensor.fromArray(new boolean[]{true, true, false, false});
        Tensor b = Tensor.fromArray(new boolean[]{true, false, true, false});
        r.assertExact(new double[]{1, 0, 0, 0}, TestTensors.read(a.and(b)), "and");
        r.assertExact(new double[]{1, 1, 1, 0}, TestTensors.read(a.or(b)), "or");
        r.assertExact(new double[]{0, 0, 1, 1}, TestTensors.read(a.not()), "not");
        r.assertExact(new double[]{1, 0, 0, 1}, TestTensors.read(a.eq(b)), "eq on BOOL");
    }

    @Test
    void whereAndMaskedFillBroadcastAllOperands() {
        for (DType dt : ALL) {
            for (int trial = 0; trial < 8; trial++) {
                int[] out = r.shape(4, 5, 0.05);
                int[] sc = r.broadcastableTo(out), sa = r.broadcastableTo(out), sb = r.broadcastableTo(out);
                if (trial % 3 == 0) sc = out;
                int[] shape = Shapes.broadcast("t", Shapes.broadcast("t", sc, sa), sb);
                double[] c = r.values(DType.BOOL, (int) TestTensors.numel(sc), Kind.NORMAL);
                double[] a = r.values(dt, (int) TestTensors.numel(sa), Kind.NORMAL);
                double[] b = r.values(dt, (int) TestTensors.numel(sb), Kind.NORMAL);
                Tensor y = Tensor.where(r.tensor(c, sc, DType.BOOL), r.tensor(a, sa, dt), r.tensor(b, sb, dt));
                double[] ec = TestTensors.broadcast(c, sc, shape), ea = TestTensors.broadcast(a, sa, shape),
                        eb = TestTensors.broadcast(b, sb, shape);
                double[] expected = new double[ec.length];
                for (int i = 0; i < ec.length; i++) expected[i] = ec[i] != 0 ? ea[i] : eb[i];
                r.assertTensor(expected, shape, y, false, "where " + dt);

                // maskedFill: x keeps its shape when the mask broadcasts to it.
                int[] sx = r.shape(3, 5, 0.05), sm = r.broadcastableTo(sx);
                double[] x = r.values(dt, (int) TestTensors.numel(sx), Kind.NORMAL);
                double[] m = r.values(DType.BOOL, (int) TestTensors.numel(sm), Kind.NORMAL);
                double fillValue = -1e4;
                Tensor f = r.tensor(x, sx, dt).maskedFill(r.tensor(m, sm, DType.BOOL), fillValue);
                double[] em = TestTensors.broadcast(m, sm, sx);
                double[] ef = new double[x.length];
                for (int i = 0; i < x.length; i++) ef[i] = em[i] != 0 ? TestTensors.round(dt, fillValue) : x[i];
                r.assertTensor(ef, sx, f, false, "maskedFill " + dt);
            }
        }
    }

    /** The positions of a view's elements in its storage. */
    private static boolean[] covered(Tensor t) {
        boolean[] in = new boolean[(int) t.storage().numel()];
        int[] shape = t.shape();
        for (long f = 0; f < t.numel(); f++) {
            int[] idx = TestTensors.unravel(f, shape);
            long o = t.offset();
            for (int d = 0; d < shape.length; d++) o += idx[d] * t.strides()[d];
            in[(int) o] = true;
        }
        return in;
    }

    /** Every storage element outside the view still holds the sentinel. */
    private void assertGapsUntouched(Tensor view, String what) {
        boolean[] in = covered(view);
        Object arr = TestTensors.raw(view);
        double sentinel = view.dtype() == DType.BOOL ? 1 : TestTensors.SENTINEL;
        for (int i = 0; i < in.length; i++)
            if (!in[i]) assertEquals(sentinel, TestTensors.get(arr, view.dtype(), i), r.at(what + ": storage element " + i + " outside the view was written"));
    }

    @Test
    void copyFromConvertsAndBroadcastsIntoStridedViewsWithoutTouchingGaps() {
        for (DType src : ALL) {
            for (DType dst : ALL) {
                int[] shape = r.shape(4, 5, 0.05);
                int[] ss = r.broadcastableTo(shape);
                double[] s = r.values(src, (int) TestTensors.numel(ss), Kind.NORMAL);
                Tensor d = r.strided(r.values(dst, (int) TestTensors.numel(shape), Kind.NORMAL), shape, dst);
                Tensor ret = d.copyFrom(r.tensor(s, ss, src));
                assertSame(d, ret, r.at("copyFrom returns this"));
                double[] expected = TestTensors.roundAll(dst, TestTensors.broadcast(s, ss, shape));
                r.assertTensor(expected, shape, d, false, "copyFrom " + src + " -> " + dst + " " + Shapes.str(ss) + " into " + Shapes.str(shape));
                assertGapsUntouched(d, "copyFrom " + src + " -> " + dst);
            }
        }
    }

    @Test
    void copyFromIntoANarrowedSliceOfALargerTensor() {
        Tensor big = Tensor.zeros(4, 6);
        big.narrow(1, 2, 3).narrow(0, 1, 2).copyFrom(Tensor.fromArray(new float[]{1, 2, 3}, 3));
        double[] expected = new double[24];
        for (int i = 1; i <= 2; i++) for (int j = 2; j < 5; j++) expected[i * 6 + j] = j - 1;
        r.assertExact(expected, TestTensors.read(big), "narrowed copy");
    }

    @Test
    void fillAndZeroConvertTheValueAndKeepGaps() {
        double[] values = {2.7, -2.7, 1e10, Double.NaN, Double.POSITIVE_INFINITY, 0.1, 0};
        for (DType dt : ALL) {
            for (double v : values) {
                int[] shape = r.shape(3, 5, 0.05);
                Tensor t = r.strided(r.values(dt, (int) TestTensors.numel(shape), Kind.NORMAL), shape, dt);
                t.fill(v);
                double[] expected = new double[(int) t.numel()];
                java.util.Arrays.fill(expected, TestTensors.round(dt, v));
                r.assertTensor(expected, shape, t, false, "fill " + dt + " with " + v);
                assertGapsUntouched(t, "fill " + dt);
                t.zero();
                r.assertTensor(new double[expected.length], shape, t, false, "zero " + dt);
            }
        }
    }

    @Test
    void addInPlaceAndMulInPlaceUpdateStridedViews() {
        for (DType dt : new DType[]{DType.F32, DType.F64, DType.BF16, DType.F16, DType.I32, DType.I64}) {
            for (int trial = 0; trial < 5; trial++) {
                int[] shape = r.shape(4, 5, 0.05);
                int[] so = r.broadcastableTo(shape);
                double[] x = r.values(dt, (int) TestTensors.numel(shape), Kind.NORMAL);
                double[] o = r.values(dt, (int) TestTensors.numel(so), Kind.NORMAL);
                Tensor t = r.strided(x, shape, dt);
                int version = t.storage().version();
                t.addInPlace(r.tensor(o, so, dt));
                double[] eo = TestTensors.broadcast(o, so, shape);
                double[] expected = new double[x.length];
                for (int i = 0; i < x.length; i++) expected[i] = TestTensors.round(dt, x[i] + eo[i]);
                r.assertTensor(expected, shape, t, false, "addInPlace " + dt);
                assertGapsUntouched(t, "addInPlace " + dt);
                t.mulInPlace(3);
                r.assertTensor(TestTensors.roundAll(dt, TestTensors.map(expected, v -> v * 3)), shape, t, false, "mulInPlace " + dt);
                assertEquals(version + 2, t.storage().version(), r.at("in-place ops bump the storage version"));
            }
        }
    }

    @Test
    void backendKernelsWriteIntoStridedAndAliasedOutputs() {
        Backend be = Tensor.zeros(1).backend();
        for (DType dt : FLOATS) {
            int[] shape = {r.nextInt(1, 7), r.nextInt(1, 40)};
            double[] x = r.values(dt, shape[0] * shape[1], Kind.NORMAL);
            double[] y = r.values(dt, shape[0] * shape[1], Kind.NORMAL);
            // Unary into a strided output.
            Tensor out = r.strided(new double[x.length], shape, dt);
            be.unary(UnaryOp.TANH, r.tensor(x, shape, dt), out);
            r.assertTensor(TestTensors.roundAll(dt, TestTensors.map(x, Math::tanh)), shape, out, true, "tanh into strided " + dt);
            assertGapsUntouched(out, "tanh into strided");
            // In place: out is the very same view as the input.
            Tensor a = r.tensor(x, shape, dt);
            be.unary(UnaryOp.EXP, a, a);
            r.assertTensor(TestTensors.roundAll(dt, TestTensors.map(x, Math::exp)), shape, a, true, "exp in place " + dt);
            Tensor p = r.tensor(x, shape, dt), q = r.tensor(y, shape, dt);
            be.binary(BinaryOp.SUB, p, q, q);
            double[] expected = new double[x.length];
            for (int i = 0; i < x.length; i++) expected[i] = TestTensors.round(dt, x[i] - y[i]);
            r.assertTensor(expected, shape, q, false, "sub into the second operand " + dt);
            Tensor s = r.tensor(x, shape, dt);
            be.binaryScalar(BinaryOp.DIV, s, 4, true, s);
            r.assertTensor(TestTensors.roundAll(dt, TestTensors.map(x, v -> 4 / v)), shape, s, false, "4 / x in place " + dt);
            Tensor c = r.tensor(r.values(DType.BOOL, x.length, Kind.NORMAL), shape, DType.BOOL);
            Tensor w = r.tensor(x, shape, dt);
            double[] cv = TestTensors.read(c);
            be.where(c, w, Tensor.zeros(dt, Device.CPU).expand(shape), w);
            r.assertTensor(map2(cv, x, (k, v) -> k != 0 ? v : 0), shape, w, false, "where in place " + dt);
        }
    }

    private static double[] map2(double[] a, double[] b, java.util.function.DoubleBinaryOperator f) {
        double[] o = new double[a.length];
        for (int i = 0; i < a.length; i++) o[i] = f.applyAsDouble(a[i], b[i]);
        return o;
    }

    /** F32 fast paths: Vector API bodies and tails, stride-0 operands, scalar forms, large (multi-threaded) sizes, BF16 copies. */
    @Test
    void f32FastPathsAreExactForArithmeticAndCopiesAndCloseForTranscendentals() {
        int[] sizes = {1, 7, 15, 16, 17, 33, 255, 1000, 70_001};
        for (int n : sizes) {
            double[] x = r.values(DType.F32, n, Kind.NORMAL), y = r.values(DType.F32, n, Kind.POSITIVE);
            Tensor a = TestTensors.contiguous(x, new int[]{n}, DType.F32), b = TestTensors.contiguous(y, new int[]{n}, DType.F32);
            for (BinaryOp op : new BinaryOp[]{BinaryOp.ADD, BinaryOp.SUB, BinaryOp.MUL, BinaryOp.DIV}) {
                double[] e = new double[n], es = new double[n], ef = new double[n], eb = new double[n];
                for (int i = 0; i < n; i++) {
                    e[i] = (float) refBinary(op, x[i], y[i]);
                    es[i] = (float) refBinary(op, x[i], (float) 0.3);
                    ef[i] = (float) refBinary(op, (float) 0.3, y[i]);
                    eb[i] = (float) refBinary(op, x[i], y[0]);
                }
                r.assertExact(e, TestTensors.read(Elementwise.binary(op, a, b)), op + " contiguous n=" + n);
                r.assertExact(es, TestTensors.read(Elementwise.scalar(op, a, 0.3, false)), op + " scalar n=" + n);
                r.assertExact(ef, TestTensors.read(Elementwise.scalar(op, b, 0.3, true)), op + " scalar-first n=" + n);
                r.assertExact(eb, TestTensors.read(Elementwise.binary(op, a, b.narrow(0, 0, 1).view(new int[0]))),
                        op + " with a 0-d tensor n=" + n);
            }
            r.assertClose(TestTensors.map(x, v -> (float) Math.exp(v)), TestTensors.read(a.exp()), 1e-6, 0, "exp n=" + n);
            r.assertClose(TestTensors.map(x, v -> (float) refUnary(UnaryOp.GELU, v)), TestTensors.read(a.gelu()), 2e-6, 1e-7, "gelu n=" + n);
            r.assertClose(TestTensors.map(x, v -> (float) Math.tanh(v)), TestTensors.read(a.tanh()), 2e-6, 1e-7, "tanh n=" + n);
            r.assertClose(TestTensors.map(x, v -> (float) (1 / (1 + Math.exp(-v)))), TestTensors.read(a.sigmoid()), 2e-6, 1e-7, "sigmoid n=" + n);
            Tensor bf = a.to(DType.BF16);
            r.assertExact(TestTensors.map(x, v -> TestTensors.refBf16((float) v)), TestTensors.read(bf), "F32 -> BF16 n=" + n);
            r.assertExact(TestTensors.read(bf), TestTensors.read(bf.to(DType.F32)), "BF16 -> F32 n=" + n);
        }
        // Bias add: (rows, n) + (n) gives stride-0 rows for the bias.
        int rows = 37, n = 129;
        double[] x = r.values(DType.F32, rows * n, Kind.NORMAL), bias = r.values(DType.F32, n, Kind.NORMAL);
        Tensor out = TestTensors.contiguous(x, new int[]{rows, n}, DType.F32).add(TestTensors.contiguous(bias, new int[]{n}, DType.F32));
        double[] e = new double[rows * n];
        for (int i = 0; i < rows; i++) for (int j = 0; j < n; j++) e[i * n + j] = (float) (x[i * n + j] + bias[j]);
        r.assertExact(e, TestTensors.read(out), "bias add");
    }

    @Test
    void largeTransposedCopyIsCorrectAcrossThreads() {
        int m = 300, n = 301;
        double[] x = r.values(DType.F32, m * n, Kind.NORMAL);
        Tensor t = TestTensors.contiguous(x, new int[]{m, n}, DType.F32).t().contiguous();
        double[] e = new double[m * n];
        for (int i = 0; i < n; i++) for (int j = 0; j < m; j++) e[i * m + j] = x[j * n + i];
        r.assertTensor(e, new int[]{n, m}, t, false, "transposed copy");
    }
}
