package dev.flare.tensor.cpu;

import dev.flare.tensor.Tensor;

/** PLACEHOLDER until the NN kernels land. */
final class CpuNN {
    private CpuNN() {}
    static void softmax(Tensor x, int dim, boolean log, Tensor out) { throw new UnsupportedOperationException("todo"); }
    static void softmaxBackward(Tensor y, Tensor dy, int dim, boolean log, Tensor dx) { throw new UnsupportedOperationException("todo"); }
    static void layerNorm(Tensor x, Tensor w, Tensor b, double eps, Tensor out, Tensor mean, Tensor rstd) { throw new UnsupportedOperationException("todo"); }
    static void layerNormBackward(Tensor dy, Tensor x, Tensor w, Tensor mean, Tensor rstd, Tensor dx, Tensor dw, Tensor db) { throw new UnsupportedOperationException("todo"); }
    static void geluBackward(Tensor x, Tensor dy, Tensor dx) { throw new UnsupportedOperationException("todo"); }
    static void embedding(Tensor weight, Tensor ids, Tensor out) { throw new UnsupportedOperationException("todo"); }
    static void embeddingBackward(Tensor dOut, Tensor ids, Tensor dWeight) { throw new UnsupportedOperationException("todo"); }
    static void crossEntropy(Tensor logits, Tensor targets, long ignoreIndex, Tensor loss, Tensor lse) { throw new UnsupportedOperationException("todo"); }
    static void crossEntropyBackward(Tensor logits, Tensor targets, long ignoreIndex, Tensor lse, Tensor dLoss, Tensor dLogits) { throw new UnsupportedOperationException("todo"); }
}
