package dev.flare.tensor.cuda;

import dev.flare.tensor.DType;
import dev.flare.tensor.Tensor;

/**
 * Launches {@code LayerNormKernels.cu}: layer norm over the last dim (forward with saved mean/rstd, backward dx),
 * and dWeight/dBias as a deterministic two-stage column reduction.
 *
 * <p>Contiguous F32/BF16/F16 rows of up to 512 chunks of 16 bytes (forward; backward up to 256 for BF16/F16) take
 * the warp-per-row kernels that keep the row in registers (read from DRAM once; 16-byte vectors when rows are
 * 16-byte aligned and the length a multiple of the vector width, else coalesced scalar loads). Anything else
 * (strided rows, F64, longer rows) takes the block-per-row kernels, which are the reference the fast ones are
 * tested against.
 */
final class LayerNormKernels {
    /** Chunks of 16 bytes per lane that the warp kernels are compiled for. */
    private static final int[] CHUNKS = {1, 2, 3, 4, 6, 8, 12, 16};
    static final int WARP_THREADS = 256;
    private final CudaBackend backend;
    private final CudaModule module;
    /** Tests set this to run the block-per-row reference kernels on inputs the warp kernels would take. */
    static volatile boolean forceReference;

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

    /** Chunks per lane for a row of len elements of t in a warp kernel, or -1 when the row does not fit maxChunks. */
    static int chunks(long len, DType t, int maxChunks) {
        long need = Math.ceilDiv(len, 32L * (16 / t.byteSize()));
        for (int p : CHUNKS) if (p >= need && p <= maxChunks) return p;
        return -1;
    }

    private static boolean fastType(DType t) { return t == DType.F32 || t == DType.BF16 || t == DType.F16; }

    /** A weight/bias the warp kernels can read: absent, or elements at stride 1. */
    private static boolean unitStride(Tensor v) { return v == null || v.size(0) <= 1 || v.stride(0) == 1; }

    private boolean aligned16(Tensor... ts) {
        for (Tensor t : ts) if (t != null && (backend.first(t) & 15) != 0) return false;
        return true;
    }

    private long firstOrZero(Tensor t) { return t == null ? 0L : backend.first(t); }

    /** The warp-per-row forward when it applies (see the class comment); false leaves the work to the caller. */
    private boolean forwardWarp(Tensor x, Tensor w, Tensor b, double eps, Tensor out, Tensor mean, Tensor rstd) {
        DType t = x.dtype();
        long len = x.size(-1), rows = len == 0 ? 0 : x.numel() / len;
        if (!fastType(t) || len == 0 || rows == 0 || mean.dtype() != DType.F32 || rstd.dtype() != DType.F32) return false;
        if (!x.isContiguous() || !out.isContiguous() || !mean.isContiguous() || !rstd.isContiguous()) return false;
        if (!unitStride(w) || !unitStride(b)) return false;
        int p = chunks(len, t, 16);
        if (p < 0) return false;
        boolean vec = len % (16 / t.byteSize()) == 0 && aligned16(x, out);
        String k = "layernorm_fwd_warp_" + suffix(t) + "_p" + p + (vec ? "_v" : "_s");
        module.launch(k, CudaModule.blocksFor(rows, WARP_THREADS / 32), WARP_THREADS, 0, backend.stream(),
                rows, len, backend.first(x), backend.first(out), firstOrZero(w), firstOrZero(b),
                backend.first(mean), backend.first(rstd), (float) eps, aligned16(w, b) ? 1 : 0);
        return true;
    }

    /** The warp-per-row backward dx when it applies; false leaves the work to the caller. */
    private boolean backwardWarp(Tensor dy, Tensor x, Tensor w, Tensor mean, Tensor rstd, Tensor dx) {
        DType t = x.dtype();
        long len = x.size(-1), rows = len == 0 ? 0 : x.numel() / len;
        if (!fastType(t) || len == 0 || rows == 0 || mean.dtype() != DType.F32 || rstd.dtype() != DType.F32) return false;
        if (!dy.isContiguous() || !x.isContiguous() || !dx.isContiguous() || !mean.isContiguous() || !rstd.isContiguous()) return false;
        if (!unitStride(w)) return false;
        int p = chunks(len, t, t == DType.F32 ? 16 : 8);
        if (p < 0) return false;
        boolean vec = len % (16 / t.byteSize()) == 0 && aligned16(dy, x, dx);
        String k = "layernorm_bwd_dx_warp_" + suffix(t) + "_p" + p + (vec ? "_v" : "_s");
        module.launch(k, CudaModule.blocksFor(rows, WARP_THREADS / 32), WARP_THREADS, 0, backend.stream(),
                rows, len, backend.first(dy), backend.first(x), backend.first(dx), firstOrZero(w),
                backend.first(mean), backend.first(rstd), aligned16(w) ? 1 : 0);
        return true;
    }

    private void launchForward(long[] g, Tensor x, Tensor w, Tensor b, double eps, Tensor out, Tensor mean, Tensor rstd) {
        long rows = g[1], len = x.size(-1);
        if (rows == 0) return;
        if (!forceReference && forwardWarp(x, w, b, eps, out, mean, rstd)) return;
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
        if (dx != null && gdx[1] > 0 && len > 0 && (forceReference || !backwardWarp(dy, x, w, mean, rstd, dx))) {
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
