package dev.flare.tensor.cpu;

import dev.flare.tensor.Backend;
import dev.flare.tensor.DType;
import dev.flare.tensor.Device;
import dev.flare.tensor.Storage;
import dev.flare.tensor.Tensor;
import dev.flare.tensor.ops.BinaryOp;
import dev.flare.tensor.ops.ReduceOp;
import dev.flare.tensor.ops.UnaryOp;

/** The host backend: Java arrays, multithreaded where it pays, the Vector API in the GEMM. */
public final class CpuBackend implements Backend {
    public static final CpuBackend INSTANCE = new CpuBackend();

    private CpuBackend() {}

    @Override public Device device() { return Device.CPU; }
    @Override public Storage allocate(DType dtype, long numel) { return new CpuStorage(dtype, numel); }
    @Override public long allocatedBytes() { return CpuMemory.stats().allocatedBytes(); }
    @Override public long peakAllocatedBytes() { return CpuMemory.stats().peakAllocatedBytes(); }
    @Override public void resetPeakAllocatedBytes() { CpuMemory.resetPeak(); }
    @Override public void copy(Tensor src, Tensor dst) { CpuElementwise.copy(src, dst); }
    @Override public void fill(Tensor dst, double value) { CpuElementwise.fill(dst, value); }
    @Override public void unary(UnaryOp op, Tensor x, Tensor out) { CpuElementwise.unary(op, x, out); }
    @Override public void binary(BinaryOp op, Tensor a, Tensor b, Tensor out) { CpuElementwise.binary(op, a, b, out); }
    @Override public void binaryScalar(BinaryOp op, Tensor a, double s, boolean scalarFirst, Tensor out) { CpuElementwise.binaryScalar(op, a, s, scalarFirst, out); }
    @Override public void where(Tensor cond, Tensor a, Tensor b, Tensor out) { CpuElementwise.where(cond, a, b, out); }
    @Override public void reduce(ReduceOp op, Tensor x, int[] dims, Tensor out) { CpuReduce.reduce(op, x, dims, out); }
    @Override public void argReduce(boolean max, Tensor x, int dim, Tensor out) { CpuReduce.argReduce(max, x, dim, out); }
    @Override public void matmul(Tensor a, Tensor b, Tensor out) { CpuMatmul.matmul(a, b, out); }
    @Override public void softmax(Tensor x, int dim, boolean log, Tensor out) { CpuNN.softmax(x, dim, log, out); }
    @Override public void softmaxBackward(Tensor y, Tensor dy, int dim, boolean log, Tensor dx) { CpuNN.softmaxBackward(y, dy, dim, log, dx); }
    @Override public void layerNorm(Tensor x, Tensor w, Tensor b, double eps, Tensor out, Tensor mean, Tensor rstd) { CpuNN.layerNorm(x, w, b, eps, out, mean, rstd); }
    @Override public void layerNormBackward(Tensor dy, Tensor x, Tensor w, Tensor mean, Tensor rstd, Tensor dx, Tensor dw, Tensor db) { CpuNN.layerNormBackward(dy, x, w, mean, rstd, dx, dw, db); }
    @Override public void geluBackward(Tensor x, Tensor dy, Tensor dx) { CpuNN.geluBackward(x, dy, dx); }
    @Override public void embedding(Tensor weight, Tensor ids, Tensor out) { CpuNN.embedding(weight, ids, out); }
    @Override public void embeddingBackward(Tensor dOut, Tensor ids, Tensor dWeight) { CpuNN.embeddingBackward(dOut, ids, dWeight); }
    @Override public void crossEntropy(Tensor logits, Tensor targets, long ignoreIndex, Tensor loss, Tensor lse) { CpuNN.crossEntropy(logits, targets, ignoreIndex, loss, lse); }
    @Override public void crossEntropyBackward(Tensor logits, Tensor targets, long ignoreIndex, Tensor lse, Tensor dLoss, Tensor dLogits) { CpuNN.crossEntropyBackward(logits, targets, ignoreIndex, lse, dLoss, dLogits); }
    @Override public void fillUniform(Tensor dst, long seed, long offset, double lo, double hi) { CpuRandom.fillUniform(dst, seed, offset, lo, hi); }
    @Override public void fillNormal(Tensor dst, long seed, long offset, double mean, double std) { CpuRandom.fillNormal(dst, seed, offset, mean, std); }
    @Override public void synchronize() {}
}
