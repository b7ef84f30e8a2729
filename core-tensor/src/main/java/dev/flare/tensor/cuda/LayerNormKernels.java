package dev.flare.tensor.cuda;

import dev.flare.tensor.DType;
import dev.flare.tensor.Tensor;

/**
 * Launches {@code LayerNormKernels.cu}: layer norm over the last dim (forward with saved mean/rstd, backward dx),
 * and dWeight/dBias as a deterministic two-stage column reduction.
 */
final class LayerNormKernels {
    private final CudaBackend backend;
    private final CudaModule module;

    LayerNormKernels(CudaBackend backend) {
        this.backend = backend;
        this.module = CudaModule.load(LayerNormKernels.class, backend.context());
    }

    private static String suffix(DType t) { return ElementwiseKernels.suffix(t); }

    /** Contiguous-in-row views of the row statistics (shape of x without its last dim) as (rows..., 1). */
    private static Tensor asColumn(Tensor stat) {
        int r = stat.dim();
        int[] shape = java.util.Arrays.copyOf(stat.shape(), r + 1);
        shape[r] = 1;
        long[] st = java.util.Arrays.copyOf(stat.strides(), r + 1);
        st[r] = 1;
        return Tensor.of(stat.storage(), shape, st, stat.offset());
    }

    void forward(Tensor x, Tensor w, Tensor b, double eps, Tensor out, Tensor mean, Tensor rstd) {
        int last = x.dim() - 1;
        Tensor mc = asColumn(mean), rc = asColumn(rstd);
        long[] g = backend.rows(last, x, out, mc, rc);
        if (g == null) {
            backend.viaRowsLast(last, new Tensor[]{x}, new Tensor[]{out, mc, rc},
                    (in, outs) -> forwardRows(in[0], w, b, eps, outs[0], outs[1], outs[2]));
            return;
        }
        launchForward(g, x, w, b, eps, out, mean, rstd);
    }

    private void forwardRows(Tensor x, Tensor w, Tensor b, double eps, Tensor out, Tensor mc, Tensor rc) {
        int last = x.dim() - 1;
        long[] g = backend.rows(last, x, out, mc, rc);
        launchForward(g, x, w, b, eps, out, mc, rc);
    }

    private void launchForward(long[] g, Tensor x, Tensor w, Tensor b, double eps, Tensor out, Tensor mean, Tensor rstd) {
        long rows = g[1], len = x.size(-1);
        if (rows == 0) return;
        module.launch("layernorm_fwd_" + suffix(x.dtype()), CudaModule.blocksFor(rows, 1), SoftmaxKernels.rowThreads(len), 0,
                backend.stream(), g, backend.address(x), backend.address(out),
                w == null ? 0L : backend.address(w), w == null ? 0L : w.offset(), w == null ? 0L : w.stride(0),
                b == null ? 0L : backend.address(b), b == null ? 0L : b.offset(), b == null ? 0L : b.stride(0),
                backend.address(mean), backend.address(rstd), eps);
    }

    void backward(Tensor dy, Tensor x, Tensor w, Tensor mean, Tensor rstd, Tensor dx, Tensor dw, Tensor db) {
        int last = x.dim() - 1;
        Tensor mc = asColumn(mean), rc = asColumn(rstd);
        boolean params = dw != null || db != null;
        long[] gdx = dx == null ? new long[2] : backend.rows(last, dy, x, dx, mc, rc);
        long[] gp = params ? backend.rows(last, dy, x, mc, rc) : new long[2];
        if (gdx == null || gp == null) {
            Tensor[] outs = dx == null ? new Tensor[0] : new Tensor[]{dx};
            backend.viaRowsLast(last, new Tensor[]{dy, x, mc, rc}, outs,
                    (in, o) -> backward(in[0], in[1], w, dropLast(in[2]), dropLast(in[3]), dx == null ? null : o[0], dw, db));
            return;
        }
        long len = x.size(-1);
        String suf = suffix(x.dtype());
        CudaStream s = backend.stream();
        long wp = w == null ? 0L : backend.address(w), wo = w == null ? 0L : w.offset(), ws = w == null ? 0L : w.stride(0);
        if (dx != null && gdx[1] > 0 && len > 0) {
            module.launch("layernorm_bwd_dx_" + suf, CudaModule.blocksFor(gdx[1], 1), SoftmaxKernels.rowThreads(len), 0, s,
                    gdx, backend.address(dy), backend.address(x), backend.address(dx), wp, wo, ws,
                    backend.address(mean), backend.address(rstd));
        }
        if (!params || len == 0) return;
        long rows = gp[1];
        int chunks = (int) Math.min(Math.ceilDiv(rows, 32), 512);
        long rowsPerChunk = chunks == 0 ? 1 : Math.ceilDiv(rows, chunks);
        int acc = x.dtype() == DType.F64 ? 8 : 4;
        CachingAllocator.Block partial = chunks == 0 ? null : backend.scratch(2L * chunks * len * acc);
        try {
            long pw = partial == null ? 0L : partial.address(), pb = partial == null ? 0L : partial.address() + (long) chunks * len * acc;
            if (chunks > 0) {
                module.launch("layernorm_dwdb_partial_" + suf, Math.ceilDiv(len, 32), chunks, 32, 8, 0, s,
                        gp, backend.address(dy), backend.address(x), backend.address(mean), backend.address(rstd),
                        rowsPerChunk, pw, pb);
            }
            module.launch("layernorm_dwdb_final_" + suf, CudaModule.blocksFor(len, 256), 256, 0, s,
                    len, chunks, pw, pb,
                    dw == null ? 0L : backend.address(dw), dw == null ? 0L : dw.offset(), dw == null ? 0L : dw.stride(0),
                    db == null ? 0L : backend.address(db), db == null ? 0L : db.offset(), db == null ? 0L : db.stride(0));
        } finally {
            if (partial != null) backend.releaseScratch(partial);
        }
    }

    private static Tensor dropLast(Tensor column) {
        int r = column.dim() - 1;
        return Tensor.of(column.storage(), java.util.Arrays.copyOf(column.shape(), r),
                java.util.Arrays.copyOf(column.strides(), r), column.offset());
    }
}
