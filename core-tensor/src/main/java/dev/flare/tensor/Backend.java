package dev.flare.tensor;

import dev.flare.tensor.ops.BinaryOp;
import dev.flare.tensor.ops.ReduceOp;
import dev.flare.tensor.ops.UnaryOp;

/**
 * The kernels of one device kind. The op layer ({@code dev.flare.tensor.ops}) has already validated
 * arguments, computed output shapes, expanded broadcast operands to the output's shape (stride 0 where
 * broadcast) and allocated every output; a backend only computes. Inputs may have any strides (views);
 * outputs are freshly allocated contiguous tensors, except for the elementwise methods (copy, fill, unary,
 * binary, binaryScalar, where), whose output may be any non-overlapping strided view and may be the very same
 * view as an input (in-place updates). All tensors passed to a
 * call live on this backend's device. Floating-point math on BF16/F16 is done in F32.
 */
public interface Backend {
    Device device();

    Storage allocate(DType dtype, long numel);

    /**
     * Bytes of tensor storage allocated on this device now (on CUDA the caching allocator's blocks in use, rounded to
     * their size classes; cached free blocks not counted): what diagnostics such as autograd's memory trace sample.
     */
    long allocatedBytes();

    /** The highest {@link #allocatedBytes()} since the last {@link #resetPeakAllocatedBytes()} (or the start). */
    long peakAllocatedBytes();

    /** Sets the peak to the bytes allocated now, to measure the peak of one phase (a step, one op). */
    void resetPeakAllocatedBytes();

    /** dst[i] = convert(src[i]); same shape; any strides on both sides (dst may be a strided view). */
    void copy(Tensor src, Tensor dst);

    /** Every element of dst (any strides) set to value, converted to dst's dtype. */
    void fill(Tensor dst, double value);

    void unary(UnaryOp op, Tensor x, Tensor out);

    /** a and b have out's shape (broadcast as stride 0). Comparisons write BOOL. */
    void binary(BinaryOp op, Tensor a, Tensor b, Tensor out);

    /** out = op(a, scalar), or op(scalar, a) when {@code scalarFirst}. */
    void binaryScalar(BinaryOp op, Tensor a, double scalar, boolean scalarFirst, Tensor out);

    /** out = cond ? a : b, all of out's shape; cond is BOOL. */
    void where(Tensor cond, Tensor a, Tensor b, Tensor out);

    /** Reduces x over {@code dims} (sorted, distinct); out has x's rank with those dims of size 1. */
    void reduce(ReduceOp op, Tensor x, int[] dims, Tensor out);

    /** Index (I64) of the max (or min) along dim, first one on ties; out has x's rank with dim of size 1. */
    void argReduce(boolean max, Tensor x, int dim, Tensor out);

    /**
     * out[..., m, n] = sum_k a[..., m, k] b[..., k, n]. a is (batch..., M, K) and b (batch..., K, N), both with
     * out's batch dims (broadcast as stride 0); out is contiguous (batch..., M, N). Accumulates in F32 (F64 for F64).
     */
    void matmul(Tensor a, Tensor b, Tensor out);

    /**
     * out (M, N) = x (M, K) @ w (K, N) + bias (N, or null for none): a Linear layer in one call, so a backend can
     * fuse the bias into the GEMM (cuBLASLt's bias epilogue). out is contiguous. This default is the two ops.
     */
    default void matmulAddBias(Tensor x, Tensor w, Tensor bias, Tensor out) {
        matmul(x, w, out);
        if (bias == null) return;
        Tensor rows = Tensor.of(bias.storage(), out.shape(), new long[]{0, bias.stride(0)}, bias.offset());
        binary(BinaryOp.ADD, out, rows, out);
    }

    /** Softmax (or log-softmax) along dim, computed stably in F32 or better. */
    void softmax(Tensor x, int dim, boolean log, Tensor out);

    /** dx from y = softmax(x) (or log-softmax) and dy, along dim. */
    void softmaxBackward(Tensor y, Tensor dy, int dim, boolean log, Tensor dx);

    /**
     * Layer norm over the last dim: out = (x - mean) * rstd * w + b. weight/bias may be null (then 1 / 0).
     * mean and rstd are F32 tensors (F64 for F64 x) of x's shape without its last dim; they are saved for the backward.
     */
    void layerNorm(Tensor x, Tensor weight, Tensor bias, double eps, Tensor out, Tensor mean, Tensor rstd);

    /** Gradients of layerNorm. dWeight/dBias may be null (not wanted); when given they are overwritten. */
    void layerNormBackward(Tensor dy, Tensor x, Tensor weight, Tensor mean, Tensor rstd,
                           Tensor dx, Tensor dWeight, Tensor dBias);

    /** dx = dy * gelu'(x) for the tanh form of GELU. */
    void geluBackward(Tensor x, Tensor dy, Tensor dx);

    /** out[..., :] = weight[ids[...], :]; ids are I32 or I64 and were range-checked by the op layer. */
    void embedding(Tensor weight, Tensor ids, Tensor out);

    /** dWeight[ids[...], :] += dOut[..., :] (scatter-add; dWeight is zeroed by the caller). */
    void embeddingBackward(Tensor dOut, Tensor ids, Tensor dWeight);

    /**
     * Per-row cross-entropy of logits (N, C) against targets (N) (I32/I64): loss[n] = lse[n] - logits[n, t],
     * and 0 where t == ignoreIndex. lossPerRow and lse are F32 (N), F64 for F64 logits. Targets were range-checked by the op layer.
     */
    void crossEntropy(Tensor logits, Tensor targets, long ignoreIndex, Tensor lossPerRow, Tensor lse);

    /**
     * dLogits[n, c] = dLoss[n] * (softmax(logits)[n, c] - [c == t]), and 0 on ignored rows. dLoss has lse's dtype,
     * shape (N), and may be a stride-0 expand of one value. dLogits may be a row-strided view (the first C columns of
     * a wider gradient, for a padded vocabulary).
     */
    void crossEntropyBackward(Tensor logits, Tensor targets, long ignoreIndex, Tensor lse, Tensor dLoss, Tensor dLogits);

    /** Uniform [lo, hi) numbers from Philox4x32-10 keyed by seed, blocks counted from offset; dst contiguous. */
    void fillUniform(Tensor dst, long seed, long offset, double lo, double hi);

    /** Normal numbers (Box-Muller over Philox4x32-10), as {@link #fillUniform}. */
    void fillNormal(Tensor dst, long seed, long offset, double mean, double std);

    /** Waits until all work queued on this device is done. */
    void synchronize();
}
