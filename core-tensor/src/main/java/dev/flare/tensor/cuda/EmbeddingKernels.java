package dev.flare.tensor.cuda;

import dev.flare.tensor.DType;
import dev.flare.tensor.Tensor;

/**
 * Launches {@code EmbeddingKernels.cu}: row gather, and scatter-add with F32/F64 atomics (BF16/F16 weights
 * accumulate in an F32 copy). Atomics make the backward's summation order, and so its last bits, vary from run to
 * run when ids repeat.
 */
final class EmbeddingKernels {
    private final CudaBackend backend;
    private final CudaModule module;

    EmbeddingKernels(CudaBackend backend) {
        this.backend = backend;
        this.module = CudaModule.load(EmbeddingKernels.class, backend.context());
    }

    private static String idSuffix(DType t) { return t == DType.I32 ? "i32" : "i64"; }

    void forward(Tensor weight, Tensor ids, Tensor out) {
        long n = ids.numel(), dim = weight.size(1);
        if (n == 0 || dim == 0) return;
        Tensor idc = ids.isContiguous() ? ids : backend.contiguousCopy(ids);
        Tensor oc = out.isContiguous() ? out : backend.empty(out.dtype(), out.shape());
        try {
            module.launch("embedding_fwd_e" + weight.dtype().byteSize() + "_" + idSuffix(ids.dtype()),
                    Math.ceilDiv(dim, 256), (int) Math.min(n, 65535), 256, 1, 0, backend.stream(),
                    n, dim, backend.first(idc), backend.address(weight), weight.offset(), weight.stride(0), weight.stride(1),
                    backend.first(oc));
            if (oc != out) backend.copy(oc, out);
        } finally {
            if (idc != ids) idc.release();
            if (oc != out) oc.release();
        }
    }

    void backward(Tensor dOut, Tensor ids, Tensor dWeight) {
        long n = ids.numel(), dim = dWeight.size(1);
        if (n == 0 || dim == 0) return;
        DType acc = dWeight.dtype() == DType.F64 ? DType.F64 : DType.F32;
        Tensor idc = ids.isContiguous() ? ids : backend.contiguousCopy(ids);
        Tensor g = dOut.dtype() == acc && dOut.isContiguous() ? dOut : backend.convertedCopy(dOut, acc);
        Tensor dw = dWeight.dtype() == acc ? dWeight : backend.convertedCopy(dWeight, acc);
        try {
            module.launch("embedding_bwd_" + ElementwiseKernels.suffix(acc) + "_" + idSuffix(ids.dtype()),
                    Math.ceilDiv(dim, 256), (int) Math.min(n, 65535), 256, 1, 0, backend.stream(),
                    n, dim, backend.first(idc), backend.first(g), backend.address(dw), dw.offset(), dw.stride(0), dw.stride(1));
            if (dw != dWeight) backend.copy(dw, dWeight);
        } finally {
            if (idc != ids) idc.release();
            if (g != dOut) g.release();
            if (dw != dWeight) dw.release();
        }
    }
}
