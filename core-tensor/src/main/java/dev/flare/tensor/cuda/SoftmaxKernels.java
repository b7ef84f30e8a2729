package dev.flare.tensor.cuda;

import dev.flare.tensor.Tensor;

/** Launches {@code SoftmaxKernels.cu}: softmax / log-softmax along a dim, forward and backward, one block per row. */
final class SoftmaxKernels {
    private final CudaBackend backend;
    private final CudaModule module;

    SoftmaxKernels(CudaBackend backend) {
        this.backend = backend;
        this.module = CudaModule.load(SoftmaxKernels.class, backend.context());
    }

    /** Threads per row: about 4 elements per thread, a power of two in [32, 1024]. */
    static int rowThreads(long len) {
        long want = Math.max(32, Math.min(1024, Math.ceilDiv(len, 4)));
        int t = Integer.highestOneBit((int) want);
        return t < want ? Math.min(1024, t << 1) : t;
    }

    void forward(Tensor x, int dim, boolean log, Tensor out) {
        long[] g = backend.rows(dim, x, out);
        if (g == null) {
            backend.viaRowsLast(dim, new Tensor[]{x}, new Tensor[]{out},
                    (in, outs) -> forward(in[0], in[0].dim() - 1, log, outs[0]));
            return;
        }
        long rows = g[1], len = x.size(dim);
        if (rows == 0 || len == 0) return;
        module.launch("softmax_fwd_" + ElementwiseKernels.suffix(x.dtype()), CudaModule.blocksFor(rows, 1), rowThreads(len), 0,
                backend.stream(), g, log ? 1 : 0, backend.address(x), backend.address(out));
    }

    void backward(Tensor y, Tensor dy, int dim, boolean log, Tensor dx) {
        long[] g = backend.rows(dim, y, dy, dx);
        if (g == null) {
            backend.viaRowsLast(dim, new Tensor[]{y, dy}, new Tensor[]{dx},
                    (in, outs) -> backward(in[0], in[1], in[0].dim() - 1, log, outs[0]));
            return;
        }
        long rows = g[1], len = y.size(dim);
        if (rows == 0 || len == 0) return;
        module.launch("softmax_bwd_" + ElementwiseKernels.suffix(y.dtype()), CudaModule.blocksFor(rows, 1), rowThreads(len), 0,
                backend.stream(), g, log ? 1 : 0, backend.address(y), backend.address(dy), backend.address(dx));
    }
}
