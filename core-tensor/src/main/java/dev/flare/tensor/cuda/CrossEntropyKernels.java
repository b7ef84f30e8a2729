package dev.flare.tensor.cuda;

import dev.flare.tensor.DType;
import dev.flare.tensor.Tensor;

/**
 * Launches {@code CrossEntropyKernels.cu}: fused softmax + cross-entropy over (N, C) logits, forward and backward.
 * Both directions read (and the backward writes) 16-byte packs when the rows allow ({@link #vectorRows}); the strided
 * kernels are their reference.
 */
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
        if (vectorRows(logits)) {
            module.launch(name("ce_fwd_vec", logits, targets), CudaModule.blocksFor(n, 1), SoftmaxKernels.rowThreads(c / 8), 0,
                    backend.stream(), n, c, backend.address(logits), logits.offset(), logits.stride(0),
                    backend.address(targets), targets.offset(), targets.stride(0), ignoreIndex,
                    backend.address(loss), loss.offset(), loss.stride(0), backend.address(lse), lse.offset(), lse.stride(0));
            return;
        }
        module.launch(name("ce_fwd", logits, targets), CudaModule.blocksFor(n, 1), SoftmaxKernels.rowThreads(c), 0, backend.stream(),
                n, c, backend.address(logits), logits.offset(), logits.stride(0), logits.stride(1),
                backend.address(targets), targets.offset(), targets.stride(0), ignoreIndex,
                backend.address(loss), loss.offset(), loss.stride(0), backend.address(lse), lse.offset(), lse.stride(0));
    }

    /**
     * True when every row of the (N, C) tensor starts on a 16-byte boundary with its classes contiguous (F32/BF16/F16):
     * the kernels then read (and the backward writes) whole 16-byte packs. A padded vocabulary's rows qualify,
     * GPT-2's 50257 classes in rows of 50304, for the logits and for their full-width gradient.
     */
    private boolean vectorRows(Tensor logits) {
        DType t = logits.dtype();
        if (t != DType.F32 && t != DType.BF16 && t != DType.F16) return false;
        int pack = 16 / t.byteSize();
        return logits.stride(1) == 1 && (logits.size(0) == 1 || logits.stride(0) % pack == 0)
                && (backend.first(logits) & 15) == 0;
    }

    void backward(Tensor logits, Tensor targets, long ignoreIndex, Tensor lse, Tensor dLoss, Tensor dLogits) {
        long n = logits.size(0), c = logits.size(1);
        if (n == 0 || c == 0) return;
        if (vectorRows(logits) && vectorRows(dLogits) && dLogits.dtype() == logits.dtype()) {
            module.launch(name("ce_bwd_vec", logits, targets), CudaModule.blocksFor(n, 1), SoftmaxKernels.rowThreads(c / 8), 0,
                    backend.stream(), n, c, backend.address(logits), logits.offset(), logits.stride(0),
                    backend.address(targets), targets.offset(), targets.stride(0), ignoreIndex,
                    backend.address(lse), lse.offset(), lse.stride(0), backend.address(dLoss), dLoss.offset(), dLoss.stride(0),
                    backend.address(dLogits), dLogits.offset(), dLogits.stride(0));
            return;
        }
        module.launch(name("ce_bwd", logits, targets), CudaModule.blocksFor(n, 1), SoftmaxKernels.rowThreads(c), 0, backend.stream(),
                n, c, backend.address(logits), logits.offset(), logits.stride(0), logits.stride(1),
                backend.address(targets), targets.offset(), targets.stride(0), ignoreIndex,
                backend.address(lse), lse.offset(), lse.stride(0), backend.address(dLoss), dLoss.offset(), dLoss.stride(0),
                backend.address(dLogits), dLogits.offset(), dLogits.stride(0), dLogits.stride(1));
    }
}
