package dev.flare.tensor.cuda;

import dev.flare.tensor.DType;
import dev.flare.tensor.Tensor;

/**
 * Launches {@code GeluKernels.cu}: dx = dy * gelu'(x) over any strides; contiguous, 16-byte aligned F32/BF16/F16
 * operands take the vectorized kernel (same math; the strided kernel is its reference).
 */
final class GeluKernels {
    private final CudaBackend backend;
    private final CudaModule module;

    GeluKernels(CudaBackend backend) {
        this.backend = backend;
        this.module = CudaModule.load(GeluKernels.class, backend.context());
    }

    void backward(Tensor x, Tensor dy, Tensor dx) {
        StridedGeometry g = StridedGeometry.of(x.shape(), x, dy, dx);
        DType t = x.dtype();
        if (g.isEmpty()) return;
        if (g.isFlat() && (t == DType.F32 || t == DType.BF16 || t == DType.F16)
                && ((backend.first(x) | backend.first(dy) | backend.first(dx)) & 15) == 0) {
            module.launch("gelu_bwd_vec_" + ElementwiseKernels.suffix(t), ElementwiseKernels.vecBlocks(g.numel, t),
                    ElementwiseKernels.THREADS, 0, backend.stream(), g.numel, backend.first(x), backend.first(dy), backend.first(dx));
            return;
        }
        long xp = backend.address(x), gp = backend.address(dy), op = backend.address(dx);
        String k = "gelu_bwd_" + ElementwiseKernels.suffix(x.dtype());
        g.forEachLaunch(st -> module.launch(k, CudaModule.blocksFor(st[1], 256), 256, 0, backend.stream(), st, xp, gp, op));
    }
}
