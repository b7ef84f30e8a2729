package dev.flare.tensor.ops;

import dev.flare.tensor.DType;
import dev.flare.tensor.Device;
import dev.flare.tensor.Tensor;

import java.util.List;

/**
 * What the autograd module needs to know about one recorded op: its inputs, settings and any results it
 * saves for the backward. One record per differentiable op; the autograd module switches over them
 * exhaustively, so a new op cannot be added without its gradient.
 */
public sealed interface OpCall {
    /** The tensor inputs that gradients flow to, in order. */
    List<Tensor> inputs();

    record Unary(UnaryOp op, Tensor x, Tensor y) implements OpCall {
        public List<Tensor> inputs() { return List.of(x); }
    }
    record Binary(BinaryOp op, Tensor a, Tensor b, Tensor y) implements OpCall {
        public List<Tensor> inputs() { return List.of(a, b); }
    }
    /** op(x, s), or op(s, x) when scalarFirst. */
    record Scalar(BinaryOp op, Tensor x, double s, boolean scalarFirst, Tensor y) implements OpCall {
        public List<Tensor> inputs() { return List.of(x); }
    }
    record Where(Tensor cond, Tensor a, Tensor b) implements OpCall {
        public List<Tensor> inputs() { return List.of(a, b); }
    }
    /** dims sorted and distinct; y is the result with keepDim applied as requested. */
    record Reduce(ReduceOp op, Tensor x, int[] dims, boolean keepDim, Tensor y) implements OpCall {
        public List<Tensor> inputs() { return List.of(x); }
    }
    record Matmul(Tensor a, Tensor b) implements OpCall {
        public List<Tensor> inputs() { return List.of(a, b); }
    }
    /** x (M, K) @ w (K, N) + bias (N); bias may be null. */
    record MatmulAddBias(Tensor x, Tensor w, Tensor bias) implements OpCall {
        public List<Tensor> inputs() { return java.util.Arrays.asList(x, w, bias); }
    }
    record Softmax(Tensor x, int dim, boolean log, Tensor y) implements OpCall {
        public List<Tensor> inputs() { return List.of(x); }
    }
    /** weight and bias may be null; mean/rstd are the statistics saved by the forward (F32, F64 for F64 x). */
    record LayerNorm(Tensor x, Tensor weight, Tensor bias, double eps, Tensor mean, Tensor rstd) implements OpCall {
        public List<Tensor> inputs() {
            return java.util.Arrays.asList(x, weight, bias);
        }
    }
    record Embedding(Tensor weight, Tensor ids) implements OpCall {
        public List<Tensor> inputs() { return List.of(weight); }
    }
    /** logits2d is (N, C), targets1d (N); count is the number of non-ignored rows (the mean's divisor). */
    record CrossEntropy(Tensor logits, Tensor logits2d, Tensor targets1d, long ignoreIndex, Tensor lse, long count)
            implements OpCall {
        public List<Tensor> inputs() { return List.of(logits); }
    }
    record Cast(Tensor x, DType to) implements OpCall {
        public List<Tensor> inputs() { return List.of(x); }
    }
    record ToDevice(Tensor x, Device to) implements OpCall {
        public List<Tensor> inputs() { return List.of(x); }
    }
    /** Any view that only changes the shape (view, reshape, squeeze, unsqueeze, flatten) or a copy. */
    record Reshape(Tensor x) implements OpCall {
        public List<Tensor> inputs() { return List.of(x); }
    }
    record Permute(Tensor x, int[] dims) implements OpCall {
        public List<Tensor> inputs() { return List.of(x); }
    }
    record Narrow(Tensor x, int dim, int start, int length) implements OpCall {
        public List<Tensor> inputs() { return List.of(x); }
    }
    record Expand(Tensor x) implements OpCall {
        public List<Tensor> inputs() { return List.of(x); }
    }
    record Cat(List<Tensor> xs, int dim) implements OpCall {
        public List<Tensor> inputs() { return xs; }
    }
    /** A differentiable function defined outside the core (attention kernels, ...). */
    record Custom(Object function, List<Tensor> inputs) implements OpCall {}
}
