package dev.flare.tensor.ops;

import dev.flare.tensor.DType;
import dev.flare.tensor.Shapes;
import dev.flare.tensor.Tensor;

import java.util.Arrays;

/** Reductions over dims: sum, mean, max, min, argmax/argmin, var. */
public final class Reductions {
    private Reductions() {}

    public static Tensor reduceAll(ReduceOp op, Tensor x) {
        int[] dims = new int[x.dim()];
        for (int i = 0; i < dims.length; i++) dims[i] = i;
        if (dims.length == 0) return reduce(op, ViewOps.view(x, 1), new int[]{0}, false);
        return reduce(op, x, dims, false);
    }

    /** Sorted, distinct, non-negative dims; the error names the argument. */
    static int[] normalizeDims(int[] dims, int rank) {
        if (dims.length == 0) throw new IllegalArgumentException("dims: expected at least one dim, got []");
        int[] d = new int[dims.length];
        for (int i = 0; i < dims.length; i++) d[i] = Shapes.dim("dims", dims[i], rank);
        Arrays.sort(d);
        for (int i = 1; i < d.length; i++)
            if (d[i] == d[i - 1]) throw new IllegalArgumentException("dims: expected distinct dims, got " + Arrays.toString(dims));
        return d;
    }

    public static Tensor reduce(ReduceOp op, Tensor x, int[] dims, boolean keepDim) {
        Checks.notNull("x", x);
        Checks.live(x);
        if (x.dtype() == DType.BOOL && op != ReduceOp.SUM)
            throw new IllegalArgumentException(op + ": not defined for BOOL tensors (cast first)");
        if (op == ReduceOp.MEAN) Checks.floating("mean", "x", x);
        int[] d = normalizeDims(dims, x.dim());
        int[] keptShape = x.shape();
        for (int k : d) {
            if ((op == ReduceOp.MAX || op == ReduceOp.MIN) && keptShape[k] == 0)
                throw new IllegalArgumentException(op + ": dim " + k + " of shape " + Shapes.str(x.shape()) + " is empty");
            keptShape[k] = 1;
        }
        // Sums of BOOL count trues (I64), as PyTorch.
        DType outType = x.dtype() == DType.BOOL ? DType.I64 : x.dtype();
        Tensor out = Tensor.empty(outType, x.device(), keptShape);
        x.backend().reduce(op, x, d, out);
        Tensor result = keepDim ? out : ViewOps.viewRaw(out, dropDims(keptShape, d));
        return Recording.needed(x) ? Recording.record(new OpCall.Reduce(op, x, d, keepDim, result), result) : result;
    }

    static int[] dropDims(int[] shape, int[] sortedDims) {
        int[] out = new int[shape.length - sortedDims.length];
        for (int i = 0, j = 0, k = 0; i < shape.length; i++) {
            if (k < sortedDims.length && sortedDims[k] == i) k++;
            else out[j++] = shape[i];
        }
        return out;
    }

    public static Tensor argReduce(boolean max, Tensor x, int dim, boolean keepDim) {
        Checks.notNull("x", x);
        Checks.live(x);
        int d = Shapes.dim("dim", dim, x.dim());
        if (x.size(d) == 0)
            throw new IllegalArgumentException((max ? "argmax" : "argmin") + ": dim " + d + " of shape "
                    + Shapes.str(x.shape()) + " is empty");
        if (x.dtype() == DType.BOOL) throw new IllegalArgumentException("argmax: not defined for BOOL tensors");
        int[] keptShape = x.shape();
        keptShape[d] = 1;
        Tensor out = Tensor.empty(DType.I64, x.device(), keptShape);
        x.backend().argReduce(max, x, d, out);
        return keepDim ? out : ViewOps.viewRaw(out, dropDims(keptShape, new int[]{d}));
    }

    /** Composed from differentiable ops, so autograd needs no formula of its own. */
    public static Tensor var(Tensor x, int[] dims, int correction, boolean keepDim) {
        Checks.floating("var", "x", x);
        if (correction < 0) throw new IllegalArgumentException("correction: expected >= 0, got " + correction);
        int[] d = normalizeDims(dims, x.dim());
        long n = 1;
        for (int k : d) n *= x.size(k);
        Tensor centered = x.sub(reduce(ReduceOp.MEAN, x, d, true));
        return reduce(ReduceOp.SUM, centered.square(), d, keepDim).div((double) Math.max(n - correction, 0));
    }
}
