package dev.flare.tensor.cuda;

import dev.flare.tensor.DType;
import dev.flare.tensor.Tensor;

/**
 * Launches {@code SoftmaxKernels.cu}: softmax / log-softmax along a dim, forward and backward, one block per row.
 *
 * <p>Contiguous F32/BF16/F16 rows along the last dim take the kernels that keep the row in registers (read from
 * DRAM once; 16-byte vectors when rows are 16-byte aligned and the length a multiple of the vector width, else
 * coalesced scalar loads), when the row fits the compiled chunk counts; longer aligned rows (a vocabulary) take a
 * 16-byte-vector kernel that reads the row twice (the second time from L2). Anything else takes the general
 * kernels, which are the reference the fast ones are tested against.
 */
final class SoftmaxKernels {
    /** 16-byte chunks per thread compiled for the register kernels, per direction and index map. */
    private static final int[] FWD_VEC = {1, 2, 4, 8, 12}, FWD_SCALAR = {1, 2, 4}, BWD_VEC = {1, 2, 4}, BWD_SCALAR = {1, 2};
    static final int REG_MAX_THREADS = 512;

    private final CudaBackend backend;
    private final CudaModule module;
    /** Tests set this to run the general kernels on inputs the fast ones would take. */
    static volatile boolean forceReference;

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

    /** {threads, chunks} of a register kernel for a row of len elements, or null when no compiled one fits. */
    static int[] regShape(long len, int vecWidth, int[] chunkSet) {
        long want = Math.max(32, Math.min(REG_MAX_THREADS, Math.ceilDiv(len, 4L * vecWidth)));
        int threads = Integer.highestOneBit((int) want);
        if (threads < want) threads <<= 1;
        long need = Math.ceilDiv(len, (long) threads * vecWidth);
        for (int p : chunkSet) if (p >= need) return new int[]{threads, p};
        return null;
    }

    private static boolean fastType(DType t) { return t == DType.F32 || t == DType.BF16 || t == DType.F16; }

    /** The fast kernels over contiguous rows along the last dim; false leaves the work to the general ones. */
    private boolean fast(boolean backward, int dim, boolean log, Tensor... ops) {
        Tensor x = ops[0];
        DType t = x.dtype();
        long len = x.size(dim), rows = len == 0 ? 0 : x.numel() / len;
        if (forceReference || !fastType(t) || dim != x.dim() - 1 || rows == 0 || len >= Integer.MAX_VALUE) return false;
        boolean vec = len % (16 / t.byteSize()) == 0;
        for (Tensor o : ops) {
            if (!o.isContiguous()) return false;
            vec &= (backend.first(o) & 15) == 0;
        }
        int[] shape = regShape(len, 16 / t.byteSize(), backward ? (vec ? BWD_VEC : BWD_SCALAR) : (vec ? FWD_VEC : FWD_SCALAR));
        String suf = ElementwiseKernels.suffix(t);
        Object[] args = new Object[3 + ops.length];
        args[0] = rows;
        args[1] = len;
        args[2] = log ? 1 : 0;
        for (int i = 0; i < ops.length; i++) args[3 + i] = backend.first(ops[i]);
        if (shape != null) {
            String k = (backward ? "softmax_bwd_reg_" : "softmax_fwd_reg_") + suf + "_p" + shape[1] + (vec ? "_v" : "_s");
            module.launch(k, CudaModule.blocksFor(rows, 1), shape[0], 0, backend.stream(), args);
            return true;
        }
        if (backward || !vec) return false;
        module.launch("softmax_fwd_vec_" + suf, CudaModule.blocksFor(rows, 1), REG_MAX_THREADS, 0, backend.stream(), args);
        return true;
    }

    void forward(Tensor x, int dim, boolean log, Tensor out) {
        if (fast(false, dim, log, x, out)) return;
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
        if (fast(true, dim, log, y, dy, dx)) return;
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
