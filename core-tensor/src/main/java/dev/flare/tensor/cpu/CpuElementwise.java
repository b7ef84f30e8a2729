package dev.flare.tensor.cpu;

import dev.flare.tensor.Tensor;
import dev.flare.tensor.ops.BinaryOp;
import dev.flare.tensor.ops.UnaryOp;

/** PLACEHOLDER until the elementwise kernels land. */
final class CpuElementwise {
    private CpuElementwise() {}
    static void copy(Tensor src, Tensor dst) { throw new UnsupportedOperationException("todo"); }
    static void fill(Tensor dst, double value) { throw new UnsupportedOperationException("todo"); }
    static void unary(UnaryOp op, Tensor x, Tensor out) { throw new UnsupportedOperationException("todo"); }
    static void binary(BinaryOp op, Tensor a, Tensor b, Tensor out) { throw new UnsupportedOperationException("todo"); }
    static void binaryScalar(BinaryOp op, Tensor a, double s, boolean scalarFirst, Tensor out) { throw new UnsupportedOperationException("todo"); }
    static void where(Tensor cond, Tensor a, Tensor b, Tensor out) { throw new UnsupportedOperationException("todo"); }
}
