package dev.flare.tensor;

import dev.flare.tensor.ops.BinaryOp;
import dev.flare.tensor.ops.Creation;
import dev.flare.tensor.ops.Elementwise;
import dev.flare.tensor.ops.HostData;
import dev.flare.tensor.ops.Joining;
import dev.flare.tensor.ops.LinearAlgebra;
import dev.flare.tensor.ops.NeuralOps;
import dev.flare.tensor.ops.Recording;
import dev.flare.tensor.ops.ReduceOp;
import dev.flare.tensor.ops.Reductions;
import dev.flare.tensor.ops.UnaryOp;
import dev.flare.tensor.ops.ViewOps;
import dev.flare.tensor.random.Generator;

import java.util.List;

/**
 * An n-dimensional array: a view (shape, strides and offset, in elements) over a {@link Storage} on one
 * {@link Device}. Views (reshape, transpose, permute, narrow, expand, ...) share storage and copy nothing.
 * Ops record themselves for autograd when an input {@link #requiresGrad() requires grad} and the
 * {@code autograd} module is on the class path. Mixing dtypes or devices in one op is an error: cast or move first.
 */
public final class Tensor {
    private final Storage storage;
    private final int[] shape;
    private final long[] strides;
    private final long offset;

    // Autograd state. The graph node is owned by the autograd module; the core only carries it.
    private boolean requiresGrad;
    private Object gradFn;
    private Tensor grad;

    private Tensor(Storage storage, int[] shape, long[] strides, long offset) {
        this.storage = storage;
        this.shape = shape;
        this.strides = strides;
        this.offset = offset;
    }

    /** A view with explicit geometry over existing storage (advanced; the geometry is bounds-checked). */
    public static Tensor of(Storage storage, int[] shape, long[] strides, long offset) {
        if (shape.length != strides.length)
            throw new IllegalArgumentException("strides: expected " + shape.length + " strides for shape "
                    + Shapes.str(shape) + ", got " + strides.length);
        Shapes.checkShape("shape", shape);
        if (offset < 0) throw new IllegalArgumentException("offset: expected >= 0, got " + offset);
        if (Shapes.numel(shape) > 0) {
            long max = offset;
            for (int i = 0; i < shape.length; i++) {
                if (strides[i] < 0) throw new IllegalArgumentException("strides: expected >= 0, got " + java.util.Arrays.toString(strides));
                max += (shape[i] - 1) * strides[i];
            }
            if (max >= storage.numel())
                throw new IllegalArgumentException("geometry: shape " + Shapes.str(shape) + " strides "
                        + java.util.Arrays.toString(strides) + " offset " + offset + " reaches element " + max
                        + " of a storage of " + storage.numel());
        }
        return new Tensor(storage, shape.clone(), strides.clone(), offset);
    }

    /** A contiguous tensor over a new storage of the given dtype and device (contents undefined). */
    public static Tensor empty(DType dtype, Device device, int... shape) {
        Shapes.checkShape("shape", shape);
        Storage s = Backends.of(device).allocate(dtype, Shapes.numel(shape));
        return new Tensor(s, shape.clone(), Shapes.contiguousStrides(shape), 0);
    }

    // ---- geometry --------------------------------------------------------------------------------------

    public Storage storage() { return storage; }
    public int[] shape() { return shape.clone(); }
    public int size(int dim) { return shape[Shapes.dim("dim", dim, shape.length)]; }
    public long[] strides() { return strides.clone(); }
    public long stride(int dim) { return strides[Shapes.dim("dim", dim, shape.length)]; }
    public long offset() { return offset; }
    public int dim() { return shape.length; }
    public long numel() { return Shapes.numel(shape); }
    public DType dtype() { return storage.dtype(); }
    public Device device() { return storage.device(); }
    public Backend backend() { return Backends.of(device()); }

    /**
     * True when the elements are laid out row-major without gaps (size-1 dims may have any stride). A tensor
     * with no elements is contiguous whatever its strides.
     */
    public boolean isContiguous() {
        if (numel() == 0) return true;
        long expected = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            if (shape[i] == 1) continue;
            if (strides[i] != expected) return false;
            expected *= shape[i];
        }
        return true;
    }

    // ---- views (no copies) -------------------------------------------------------------------------------

    /** Same elements, new shape; one size may be -1. Requires a compatible layout (see {@link #reshape}). */
    public Tensor view(int... newShape) { return ViewOps.view(this, newShape); }
    /** Like {@link #view} but copies when the layout does not allow a view. */
    public Tensor reshape(int... newShape) { return ViewOps.reshape(this, newShape); }
    public Tensor flatten() { return reshape(-1); }
    public Tensor transpose(int dim0, int dim1) { return ViewOps.transpose(this, dim0, dim1); }
    /** Transpose of a 2-d tensor. */
    public Tensor t() { return ViewOps.t(this); }
    public Tensor permute(int... dims) { return ViewOps.permute(this, dims); }
    /** Elements [start, start + length) along dim. */
    public Tensor narrow(int dim, int start, int length) { return ViewOps.narrow(this, dim, start, length); }
    /** Elements [start, end) along dim; negative indices count from the end. */
    public Tensor slice(int dim, int start, int end) { return ViewOps.slice(this, dim, start, end); }
    /** The sub-tensor at {@code index} along dim, with that dim removed. */
    public Tensor select(int dim, int index) { return ViewOps.select(this, dim, index); }
    /** Broadcast to a larger shape (size-1 dims repeat with stride 0; -1 keeps a size). */
    public Tensor expand(int... newShape) { return ViewOps.expand(this, newShape); }
    public Tensor unsqueeze(int dim) { return ViewOps.unsqueeze(this, dim); }
    public Tensor squeeze(int dim) { return ViewOps.squeeze(this, dim); }
    /** Removes every size-1 dim. */
    public Tensor squeeze() { return ViewOps.squeezeAll(this); }

    /** This tensor if contiguous, else a contiguous copy. */
    public Tensor contiguous() { return isContiguous() ? this : ViewOps.copy(this); }
    /** A contiguous copy (never shares storage). */
    public Tensor copy() { return ViewOps.copy(this); }
    public Tensor to(DType dtype) { return Elementwise.cast(this, dtype); }
    public Tensor to(Device device) { return HostData.toDevice(this, device); }
    /** A view of the same storage that does not require grad and is cut from the graph. */
    public Tensor detach() { return new Tensor(storage, shape, strides, offset); }

    // ---- data ----------------------------------------------------------------------------------------------

    /** The single element of a one-element tensor, as a double. */
    public double item() { return HostData.item(this); }
    public float[] toFloatArray() { return HostData.toFloatArray(this); }
    public double[] toDoubleArray() { return HostData.toDoubleArray(this); }
    public long[] toLongArray() { return HostData.toLongArray(this); }
    public int[] toIntArray() { return HostData.toIntArray(this); }
    /** Element at the given index (one per dim), as a double. */
    public double get(int... index) { return HostData.get(this, index); }

    // ---- creation ------------------------------------------------------------------------------------------

    public static Tensor zeros(int... shape) { return Creation.full(0, DType.F32, Device.CPU, shape); }
    public static Tensor zeros(DType dtype, Device device, int... shape) { return Creation.full(0, dtype, device, shape); }
    public static Tensor ones(int... shape) { return Creation.full(1, DType.F32, Device.CPU, shape); }
    public static Tensor ones(DType dtype, Device device, int... shape) { return Creation.full(1, dtype, device, shape); }
    public static Tensor full(double value, int... shape) { return Creation.full(value, DType.F32, Device.CPU, shape); }
    public static Tensor full(double value, DType dtype, Device device, int... shape) { return Creation.full(value, dtype, device, shape); }
    public static Tensor scalar(double value) { return Creation.full(value, DType.F32, Device.CPU); }
    public static Tensor scalar(double value, DType dtype, Device device) { return Creation.full(value, dtype, device); }
    /** start, start+step, ... below end (I64 unless a dtype is given). */
    public static Tensor arange(long end) { return Creation.arange(0, end, 1, DType.I64, Device.CPU); }
    public static Tensor arange(long start, long end, long step, DType dtype, Device device) { return Creation.arange(start, end, step, dtype, device); }
    public static Tensor fromArray(float[] data, int... shape) { return Creation.fromArray(data, DType.F32, shape); }
    public static Tensor fromArray(double[] data, int... shape) { return Creation.fromArray(data, DType.F64, shape); }
    public static Tensor fromArray(int[] data, int... shape) { return Creation.fromArray(data, DType.I32, shape); }
    public static Tensor fromArray(long[] data, int... shape) { return Creation.fromArray(data, DType.I64, shape); }
    public static Tensor fromArray(boolean[] data, int... shape) { return Creation.fromBooleans(data, shape); }
    /** Uniform [0, 1) numbers from the generator's Philox stream. */
    public static Tensor rand(Generator gen, DType dtype, Device device, int... shape) { return Creation.uniform(gen, 0, 1, dtype, device, shape); }
    /** Standard normal numbers from the generator's Philox stream. */
    public static Tensor randn(Generator gen, DType dtype, Device device, int... shape) { return Creation.normal(gen, 0, 1, dtype, device, shape); }
    public static Tensor randn(Generator gen, int... shape) { return randn(gen, DType.F32, Device.CPU, shape); }

    // ---- elementwise ----------------------------------------------------------------------------------------

    public Tensor add(Tensor other) { return Elementwise.binary(BinaryOp.ADD, this, other); }
    public Tensor sub(Tensor other) { return Elementwise.binary(BinaryOp.SUB, this, other); }
    public Tensor mul(Tensor other) { return Elementwise.binary(BinaryOp.MUL, this, other); }
    public Tensor div(Tensor other) { return Elementwise.binary(BinaryOp.DIV, this, other); }
    public Tensor pow(Tensor other) { return Elementwise.binary(BinaryOp.POW, this, other); }
    public Tensor maximum(Tensor other) { return Elementwise.binary(BinaryOp.MAXIMUM, this, other); }
    public Tensor minimum(Tensor other) { return Elementwise.binary(BinaryOp.MINIMUM, this, other); }
    public Tensor add(double s) { return Elementwise.scalar(BinaryOp.ADD, this, s, false); }
    public Tensor sub(double s) { return Elementwise.scalar(BinaryOp.SUB, this, s, false); }
    /** s - this */
    public Tensor rsub(double s) { return Elementwise.scalar(BinaryOp.SUB, this, s, true); }
    public Tensor mul(double s) { return Elementwise.scalar(BinaryOp.MUL, this, s, false); }
    public Tensor div(double s) { return Elementwise.scalar(BinaryOp.DIV, this, s, false); }
    public Tensor pow(double s) { return Elementwise.scalar(BinaryOp.POW, this, s, false); }
    public Tensor maximum(double s) { return Elementwise.scalar(BinaryOp.MAXIMUM, this, s, false); }
    public Tensor minimum(double s) { return Elementwise.scalar(BinaryOp.MINIMUM, this, s, false); }

    public Tensor eq(Tensor o) { return Elementwise.binary(BinaryOp.EQ, this, o); }
    public Tensor ne(Tensor o) { return Elementwise.binary(BinaryOp.NE, this, o); }
    public Tensor lt(Tensor o) { return Elementwise.binary(BinaryOp.LT, this, o); }
    public Tensor le(Tensor o) { return Elementwise.binary(BinaryOp.LE, this, o); }
    public Tensor gt(Tensor o) { return Elementwise.binary(BinaryOp.GT, this, o); }
    public Tensor ge(Tensor o) { return Elementwise.binary(BinaryOp.GE, this, o); }
    public Tensor eq(double s) { return Elementwise.scalar(BinaryOp.EQ, this, s, false); }
    public Tensor ne(double s) { return Elementwise.scalar(BinaryOp.NE, this, s, false); }
    public Tensor lt(double s) { return Elementwise.scalar(BinaryOp.LT, this, s, false); }
    public Tensor le(double s) { return Elementwise.scalar(BinaryOp.LE, this, s, false); }
    public Tensor gt(double s) { return Elementwise.scalar(BinaryOp.GT, this, s, false); }
    public Tensor ge(double s) { return Elementwise.scalar(BinaryOp.GE, this, s, false); }
    public Tensor and(Tensor o) { return Elementwise.binary(BinaryOp.AND, this, o); }
    public Tensor or(Tensor o) { return Elementwise.binary(BinaryOp.OR, this, o); }
    public Tensor not() { return Elementwise.unary(UnaryOp.NOT, this); }

    public Tensor neg() { return Elementwise.unary(UnaryOp.NEG, this); }
    public Tensor abs() { return Elementwise.unary(UnaryOp.ABS, this); }
    public Tensor exp() { return Elementwise.unary(UnaryOp.EXP, this); }
    public Tensor log() { return Elementwise.unary(UnaryOp.LOG, this); }
    public Tensor sqrt() { return Elementwise.unary(UnaryOp.SQRT, this); }
    public Tensor rsqrt() { return Elementwise.unary(UnaryOp.RSQRT, this); }
    public Tensor square() { return Elementwise.unary(UnaryOp.SQUARE, this); }
    public Tensor reciprocal() { return Elementwise.unary(UnaryOp.RECIPROCAL, this); }
    public Tensor sin() { return Elementwise.unary(UnaryOp.SIN, this); }
    public Tensor cos() { return Elementwise.unary(UnaryOp.COS, this); }
    public Tensor tanh() { return Elementwise.unary(UnaryOp.TANH, this); }
    public Tensor sigmoid() { return Elementwise.unary(UnaryOp.SIGMOID, this); }
    public Tensor relu() { return Elementwise.unary(UnaryOp.RELU, this); }
    /** GELU, tanh approximation (as GPT-2). */
    public Tensor gelu() { return Elementwise.unary(UnaryOp.GELU, this); }
    public Tensor sign() { return Elementwise.unary(UnaryOp.SIGN, this); }

    /** cond ? a : b, broadcasting all three. */
    public static Tensor where(Tensor cond, Tensor a, Tensor b) { return Elementwise.where(cond, a, b); }
    /** This tensor with value where mask (BOOL, broadcastable) is true. */
    public Tensor maskedFill(Tensor mask, double value) { return Elementwise.maskedFill(this, mask, value); }

    // ---- reductions ------------------------------------------------------------------------------------------

    public Tensor sum() { return Reductions.reduceAll(ReduceOp.SUM, this); }
    public Tensor sum(int dim, boolean keepDim) { return Reductions.reduce(ReduceOp.SUM, this, new int[]{dim}, keepDim); }
    public Tensor sum(int[] dims, boolean keepDim) { return Reductions.reduce(ReduceOp.SUM, this, dims, keepDim); }
    public Tensor mean() { return Reductions.reduceAll(ReduceOp.MEAN, this); }
    public Tensor mean(int dim, boolean keepDim) { return Reductions.reduce(ReduceOp.MEAN, this, new int[]{dim}, keepDim); }
    public Tensor mean(int[] dims, boolean keepDim) { return Reductions.reduce(ReduceOp.MEAN, this, dims, keepDim); }
    public Tensor max() { return Reductions.reduceAll(ReduceOp.MAX, this); }
    public Tensor max(int dim, boolean keepDim) { return Reductions.reduce(ReduceOp.MAX, this, new int[]{dim}, keepDim); }
    public Tensor min() { return Reductions.reduceAll(ReduceOp.MIN, this); }
    public Tensor min(int dim, boolean keepDim) { return Reductions.reduce(ReduceOp.MIN, this, new int[]{dim}, keepDim); }
    public Tensor max(int[] dims, boolean keepDim) { return Reductions.reduce(ReduceOp.MAX, this, dims, keepDim); }
    public Tensor min(int[] dims, boolean keepDim) { return Reductions.reduce(ReduceOp.MIN, this, dims, keepDim); }
    public Tensor argmax(int dim, boolean keepDim) { return Reductions.argReduce(true, this, dim, keepDim); }
    public Tensor argmin(int dim, boolean keepDim) { return Reductions.argReduce(false, this, dim, keepDim); }
    /** Variance over dims with Bessel-style correction (1 = unbiased, 0 = population). */
    public Tensor var(int[] dims, int correction, boolean keepDim) { return Reductions.var(this, dims, correction, keepDim); }

    // ---- linear algebra and neural-network ops ----------------------------------------------------------------

    /** Matrix product with NumPy semantics: 1-d operands promoted, batch dims broadcast. */
    public Tensor matmul(Tensor other) { return LinearAlgebra.matmul(this, other); }

    /** this (..., K) @ weight (K, N) + bias (N, or null) -> (..., N); see {@link LinearAlgebra#matmulAddBias}. */
    public Tensor matmulAddBias(Tensor weight, Tensor bias) { return LinearAlgebra.matmulAddBias(this, weight, bias); }
    public Tensor softmax(int dim) { return NeuralOps.softmax(this, dim, false); }
    public Tensor logSoftmax(int dim) { return NeuralOps.softmax(this, dim, true); }
    /** Layer norm over the last dim; weight and bias (size of the last dim) may be null. */
    public Tensor layerNorm(Tensor weight, Tensor bias, double eps) { return NeuralOps.layerNorm(this, weight, bias, eps); }
    /** Rows of weight (V, E) at ids (I32/I64, any shape): ids.shape + [E]. */
    public static Tensor embedding(Tensor weight, Tensor ids) { return NeuralOps.embedding(weight, ids); }
    /** Mean cross-entropy over rows whose target is not ignoreIndex; logits (N, C) or (..., C), targets (N) or (...). */
    public static Tensor crossEntropy(Tensor logits, Tensor targets, long ignoreIndex) { return NeuralOps.crossEntropy(logits, targets, ignoreIndex); }
    public static Tensor crossEntropy(Tensor logits, Tensor targets) { return crossEntropy(logits, targets, -100); }
    /** Over the first {@code classes} of logits' last dim (a padded vocabulary); see {@link NeuralOps#crossEntropy(Tensor, Tensor, long, int)}. */
    public static Tensor crossEntropy(Tensor logits, Tensor targets, long ignoreIndex, int classes) {
        return NeuralOps.crossEntropy(logits, targets, ignoreIndex, classes);
    }
    /** Zeroes each element with probability p (Philox mask from gen) and scales the rest by 1/(1-p). */
    public Tensor dropout(double p, Generator gen) { return NeuralOps.dropout(this, p, gen); }

    public static Tensor cat(List<Tensor> tensors, int dim) { return Joining.cat(tensors, dim); }
    public static Tensor stack(List<Tensor> tensors, int dim) { return Joining.stack(tensors, dim); }
    /** Views of consecutive pieces of {@code size} along dim (the last may be smaller). */
    public List<Tensor> split(int size, int dim) { return Joining.split(this, size, dim); }
    /** {@code chunks} nearly equal views along dim. */
    public List<Tensor> chunk(int chunks, int dim) { return Joining.chunk(this, chunks, dim); }

    // ---- in-place (not recorded by autograd; used by optimizers and gradient accumulation) -------------------

    /** Copies src (broadcast to this shape, converted to this dtype) into this tensor's elements. */
    public Tensor copyFrom(Tensor src) { Elementwise.copyInto(src, this); return this; }
    public Tensor fill(double value) { Elementwise.fillInPlace(this, value); return this; }
    public Tensor zero() { return fill(0); }
    /** this += other (broadcast), in place. */
    public Tensor addInPlace(Tensor other) { Elementwise.inPlace(BinaryOp.ADD, this, other); return this; }
    public Tensor mulInPlace(double s) { Elementwise.inPlaceScalar(BinaryOp.MUL, this, s); return this; }

    /** Releases the storage now (all views of it become unusable). */
    public void release() { storage.release(); }

    // ---- autograd ------------------------------------------------------------------------------------------------

    public boolean requiresGrad() { return requiresGrad; }

    /** Marks a leaf tensor as needing a gradient. Only floating-point leaves can. */
    public Tensor requiresGrad(boolean value) {
        if (gradFn != null)
            throw new IllegalStateException("requiresGrad: only leaf tensors can change it; this one was made by an op (use detach())");
        if (value && !dtype().isFloatingPoint())
            throw new IllegalArgumentException("requiresGrad: expected a floating-point tensor, got " + dtype());
        this.requiresGrad = value;
        return this;
    }

    /** The accumulated gradient of a leaf, or null. */
    public Tensor grad() { return grad; }
    public void setGrad(Tensor grad) { this.grad = grad; }
    public boolean isLeaf() { return gradFn == null; }
    /** The autograd node that made this tensor, or null (owned by the autograd module). */
    public Object gradFn() { return gradFn; }
    /** For the autograd module: attaches the node that made this tensor. */
    public void setGradFn(Object node) { this.gradFn = node; this.requiresGrad = node != null || requiresGrad; }

    /** Backpropagates from this scalar; gradients accumulate into leaves. */
    public void backward() { Recording.backward(this, null, false); }
    /** Backpropagates with an explicit gradient of this tensor's shape. */
    public void backward(Tensor gradient) { Recording.backward(this, gradient, false); }
    public void backward(Tensor gradient, boolean retainGraph) { Recording.backward(this, gradient, retainGraph); }

    @Override
    public String toString() { return HostData.format(this); }
}
