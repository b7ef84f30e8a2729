package dev.flare.tensor.cuda;

import dev.flare.tensor.DType;
import dev.flare.tensor.Tensor;

/**
 * Launches {@code RandomKernels.cu}: Philox4x32-10 uniform and normal fills with the CPU's exact
 * (seed, offset, index) mapping (docs/random.md). BF16/F16 values are the F32 values rounded to nearest even.
 */
final class RandomKernels {
    private final CudaBackend backend;
    private final CudaModule module;

    RandomKernels(CudaBackend backend) {
        this.backend = backend;
        this.module = CudaModule.load(RandomKernels.class, backend.context());
    }

    void fill(boolean normal, Tensor dst, long seed, long offset, double a, double b) {
        long n = dst.numel();
        if (n == 0) return;
        if (!dst.isContiguous()) {
            Tensor tmp = backend.empty(dst.dtype(), dst.shape());
            try {
                fill(normal, tmp, seed, offset, a, b);
                backend.copy(tmp, dst);
            } finally {
                tmp.release();
            }
            return;
        }
        DType t = dst.dtype();
        String k = (normal ? "normal_" : "uniform_") + ElementwiseKernels.suffix(t);
        long blocks = t == DType.F64 ? Math.ceilDiv(n, 2) : Math.ceilDiv(n, 4);
        long p = backend.first(dst);
        if (t == DType.F64) {
            module.launch(k, CudaModule.blocksFor(blocks, 256), 256, 0, backend.stream(), n, seed, offset, a, b, p);
        } else {
            module.launch(k, CudaModule.blocksFor(blocks, 256), 256, 0, backend.stream(), n, seed, offset, (float) a, (float) b, p);
        }
    }
}
