package dev.flare.tensor.cpu;

import dev.flare.tensor.Tensor;

/** PLACEHOLDER until CpuGemm lands. */
final class CpuMatmul {
    private CpuMatmul() {}
    static void matmul(Tensor a, Tensor b, Tensor out) { throw new UnsupportedOperationException("todo"); }
}
