package dev.flare.tensor.cuda;

import dev.flare.tensor.Tensor;

/** Launches {@code GeluKernels.cu}: dx = dy * gelu'(x) over any strides. */
final class GeluKernels {
    private final CudaBackend backend;
    private final CudaModule module;

    GeluKernels(CudaBackend backend) {
        this.backend = backend;
        this.module = CudaModule.load(GeluKernels.class, backend.context());
    }

    void backward(Tensor x, Tensor dy, Tensor dx) {
        StridedGeometry g = StridedGeometry.of(x.shape(), x, dy, dx);
        long xp = backend.address(x), gp = backend.address(dy), op = backend.address(dx);
        String k = "gelu_bwd_" + ElementwiseKernels.suffix(x.dtype());
        g.forEachLaunch(st -> module.launch(k, CudaModule.blocksFor(st[1], 256), 256, 0, backend.stream(), st, xp, gp, op));
    }
}
