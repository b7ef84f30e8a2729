package dev.flare.tensor.cuda;

import dev.flare.tensor.DType;
import dev.flare.tensor.Tensor;

/** Launches {@code CrossEntropyKernels.cu}: fused softmax + cross-entropy over (N, C) logits, forward and backward. */
final class CrossEntropyKernels {
    private final CudaBackend backend;
    private final CudaModule module;

    CrossEntropyKernels(CudaBackend backend) {
        this.backend = backend;
        this.module = CudaModule.load(CrossEntropyKernels.class, backend.context());
    }

    private static String name(String op, Tensor logits, Tensor targets) {
        return op + "_" + ElementwiseKernels.suffix(logits.dtype()) + "_" + (targets.dtype() == DType.I32 ? "i32" : "i64");
    }

    void forward(Tensor logits, Tensor targets, long ignoreIndex, Tensor loss, Tensor lse) {
        long n = logits.size(0), c = logits.size(1);
        if (n == 0) return;
        module.launch(name("ce_fwd", logits, targets), CudaModule.blocksFor(n, 1), SoftmaxKernels.rowThreads(c), 0, backend.stream(),
                n, c, backend.address(logits), logits.offset(), logits.stride(0), logits.stride(1),
                backend.address(targets), targets.offset(), targets.stride(0), ignoreIndex,
                backend.address(loss), loss.offset(), loss.stride(0), backend.address(lse), lse.offset(), lse.stride(0));
    }

    void backward(Tensor logits, Tensor targets, long ignoreIndex, Tensor lse, Tensor dLoss, Tensor dLogits) {
        long n = logits.size(0), c = logits.size(1);
        if (n == 0 || c == 0) return;
        module.launch(name("ce_bwd", logits, targets), CudaModule.blocksFor(n, 1), SoftmaxKernels.rowThreads(c), 0, backend.stream(),
                n, c, backend.address(logits), logits.offset(), logits.stride(0), logits.stride(1),
                backend.address(targets), targets.offset(), targets.stride(0), ignoreIndex,
                backend.address(lse), lse.offset(), lse.stride(0), backend.address(dLoss), dLoss.offset(), dLoss.stride(0),
                backend.address(dLogits), dLogits.offset(), dLogits.stride(0), dLogits.stride(1));
    }
}
