package dev.flare.tensor.ops;

import dev.flare.tensor.DType;
import dev.flare.tensor.Shapes;
import dev.flare.tensor.Tensor;

/** Elementwise ops with NumPy broadcasting, casts and in-place updates. */
public final class Elementwise {
    private Elementwise() {}

    public static Tensor unary(UnaryOp op, Tensor x) {
        Checks.notNull("x", x);
        Checks.live(x);
        checkUnaryDType(op, x.dtype());
        Tensor out = Tensor.empty(x.dtype(), x.device(), x.shape());
        x.backend().unary(op, x, out);
        return Recording.needed(x) ? Recording.record(new OpCall.Unary(op, x, out), out) : out;
    }

    static void checkUnaryDType(UnaryOp op, DType dtype) {
        if (op == UnaryOp.NOT) {
            if (dtype != DType.BOOL) throw new IllegalArgumentException(op + ": expected a BOOL tensor, got " + dtype);
        } else if (dtype == DType.BOOL || (!dtype.isFloatingPoint() && !op.integerOk())) {
            throw new IllegalArgumentException(op + ": expected a floating-point tensor"
                    + (op.integerOk() ? " or I32/I64" : "") + ", got " + dtype);
        }
    }

    static void checkBinaryDType(BinaryOp op, DType dtype) {
        if (op.isLogical()) {
            if (dtype != DType.BOOL) throw new IllegalArgumentException(op + ": expected BOOL tensors, got " + dtype);
        } else if (!op.isComparison() && (dtype == DType.BOOL || (!dtype.isFloatingPoint() && !op.integerOk()))) {
            throw new IllegalArgumentException(op + ": expected floating-point tensors"
                    + (op.integerOk() ? " or I32/I64" : "") + ", got " + dtype + " (cast first)");
        }
    }

    public static Tensor binary(BinaryOp op, Tensor a, Tensor b) {
        Checks.notNull("self", a);
        Checks.notNull("other", b);
        Checks.live(a);
        Checks.live(b);
        Checks.sameDeviceAndDType(op.name().toLowerCase(), "self", a, "other", b);
        checkBinaryDType(op, a.dtype());
        int[] shape = Shapes.broadcast(op.name().toLowerCase(), a.shape(), b.shape());
        Tensor out = Tensor.empty(op.isComparison() ? DType.BOOL : a.dtype(), a.device(), shape);
        a.backend().binary(op, ViewOps.expandRaw(a, shape), ViewOps.expandRaw(b, shape), out);
        if (op.isComparison() || op.isLogical() || !Recording.needed(a, b)) return out;
        return Recording.record(new OpCall.Binary(op, a, b, out), out);
    }

    public static Tensor scalar(BinaryOp op, Tensor x, double s, boolean scalarFirst) {
        Checks.notNull("self", x);
        Checks.live(x);
        checkBinaryDType(op, x.dtype());
        Tensor out = Tensor.empty(op.isComparison() ? DType.BOOL : x.dtype(), x.device(), x.shape());
        x.backend().binaryScalar(op, x, s, scalarFirst, out);
        if (op.isComparison() || op.isLogical() || !Recording.needed(x)) return out;
        return Recording.record(new OpCall.Scalar(op, x, s, scalarFirst, out), out);
    }

    public static Tensor where(Tensor cond, Tensor a, Tensor b) {
        Checks.notNull("cond", cond);
        Checks.notNull("a", a);
        Checks.notNull("b", b);
        if (cond.dtype() != DType.BOOL)
            throw new IllegalArgumentException("where: cond must be BOOL, got " + cond.dtype() + " (compare first, e.g. x.gt(0))");
        Checks.sameDeviceAndDType("where", "a", a, "b", b);
        Checks.sameDevice("where", "cond", cond, "a", a);
        int[] shape = Shapes.broadcast("where", Shapes.broadcast("where", cond.shape(), a.shape()), b.shape());
        Tensor out = Tensor.empty(a.dtype(), a.device(), shape);
        a.backend().where(ViewOps.expandRaw(cond, shape), ViewOps.expandRaw(a, shape), ViewOps.expandRaw(b, shape), out);
        return Recording.needed(a, b) ? Recording.record(new OpCall.Where(cond, a, b), out) : out;
    }

    /** x with value where mask is true; the mask broadcasts to x's shape and the result has x's shape. */
    public static Tensor maskedFill(Tensor x, Tensor mask, double value) {
        Checks.notNull("self", x);
        Checks.notNull("mask", mask);
        if (mask.dtype() != DType.BOOL)
            throw new IllegalArgumentException("maskedFill: mask must be BOOL, got " + mask.dtype() + " (compare first, e.g. x.gt(0))");
        int[] shape = Shapes.broadcast("maskedFill", mask.shape(), x.shape());
        if (!java.util.Arrays.equals(shape, x.shape()))
            throw new IllegalArgumentException("maskedFill: mask of shape " + Shapes.str(mask.shape())
                    + " must broadcast to the tensor's shape " + Shapes.str(x.shape()) + ", but they broadcast to " + Shapes.str(shape));
        return where(mask, Tensor.scalar(value, x.dtype(), x.device()), x);
    }

    public static Tensor cast(Tensor x, DType dtype) {
        Checks.notNull("x", x);
        if (x.dtype() == dtype) return x;
        Checks.live(x);
        Tensor out = Tensor.empty(dtype, x.device(), x.shape());
        x.backend().copy(x, out);
        if (dtype.isFloatingPoint() && Recording.needed(x)) return Recording.record(new OpCall.Cast(x, dtype), out);
        return out;
    }

    /** dst[...] = src broadcast to dst's shape, converted to dst's dtype. */
    public static void copyInto(Tensor src, Tensor dst) {
        Checks.notNull("src", src);
        Checks.sameDevice("copyFrom", "src", src, "this", dst);
        Checks.live(src);
        Checks.live(dst);
        Checks.writable("copyFrom", "this", dst);
        dst.backend().copy(ViewOps.expandRaw(src, dst.shape()), dst);
        dst.storage().bumpVersion();
    }

    public static void fillInPlace(Tensor dst, double value) {
        Checks.live(dst);
        Checks.writable("fill", "this", dst);
        dst.backend().fill(dst, value);
        dst.storage().bumpVersion();
    }

    /** dst = op(dst, other broadcast). */
    public static void inPlace(BinaryOp op, Tensor dst, Tensor other) {
        Checks.notNull("other", other);
        Checks.sameDeviceAndDType(op.name().toLowerCase() + "_", "this", dst, "other", other);
        checkBinaryDType(op, dst.dtype());
        Checks.live(dst);
        Checks.live(other);
        Checks.writable(op.name().toLowerCase() + "_", "this", dst);
        dst.backend().binary(op, dst, ViewOps.expandRaw(other, dst.shape()), dst);
        dst.storage().bumpVersion();
    }

    public static void inPlaceScalar(BinaryOp op, Tensor dst, double s) {
        checkBinaryDType(op, dst.dtype());
        Checks.live(dst);
        Checks.writable(op.name().toLowerCase() + "_", "this", dst);
        dst.backend().binaryScalar(op, dst, s, false, dst);
        dst.storage().bumpVersion();
    }
}
