package dev.flare.tensor.cuda;

import dev.flare.tensor.DType;
import dev.flare.tensor.Tensor;

import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

/**
 * Launches {@code LayerNormKernels.cu}: layer norm over the last dim (forward with saved mean/rstd, backward dx),
 * and dWeight/dBias as a deterministic two-stage column reduction.
 *
 * <p>Contiguous F32/BF16/F16 rows of up to 2048 chunks of 16 bytes (16384 BF16/F16 or 8192 F32 columns) take the
 * row-group kernels, which keep the row in registers (read from DRAM once; 16-byte vectors when rows are 16-byte
 * aligned and the length a multiple of the vector width, else coalesced scalar loads): a block of 256 threads holds
 * 256 / G rows, each over G threads with P chunks per thread ({@link #rowShape}), w/b staged in shared memory, and
 * the grid is one wave of resident blocks striding over the rows. Anything else (strided rows, F64, longer rows)
 * takes the block-per-row kernels, which are the reference the fast ones are tested against.
 */
final class LayerNormKernels {
    /** Threads per block of the row-group kernels (LN_THREADS in the .cu). */
    static final int ROW_THREADS = 256;
    /** Threads per row (G) of the row-group kernels, and for each the chunks per thread (P) compiled (LN_TYPE). */
    private static final int[] GROUPS = {32, 64, 128, 256};
    private static final int[][] GROUP_CHUNKS = {{1, 2, 3, 4}, {3, 4}, {3, 4}, {3, 4, 6, 8}};
    /** Chunks per thread up to which a smaller group is preferred (past it, G doubles). */
    private static final int MAX_CHUNKS_BEFORE_WIDER = 4;
    /** Shared memory (static and dynamic) a kernel may take without raising its limit. */
    private static final int DEFAULT_SHARED_BYTES = 48 * 1024;
    /** At least the row-group kernels' static shared memory (their reduction scratch: 128 bytes). */
    private static final int STATIC_SHARED_BYTES = 1024;

    private final CudaBackend backend;
    private final CudaModule module;
    /** Resident blocks per SM, by kernel name and dynamic shared bytes (one occupancy query each). */
    private final ConcurrentHashMap<String, Integer> residentBlocks = new ConcurrentHashMap<>();
    /** Kernels whose dynamic shared memory limit was raised to their most (computeIfAbsent: before any launch). */
    private final ConcurrentHashMap<String, Boolean> raisedShared = new ConcurrentHashMap<>();
    /** Tests set this to run the block-per-row reference kernels on inputs the row-group kernels would take. */
    static volatile boolean forceReference;
    /** Tests set this (> 0) to cap the row-group kernels' grid, so a few rows take several passes per block. */
    static volatile int maxGridForTests;
    /** Tests set this to hear the name of every row-group kernel launched (to check that each one ran). */
    static volatile Consumer<String> launchesForTests;

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

    /**
     * {G, P} of the row-group kernel for a row of len elements of t: the smallest G with at most 4 chunks of 16 bytes
     * per thread (more threads per row rather than more registers per thread), past that G = 256 with 6 or 8; null
     * when the row is longer than 256 x 8 chunks.
     */
    static int[] rowShape(long len, DType t) {
        long chunks = Math.ceilDiv(len, 16 / t.byteSize());
        for (int i = 0; i < GROUPS.length; i++) {
            long need = Math.ceilDiv(chunks, GROUPS[i]);
            if (need > MAX_CHUNKS_BEFORE_WIDER && i < GROUPS.length - 1) continue;
            for (int p : GROUP_CHUNKS[i]) if (p >= need) return new int[]{GROUPS[i], p};
        }
        return null;
    }

    /** Elements of t from 0 to len rounded up to whole 16-byte chunks: a w/b copy in shared memory. */
    private static int paddedBytes(long len, DType t) {
        int v = 16 / t.byteSize();
        return (int) (Math.ceilDiv(len, v) * v) * t.byteSize();
    }

    private static boolean fastType(DType t) { return t == DType.F32 || t == DType.BF16 || t == DType.F16; }

    /** A weight/bias the row-group kernels can read: absent, or elements at stride 1 (any alignment). */
    private static boolean unitStride(Tensor v) { return v == null || v.size(0) <= 1 || v.stride(0) == 1; }

    private boolean aligned16(Tensor... ts) {
        for (Tensor t : ts) if (t != null && (backend.first(t) & 15) != 0) return false;
        return true;
    }

    private long firstOrZero(Tensor t) { return t == null ? 0L : backend.first(t); }

    /**
     * Launches a row-group kernel over rows rows on one wave of resident blocks (or fewer when the rows need fewer).
     * maxSharedBytes is the most the kernel can ask (G x P x 16 bytes per staged vector: 2 in the forward, 1 in the
     * backward): when that and the static scratch pass 48 KiB, the kernel's limit is raised to it once, so any later
     * len fits.
     */
    private void launchRows(String kernel, int group, int sharedBytes, int maxSharedBytes, long rows, Object... args) {
        if (maxSharedBytes + STATIC_SHARED_BYTES > DEFAULT_SHARED_BYTES)
            raisedShared.computeIfAbsent(kernel, k -> {
                module.setMaxDynamicSharedBytes(k, maxSharedBytes);
                return Boolean.TRUE;
            });
        int perSm = residentBlocks.computeIfAbsent(kernel + "/" + sharedBytes,
                k -> Math.max(1, module.maxActiveBlocksPerMultiprocessor(kernel, ROW_THREADS, sharedBytes)));
        long grid = Math.min(Math.ceilDiv(rows, ROW_THREADS / group), (long) perSm * backend.multiprocessors());
        int cap = maxGridForTests;
        if (cap > 0) grid = Math.min(grid, cap);
        module.launch(kernel, grid, ROW_THREADS, sharedBytes, backend.stream(), args);
        Consumer<String> heard = launchesForTests;
        if (heard != null) heard.accept(kernel);
    }

    /** The row-group forward when it applies (see the class comment); false leaves the work to the caller. */
    private boolean forwardFast(Tensor x, Tensor w, Tensor b, double eps, Tensor out, Tensor mean, Tensor rstd) {
        DType t = x.dtype();
        long len = x.size(-1), rows = len == 0 ? 0 : x.numel() / len;
        if (!fastType(t) || len == 0 || rows == 0 || mean.dtype() != DType.F32 || rstd.dtype() != DType.F32) return false;
        if (!x.isContiguous() || !out.isContiguous() || !mean.isContiguous() || !rstd.isContiguous()) return false;
        if (!unitStride(w) || !unitStride(b)) return false;
        int[] shape = rowShape(len, t);
        if (shape == null) return false;
        int g = shape[0], p = shape[1];
        boolean vec = len % (16 / t.byteSize()) == 0 && aligned16(x, out);
        String k = "layernorm_fwd_rows_" + suffix(t) + "_g" + g + "_p" + p + (vec ? "_v" : "_s");
        // w then b, each from a 16-byte boundary (b's place is after w's even when w is null)
        int shared = (b != null ? 2 : w != null ? 1 : 0) * paddedBytes(len, t);
        launchRows(k, g, shared, 2 * g * p * 16, rows,
                rows, (int) len, backend.first(x), backend.first(out), firstOrZero(w), firstOrZero(b),
                backend.first(mean), backend.first(rstd), (float) eps);
        return true;
    }

    /** The row-group backward dx when it applies; false leaves the work to the caller. */
    private boolean backwardFast(Tensor dy, Tensor x, Tensor w, Tensor mean, Tensor rstd, Tensor dx) {
        DType t = x.dtype();
        long len = x.size(-1), rows = len == 0 ? 0 : x.numel() / len;
        if (!fastType(t) || len == 0 || rows == 0 || mean.dtype() != DType.F32 || rstd.dtype() != DType.F32) return false;
        if (!dy.isContiguous() || !x.isContiguous() || !dx.isContiguous() || !mean.isContiguous() || !rstd.isContiguous()) return false;
        if (!unitStride(w)) return false;
        int[] shape = rowShape(len, t);
        if (shape == null) return false;
        int g = shape[0], p = shape[1];
        boolean vec = len % (16 / t.byteSize()) == 0 && aligned16(dy, x, dx);
        String k = "layernorm_bwd_dx_rows_" + suffix(t) + "_g" + g + "_p" + p + (vec ? "_v" : "_s");
        int shared = w != null ? paddedBytes(len, t) : 0;
        launchRows(k, g, shared, g * p * 16, rows,
                rows, (int) len, backend.first(dy), backend.first(x), backend.first(dx), firstOrZero(w),
                backend.first(mean), backend.first(rstd));
        return true;
    }

    private void launchForward(long[] g, Tensor x, Tensor w, Tensor b, double eps, Tensor out, Tensor mean, Tensor rstd) {
        long rows = g[1], len = x.size(-1);
        if (rows == 0) return;
        if (!forceReference && forwardFast(x, w, b, eps, out, mean, rstd)) return;
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
        if (dx != null && gdx[1] > 0 && len > 0 && (forceReference || !backwardFast(dy, x, w, mean, rstd, dx))) {
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
            // block (32, 8): 32 columns, 8 threads each summing every 8th chunk, then the 8 sums in order
            module.launch("layernorm_dwdb_final_" + suf, Math.ceilDiv(len, 32), 1, 32, 8, 0, s,
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
