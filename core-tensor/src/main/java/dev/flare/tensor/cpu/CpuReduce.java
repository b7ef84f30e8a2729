package dev.flare.tensor.cpu;

import dev.flare.tensor.Tensor;
import dev.flare.tensor.ops.ReduceOp;

/** PLACEHOLDER until the reduction kernels land. */
final class CpuReduce {
    private CpuReduce() {}
    static void reduce(ReduceOp op, Tensor x, int[] dims, Tensor out) { throw new UnsupportedOperationException("todo"); }
    static void argReduce(boolean max, Tensor x, int dim, Tensor out) { throw new UnsupportedOperationException("todo"); }
}
