package dev.flare.tensor.cuda;

import dev.flare.tensor.DType;
import dev.flare.tensor.Tensor;
import dev.flare.tensor.ops.ReduceOp;

import java.util.Arrays;

/**
 * Launches {@code ReduceKernels.cu}: sum/mean/max/min over dims and argmax/argmin along a dim. x's dims are split
 * into kept and reduced dims, each coalesced; layouts that do not fit the kernels' limits (more than 8 dims after
 * coalescing) are first copied contiguously with the reduced dims last.
 */
final class ReduceKernels {
    private static final int M = StridedGeometry.MAX_DIMS;
    private static final long LIMIT = StridedGeometry.INDEX_LIMIT;

    private final CudaBackend backend;
    private final CudaModule module;

    ReduceKernels(CudaBackend backend) {
        this.backend = backend;
        this.module = CudaModule.load(ReduceKernels.class, backend.context());
    }

    private static String suffix(DType t) { return ElementwiseKernels.suffix(t); }

    private static boolean fits(StridedGeometry g) {
        return g.rank <= M && (g.rank <= 1 || g.numel < LIMIT);
    }

    void reduce(ReduceOp op, Tensor x, int[] dims, Tensor out) {
        int r = x.dim();
        boolean[] red = new boolean[r];
        for (int d : dims) red[d] = true;
        int[] shape = x.shape();
        long[] xs = x.strides(), os = out.strides();
        int nr = dims.length, nk = r - nr;
        long[] kShape = new long[nk], kX = new long[nk], kOut = new long[nk], rShape = new long[nr], rX = new long[nr];
        for (int d = 0, i = 0, j = 0; d < r; d++) {
            if (red[d]) {
                rShape[j] = shape[d];
                rX[j++] = xs[d];
            } else {
                kShape[i] = shape[d];
                kX[i] = xs[d];
                kOut[i++] = os[d];
            }
        }
        StridedGeometry kept = StridedGeometry.of(kShape, new long[][]{kX, kOut}, new long[]{x.offset(), out.offset()});
        StridedGeometry reduced = StridedGeometry.of(rShape, new long[][]{rX}, new long[]{0});
        if (kept.numel == 0) return;
        if (!fits(kept) || !fits(reduced)) {
            // Contiguous copy with kept dims first and reduced dims last: both then coalesce to one dim.
            int[] perm = new int[r];
            int p = 0;
            for (int d = 0; d < r; d++) if (!red[d]) perm[p++] = d;
            for (int d = 0; d < r; d++) if (red[d]) perm[p++] = d;
            Tensor xc = backend.contiguousCopy(CudaBackend.permuted(x, perm));
            Tensor oc = CudaBackend.permuted(out, perm);
            int[] newDims = new int[nr];
            for (int i = 0; i < nr; i++) newDims[i] = nk + i;
            try {
                reduce(op, xc, newDims, oc);
            } finally {
                xc.release();
            }
            return;
        }
        long[] g = new long[2 + 3 * M + 2 + 2 * M + 2];
        g[0] = kept.rank;
        g[1] = kept.numel;
        for (int d = 0; d < kept.rank; d++) {
            g[2 + d] = kept.sizes[d];
            g[2 + M + d] = kept.strides[0][d];
            g[2 + 2 * M + d] = kept.strides[1][d];
        }
        int o = 2 + 3 * M;
        g[o] = reduced.rank;
        g[o + 1] = reduced.numel;
        for (int d = 0; d < reduced.rank; d++) {
            g[o + 2 + d] = reduced.sizes[d];
            g[o + 2 + M + d] = reduced.strides[0][d];
        }
        g[o + 2 + 2 * M] = x.offset();
        g[o + 3 + 2 * M] = out.offset();

        String suf = suffix(x.dtype());
        long xp = backend.address(x), outp = backend.address(out);
        long keptN = kept.numel, redN = reduced.numel;
        boolean redInnerContig = reduced.rank == 0 || reduced.strides[0][reduced.rank - 1] == 1;
        boolean keptInnerContig = kept.rank >= 1 && kept.strides[0][kept.rank - 1] == 1;
        CudaStream s = backend.stream();
        int packElems = 16 / x.dtype().byteSize();
        if (redN > 1 && columnPacks(x, kept, reduced)) {
            long tiles = Math.ceilDiv(keptN, 32L * packElems);
            int splits = columnPackSplits(tiles, redN, backend.multiprocessors());
            columns("reduce_cols_vec_" + suf, 8, tiles, splits, keptN, s, g, op, xp, outp,
                    partial -> module.launch("reduce_cols_finish_" + suf, Math.ceilDiv(keptN, 32), 1, 32, 8, 0, s,
                            g, op.ordinal(), splits, partial, outp));
        } else if (!redInnerContig && keptInnerContig && redN > 1) {
            long tiles = CudaModule.blocksFor(Math.ceilDiv(keptN, 32), 1);
            int splits = outerSplits(tiles, redN, backend.multiprocessors());
            columns("reduce_outer_" + suf, 16, tiles, splits, keptN, s, g, op, xp, outp,
                    partial -> module.launch("reduce_finish_" + suf, CudaModule.blocksFor(keptN, 256), 256, 0, s,
                            g, op.ordinal(), splits, partial, outp));
        } else if (redN < 2048) {
            module.launch("reduce_warp_" + suf, CudaModule.blocksFor(Math.ceilDiv(keptN, 8), 1), 256, 0, s,
                    g, op.ordinal(), xp, outp);
        } else {
            int threads = 512;
            long target = 4L * backend.multiprocessors();
            int splits = (int) Math.max(1, Math.min(Math.ceilDiv(target, keptN), Math.min(1024, redN / 8192)));
            if (splits == 1) {
                module.launch("reduce_block_" + suf, CudaModule.blocksFor(keptN, 1), threads, 0, s,
                        g, op.ordinal(), xp, outp, 1, 0L);
            } else {
                CachingAllocator.Block partial = backend.scratch(keptN * splits * 8);
                try {
                    module.launch("reduce_block_" + suf, CudaModule.blocksFor(keptN * splits, 1), threads, 0, s,
                            g, op.ordinal(), xp, outp, splits, partial.address());
                    module.launch("reduce_finish_" + suf, CudaModule.blocksFor(keptN, 256), 256, 0, s,
                            g, op.ordinal(), splits, partial.address(), outp);
                } finally {
                    backend.releaseScratch(partial);
                }
            }
        }
    }

    /** Launches the kernel that combines a column kernel's split partial results (device address {@code partial}). */
    @FunctionalInterface
    private interface Finish {
        void launch(long partial);
    }

    /**
     * Launches a column kernel ("outer" or its 16-byte form; blocks of 32 x lanes threads) over tiles of columns and
     * {@code splits} chunks of rows (grid y). With more than one chunk the chunks' partial results (8 bytes per column
     * and chunk) go to a scratch block that {@code finish} combines.
     */
    private void columns(String kernel, int lanes, long tiles, int splits, long keptN, CudaStream s, long[] g, ReduceOp op,
                         long xp, long outp, Finish finish) {
        if (splits == 1) {
            module.launch(kernel, tiles, 1, 32, lanes, 0, s, g, op.ordinal(), xp, outp, 1, 0L);
            return;
        }
        CachingAllocator.Block partial = backend.scratch(keptN * splits * 8);
        try {
            module.launch(kernel, tiles, splits, 32, lanes, 0, s, g, op.ordinal(), xp, outp, splits, partial.address());
            finish.launch(partial.address());
        } finally {
            backend.releaseScratch(partial);
        }
    }

    /**
     * Chunks of rows for the 16-byte column kernel: about 3 blocks (256 threads) per multiprocessor, which with its
     * batches of 8 loads per thread keep ~48 KiB in flight per SM, each chunk at least 64 rows (8 per lane) so that the
     * partials stay a few percent of the input (16384 x 768 bf16: 3 tiles x 132 chunks, 0.8 MB of partials for 25 MB).
     */
    static int columnPackSplits(long tiles, long rows, int multiprocessors) {
        long wanted = Math.ceilDiv(3L * multiprocessors, tiles);
        long most = Math.max(1, rows / 64);
        return (int) Math.max(1, Math.min(Math.min(wanted, most), 65535));
    }

    /**
     * Whether the 16-byte column kernel takes x: a floating type stored as one contiguous (rows, cols) matrix (one
     * reduced dim of stride cols, one kept dim of stride 1) whose first element is on a 16-byte boundary, with cols a
     * multiple of the 16-byte pack.
     */
    private boolean columnPacks(Tensor x, StridedGeometry kept, StridedGeometry reduced) {
        DType t = x.dtype();
        if (t != DType.F32 && t != DType.BF16 && t != DType.F16) return false;
        if (kept.rank != 1 || reduced.rank != 1 || kept.strides[0][0] != 1 || reduced.strides[0][0] != kept.numel) return false;
        return kept.numel % (16 / t.byteSize()) == 0 && backend.first(x) % 16 == 0;
    }

    /**
     * Chunks of the reduced elements for the "outer" kernel: enough (tile, chunk) blocks of 512 threads for about
     * 8 per multiprocessor, each chunk at least 256 rows so that a block's 16 lanes each read 16 or more.
     */
    static int outerSplits(long tiles, long reducedNumel, int multiprocessors) {
        long wanted = Math.ceilDiv(8L * multiprocessors, tiles);
        long most = Math.max(1, reducedNumel / 256);
        return (int) Math.max(1, Math.min(Math.min(wanted, most), 65535));
    }

    void argReduce(boolean max, Tensor x, int dim, Tensor out) {
        int r = x.dim();
        int[] shape = x.shape();
        long[] xs = x.strides(), os = out.strides();
        long[] kShape = new long[r - 1], kX = new long[r - 1], kOut = new long[r - 1];
        for (int d = 0, i = 0; d < r; d++) {
            if (d == dim) continue;
            kShape[i] = shape[d];
            kX[i] = xs[d];
            kOut[i++] = os[d];
        }
        StridedGeometry kept = StridedGeometry.of(kShape, new long[][]{kX, kOut}, new long[]{x.offset(), out.offset()});
        if (kept.numel == 0) return;
        if (!fits(kept)) {
            int[] perm = new int[r];
            for (int d = 0, p = 0; d < r; d++) if (d != dim) perm[p++] = d;
            perm[r - 1] = dim;
            Tensor xc = backend.contiguousCopy(CudaBackend.permuted(x, perm));
            try {
                argReduce(max, xc, r - 1, CudaBackend.permuted(out, perm));
            } finally {
                xc.release();
            }
            return;
        }
        long[] g = new long[2 + 3 * M + 4];
        g[0] = kept.rank;
        g[1] = kept.numel;
        for (int d = 0; d < kept.rank; d++) {
            g[2 + d] = kept.sizes[d];
            g[2 + M + d] = kept.strides[0][d];
            g[2 + 2 * M + d] = kept.strides[1][d];
        }
        int o = 2 + 3 * M;
        g[o] = shape[dim];
        g[o + 1] = xs[dim];
        g[o + 2] = x.offset();
        g[o + 3] = out.offset();
        int threads = 32;
        while (threads < 512 && threads < shape[dim]) threads <<= 1;
        module.launch("argreduce_" + suffix(x.dtype()), CudaModule.blocksFor(kept.numel, 1), threads, 0, backend.stream(),
                g, max ? 1 : 0, backend.address(x), backend.address(out));
    }

    static String describe(int[] dims) { return Arrays.toString(dims); }
}
