package dev.flare.tensor.cpu;

import dev.flare.tensor.Tensor;

/** PLACEHOLDER until Philox lands. */
final class CpuRandom {
    private CpuRandom() {}
    static void fillUniform(Tensor dst, long seed, long offset, double lo, double hi) { throw new UnsupportedOperationException("todo"); }
    static void fillNormal(Tensor dst, long seed, long offset, double mean, double std) { throw new UnsupportedOperationException("todo"); }
}
