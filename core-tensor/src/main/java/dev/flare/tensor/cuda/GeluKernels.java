package dev.flare.tensor.cuda;

import dev.flare.tensor.DType;
import dev.flare.tensor.Tensor;

/**
 * Launches {@code GeluKernels.cu}: GELU (tanh form) forward and backward. Contiguous, 16-byte aligned F32/BF16/F16
 * operands take the vectorized fast-math kernels; other layouts go to the strided kernels (backward) or the
 * generic unary kernels (forward), which are their references.
 */
final class GeluKernels {
    private final CudaBackend backend;
    private final CudaModule module;

    GeluKernels(CudaBackend backend) {
        this.backend = backend;
        this.module = CudaModule.load(GeluKernels.class, backend.context());
    }

    /** y = gelu(x) if the vector kernel takes these operands (then true); false leaves it to the generic kernels. */
    boolean forward(Tensor x, Tensor y) {
        StridedGeometry g = StridedGeometry.of(y.shape(), x, y);
        if (g.isEmpty() || !vectorizable(g, x.dtype(), x, y)) return false;
        module.launch("gelu_fwd_vec_" + ElementwiseKernels.suffix(x.dtype()), ElementwiseKernels.vecBlocks(g.numel, x.dtype()),
                ElementwiseKernels.THREADS, 0, backend.stream(), g.numel, backend.first(x), backend.first(y));
        return true;
    }

    void backward(Tensor x, Tensor dy, Tensor dx) {
        StridedGeometry g = StridedGeometry.of(x.shape(), x, dy, dx);
        DType t = x.dtype();
        if (g.isEmpty()) return;
        if (vectorizable(g, t, x, dy, dx)) {
            module.launch("gelu_bwd_vec_" + ElementwiseKernels.suffix(t), ElementwiseKernels.vecBlocks(g.numel, t),
                    ElementwiseKernels.THREADS, 0, backend.stream(), g.numel, backend.first(x), backend.first(dy), backend.first(dx));
            return;
        }
        long xp = backend.address(x), gp = backend.address(dy), op = backend.address(dx);
        String k = "gelu_bwd_" + ElementwiseKernels.suffix(x.dtype());
        g.forEachLaunch(st -> module.launch(k, CudaModule.blocksFor(st[1], 256), 256, 0, backend.stream(), st, xp, gp, op));
    }

    /** Contiguous F32/BF16/F16 operands whose first elements are 16-byte aligned. */
    private boolean vectorizable(StridedGeometry g, DType t, Tensor... ts) {
        if (!g.isFlat() || !(t == DType.F32 || t == DType.BF16 || t == DType.F16)) return false;
        for (Tensor x : ts) if ((backend.first(x) & 15) != 0) return false;
        return true;
    }
}
