package dev.flare.tensor.cuda;

import dev.flare.tensor.Backend;
import dev.flare.tensor.Backends;
import dev.flare.tensor.DType;
import dev.flare.tensor.Device;
import dev.flare.tensor.Shapes;
import dev.flare.tensor.Storage;
import dev.flare.tensor.Tensor;
import dev.flare.tensor.ops.BinaryOp;
import dev.flare.tensor.ops.ReduceOp;
import dev.flare.tensor.ops.UnaryOp;

import java.util.function.BiConsumer;
import java.util.function.Supplier;

/**
 * The CUDA backend of one device: its primary context, one compute stream (all kernels, copies and cuBLAS calls
 * of this backend are queued on it, in program order), a caching allocator, a pinned staging buffer for host
 * copies, cuBLAS/cuBLASLt through FFM for matmul, and CUDA kernels for everything else (loaded lazily per kernel
 * file, so a missing fatbin only fails the ops that need it, saying the kernels were not built).
 *
 * <p>Calls return as soon as the work is queued; only reads to the host (and {@link #synchronize()}) wait.
 * Obtain it with {@code Backends.of(Device.cuda(n))} or {@link #of(int)}: there is one per device.
 */
public final class CudaBackend implements Backend {
    private final Device device;
    private final CudaContext context;
    private final CudaStream stream;
    private final CudaAllocator allocator;
    private final PinnedStaging staging;
    private final LiveAllocations liveAllocations = new LiveAllocations();
    private final int multiprocessors;

    private volatile ElementwiseKernels elementwise;
    private volatile ReduceKernels reduce;
    private volatile SoftmaxKernels softmax;
    private volatile LayerNormKernels layerNorm;
    private volatile GeluKernels gelu;
    private volatile EmbeddingKernels embedding;
    private volatile CrossEntropyKernels crossEntropy;
    private volatile RandomKernels random;
    private volatile Cublas cublas;
    /** Number of matmulEpilogue calls that cuBLASLt could not fuse (answered with separate ops instead). */
    final java.util.concurrent.atomic.AtomicLong epilogueFallbacks = new java.util.concurrent.atomic.AtomicLong();

    CudaBackend(Device device) {
        if (!device.isCuda()) throw new IllegalArgumentException("device: expected a CUDA device, got " + device);
        Cuda.requireDevice(device.index());
        this.device = device;
        this.context = CudaContext.of(device.index());
        context.makeCurrent();
        this.stream = CudaStream.create(context);
        this.allocator = new CudaAllocator(context);
        this.staging = new PinnedStaging(context, stream);
        this.multiprocessors = Cuda.multiprocessorCount(device.index());
    }

    /** The backend of cuda:{@code index} (the same instance {@code Backends.of} returns). */
    public static CudaBackend of(int index) { return (CudaBackend) Backends.of(Device.cuda(index)); }

    @Override
    public Device device() { return device; }

    public CudaContext context() { return context; }

    /** The stream this backend queues all its work on. */
    public CudaStream stream() { return stream; }

    public CudaAllocator allocator() { return allocator; }

    PinnedStaging staging() { return staging; }

    /** Live storages by allocation site (recorded only with -Dflare.debug.alloc=true). */
    LiveAllocations liveAllocations() { return liveAllocations; }

    int multiprocessors() { return multiprocessors; }

    /** Allocator statistics of this device. */
    public MemoryStats memoryStats() { return allocator.cache().stats(); }

    @Override
    public long allocatedBytes() { return memoryStats().allocatedBytes(); }

    @Override
    public long peakAllocatedBytes() { return memoryStats().peakAllocatedBytes(); }

    @Override
    public void resetPeakAllocatedBytes() { allocator.cache().resetPeak(); }

    /**
     * Switches GPU timing of every kernel launch and cuBLAS call on this device on or off (default: the system
     * property flare.cuda.profile). Costs a few microseconds of host time per call while on.
     */
    public void setKernelProfiling(boolean on) { context.kernelTimer().setEnabled(on); }

    public boolean isKernelProfiling() { return context.kernelTimer().enabled(); }

    /** GPU time by kernel so far (waits for the timed work); empty when profiling was never on. */
    public KernelProfile kernelProfile() { return context.kernelTimer().profile(); }

    /** Returns cached (free) device memory to the driver. */
    public void emptyCache() {
        context.makeCurrent();
        allocator.cache().emptyCache();
    }

    /** cuBLAS/cuBLASLt bound to this backend's stream. */
    public Cublas cublas() {
        Cublas c = cublas;
        if (c == null) {
            synchronized (this) {
                if (cublas == null) cublas = new Cublas(context, stream, allocator.cache());
                c = cublas;
            }
        }
        return c;
    }

    private <K> K kernels(Supplier<K> get, Supplier<K> make, java.util.function.Consumer<K> set) {
        K k = get.get();
        if (k != null) return k;
        synchronized (this) {
            k = get.get();
            if (k == null) {
                context.makeCurrent();
                k = make.get();
                set.accept(k);
            }
            return k;
        }
    }

    private ElementwiseKernels ew() { return kernels(() -> elementwise, () -> new ElementwiseKernels(this), k -> elementwise = k); }
    private ReduceKernels red() { return kernels(() -> reduce, () -> new ReduceKernels(this), k -> reduce = k); }
    private SoftmaxKernels sm() { return kernels(() -> softmax, () -> new SoftmaxKernels(this), k -> softmax = k); }
    private LayerNormKernels ln() { return kernels(() -> layerNorm, () -> new LayerNormKernels(this), k -> layerNorm = k); }
    private GeluKernels gl() { return kernels(() -> gelu, () -> new GeluKernels(this), k -> gelu = k); }
    private EmbeddingKernels emb() { return kernels(() -> embedding, () -> new EmbeddingKernels(this), k -> embedding = k); }
    private CrossEntropyKernels ce() { return kernels(() -> crossEntropy, () -> new CrossEntropyKernels(this), k -> crossEntropy = k); }
    private RandomKernels rnd() { return kernels(() -> random, () -> new RandomKernels(this), k -> random = k); }

    // ---- helpers for the kernel classes ------------------------------------------------------------------------

    private CudaStorage storageOf(Tensor t) {
        if (!(t.storage() instanceof CudaStorage s) || s.backend() != this)
            throw new IllegalArgumentException("tensor on " + t.device() + " passed to the backend of " + device);
        return s;
    }

    /** Device address of the tensor's storage (element 0 of the storage, not of the view). */
    long address(Tensor t) { return storageOf(t).address(); }

    /** Device address of the tensor's first element. */
    long first(Tensor t) { return storageOf(t).address(t.offset()); }

    /** Device address of the tensor's first element, for kernels launched from other modules. */
    public long deviceAddress(Tensor t) { return first(t); }

    /** A new contiguous tensor on this device (not zeroed). */
    Tensor empty(DType dtype, int... shape) {
        return Tensor.of(new CudaStorage(this, dtype, Shapes.numel(shape)), shape, Shapes.contiguousStrides(shape), 0);
    }

    Tensor contiguousCopy(Tensor t) { return convertedCopy(t, t.dtype()); }

    Tensor convertedCopy(Tensor t, DType dtype) {
        Tensor c = empty(dtype, t.shape());
        copy(t, c);
        return c;
    }

    /** A view of t with its dims permuted (no copy). */
    static Tensor permuted(Tensor t, int[] perm) {
        int[] s = t.shape(), ns = new int[perm.length];
        long[] st = t.strides(), nst = new long[perm.length];
        for (int i = 0; i < perm.length; i++) {
            ns[i] = s[perm[i]];
            nst[i] = st[perm[i]];
        }
        return Tensor.of(t.storage(), ns, nst, t.offset());
    }

    /** Device scratch memory for one op (returned with {@link #releaseScratch}; stream order makes reuse safe). */
    CachingAllocator.Block scratch(long bytes) { return allocator.cache().allocate(Math.max(bytes, 1), stream); }

    void releaseScratch(CachingAllocator.Block b) { allocator.cache().free(b); }

    /**
     * The Rows struct for operands along {@code dim} (row dims: ops[0]'s shape without dim), or null when it does
     * not fit one launch.
     */
    long[] rows(int dim, Tensor... ops) {
        int r = ops[0].dim();
        int[] shape = ops[0].shape();
        int[] rowShape = new int[r - 1];
        for (int d = 0, i = 0; d < r; d++) if (d != dim) rowShape[i++] = shape[d];
        long[][] st = new long[ops.length][r - 1];
        long[] off = new long[ops.length], inner = new long[ops.length];
        for (int k = 0; k < ops.length; k++) {
            long[] s = ops[k].strides();
            for (int d = 0, i = 0; d < r; d++) if (d != dim) st[k][i++] = s[d];
            off[k] = ops[k].offset();
            inner[k] = s[dim];
        }
        return StridedGeometry.rowsStruct(rowShape, st, off, shape[dim], inner);
    }

    /**
     * Runs {@code body} on contiguous copies of the inputs with {@code dim} moved last, and on contiguous temporaries
     * for the outputs (same permutation), then copies the temporaries into the outputs. The fallback for layouts
     * whose row dims do not fit one launch.
     */
    void viaRowsLast(int dim, Tensor[] inputs, Tensor[] outputs, BiConsumer<Tensor[], Tensor[]> body) {
        int r = inputs[0].dim();
        int[] perm = new int[r];
        for (int d = 0, p = 0; d < r; d++) if (d != dim) perm[p++] = d;
        perm[r - 1] = dim;
        Tensor[] in = new Tensor[inputs.length], out = new Tensor[outputs.length];
        try {
            for (int i = 0; i < inputs.length; i++) in[i] = contiguousCopy(permuted(inputs[i], perm));
            for (int i = 0; i < outputs.length; i++) out[i] = empty(outputs[i].dtype(), permuted(outputs[i], perm).shape());
            body.accept(in, out);
            for (int i = 0; i < outputs.length; i++) copy(out[i], permuted(outputs[i], perm));
        } finally {
            for (Tensor t : in) if (t != null) t.release();
            for (Tensor t : out) if (t != null) t.release();
        }
    }

    // ---- Backend ---------------------------------------------------------------------------------------------

    @Override
    public Storage allocate(DType dtype, long numel) { return new CudaStorage(this, dtype, numel); }

    @Override
    public void copy(Tensor src, Tensor dst) { ew().copy(src, dst); }

    @Override
    public void fill(Tensor dst, double value) { ew().fill(dst, value); }

    @Override
    public void unary(UnaryOp op, Tensor x, Tensor out) {
        if (op == UnaryOp.GELU && x.dtype() == out.dtype() && gl().forward(x, out)) return;
        ew().unary(op, x, out);
    }

    @Override
    public void binary(BinaryOp op, Tensor a, Tensor b, Tensor out) { ew().binary(op, a, b, out); }

    @Override
    public void binaryScalar(BinaryOp op, Tensor a, double scalar, boolean scalarFirst, Tensor out) {
        ew().binaryScalar(op, a, scalar, scalarFirst, out);
    }

    @Override
    public void where(Tensor cond, Tensor a, Tensor b, Tensor out) { ew().where(cond, a, b, out); }

    @Override
    public void reduce(ReduceOp op, Tensor x, int[] dims, Tensor out) { red().reduce(op, x, dims, out); }

    @Override
    public void argReduce(boolean max, Tensor x, int dim, Tensor out) { red().argReduce(max, x, dim, out); }

    @Override
    public void matmul(Tensor a, Tensor b, Tensor out) {
        int r = out.dim();
        int m = out.size(r - 2), n = out.size(r - 1), k = a.size(r - 1);
        long batchL = out.numel() / Math.max(1L, (long) m * n);
        if (m == 0 || n == 0) return;
        for (int d = 0; d < r - 2; d++) if (out.size(d) == 0) return;
        if (k == 0) {
            fill(out, 0);
            return;
        }
        if (batchL > Integer.MAX_VALUE) throw new IllegalArgumentException("matmul: batch of " + batchL + " matrices exceeds cuBLAS's int count");
        if (!out.isContiguous()) {
            Tensor tmp = empty(out.dtype(), out.shape());
            try {
                matmul(a, b, tmp);
                copy(tmp, out);
            } finally {
                tmp.release();
            }
            return;
        }
        Tensor ac = a, bc = b;
        GemmPlan.Layout la = GemmPlan.layout(a.shape(), a.strides());
        GemmPlan.Layout lb = GemmPlan.layout(b.shape(), b.strides());
        try {
            if (la == null) {
                ac = contiguousCopy(a);
                la = GemmPlan.layout(ac.shape(), ac.strides());
            }
            if (lb == null) {
                bc = contiguousCopy(b);
                lb = GemmPlan.layout(bc.shape(), bc.strides());
            }
            GemmPlan p = GemmPlan.of((int) batchL, m, n, k, la, lb);
            // cuBLAS A = b's memory, B = a's memory (see GemmPlan).
            cublas().gemm(out.dtype(), p.transA, p.transB, p.m, p.n, p.k, first(bc), p.lda, p.strideA,
                    first(ac), p.ldb, p.strideB, first(out), p.ldc, p.strideC, p.batch);
        } finally {
            if (ac != a) ac.release();
            if (bc != b) bc.release();
        }
    }

    /** The bias goes in cuBLASLt's epilogue (as PyTorch's addmm): no second pass over out to add it. */
    @Override
    public void matmulAddBias(Tensor x, Tensor w, Tensor bias, Tensor out) {
        // A 16-byte aligned bias: cuBLASLt's epilogue may read it in vectors (a Linear's bias always is).
        boolean fusable = bias != null && bias.isContiguous() && (first(bias) & 15) == 0 && out.dtype() != DType.F64;
        if (fusable) matmulEpilogue(x, w, bias, Cublas.Epilogue.BIAS, out);
        else Backend.super.matmulAddBias(x, w, bias, out);
    }

    /**
     * out = epilogue(a @ b + bias) with cuBLASLt epilogues: a (M, K) and b (K, N) 2-d (row- or column-major views),
     * bias (N) contiguous (null when the epilogue has none), out (M, N) contiguous; F32, BF16 or F16. GELU is the
     * tanh form. This is the fused Linear(+GELU) of an MLP: {@code y = gelu(x @ W^T + b)} is
     * {@code matmulEpilogue(x, W.t(), b, GELU_BIAS, y)}. When cuBLASLt reports CUBLAS_STATUS_NOT_SUPPORTED for a case,
     * the result is computed with separate matmul, add and GELU kernels instead.
     */
    public void matmulEpilogue(Tensor a, Tensor b, Tensor bias, Cublas.Epilogue epilogue, Tensor out) {
        if (a.dim() != 2 || b.dim() != 2 || out.dim() != 2)
            throw new IllegalArgumentException("matmulEpilogue: expected 2-d a, b, out, got " + Shapes.str(a.shape()) + ", "
                    + Shapes.str(b.shape()) + ", " + Shapes.str(out.shape()));
        int m = a.size(0), k = a.size(1), n = b.size(1);
        if (b.size(0) != k || out.size(0) != m || out.size(1) != n)
            throw new IllegalArgumentException("matmulEpilogue: shapes " + Shapes.str(a.shape()) + " @ " + Shapes.str(b.shape())
                    + " -> " + Shapes.str(out.shape()) + " do not match");
        if (a.dtype() != b.dtype() || a.dtype() != out.dtype() || (bias != null && bias.dtype() != out.dtype()))
            throw new IllegalArgumentException("matmulEpilogue: a, b, bias and out must share one dtype");
        if (epilogue.hasBias() && (bias == null || bias.dim() != 1 || bias.size(0) != n || !bias.isContiguous()))
            throw new IllegalArgumentException("matmulEpilogue: epilogue " + epilogue + " needs a contiguous bias of shape [" + n + "]");
        if (!out.isContiguous()) throw new IllegalArgumentException("matmulEpilogue: out must be contiguous");
        if (m == 0 || n == 0) return;
        if (k == 0) throw new IllegalArgumentException("matmulEpilogue: K = 0 is not supported");
        Tensor ac = a, bc = b;
        GemmPlan.Layout la = GemmPlan.layout(a.shape(), a.strides());
        GemmPlan.Layout lb = GemmPlan.layout(b.shape(), b.strides());
        try {
            if (la == null) {
                ac = contiguousCopy(a);
                la = GemmPlan.layout(ac.shape(), ac.strides());
            }
            if (lb == null) {
                bc = contiguousCopy(b);
                lb = GemmPlan.layout(bc.shape(), bc.strides());
            }
            GemmPlan p = GemmPlan.of(1, m, n, k, la, lb);
            try {
                cublas().matmulLt(out.dtype(), p.transA, p.transB, p.m, p.n, p.k, first(bc), p.lda, first(ac), p.ldb,
                        first(out), p.ldc, epilogue.hasBias() ? first(bias) : 0L, epilogue);
                return;
            } catch (Cublas.CublasException e) {
                if (e.status() != Cublas.STATUS_NOT_SUPPORTED) throw e;
                epilogueFallbacks.incrementAndGet();
            }
            // cuBLASLt has no kernel for this case: the same result from separate ops.
            matmul(ac, bc, out);
            if (epilogue.hasBias()) {
                long[] st = {0, 1};
                binary(BinaryOp.ADD, out, Tensor.of(bias.storage(), new int[]{m, n}, st, bias.offset()), out);
            }
            if (epilogue == Cublas.Epilogue.GELU || epilogue == Cublas.Epilogue.GELU_BIAS) unary(UnaryOp.GELU, out, out);
        } finally {
            if (ac != a) ac.release();
            if (bc != b) bc.release();
        }
    }

    @Override
    public void softmax(Tensor x, int dim, boolean log, Tensor out) { sm().forward(x, dim, log, out); }

    @Override
    public void softmaxBackward(Tensor y, Tensor dy, int dim, boolean log, Tensor dx) { sm().backward(y, dy, dim, log, dx); }

    @Override
    public void layerNorm(Tensor x, Tensor weight, Tensor bias, double eps, Tensor out, Tensor mean, Tensor rstd) {
        ln().forward(x, weight, bias, eps, out, mean, rstd);
    }

    @Override
    public void layerNormBackward(Tensor dy, Tensor x, Tensor weight, Tensor mean, Tensor rstd, Tensor dx, Tensor dWeight,
                                  Tensor dBias) {
        ln().backward(dy, x, weight, mean, rstd, dx, dWeight, dBias);
    }

    @Override
    public void geluBackward(Tensor x, Tensor dy, Tensor dx) { gl().backward(x, dy, dx); }

    @Override
    public void embedding(Tensor weight, Tensor ids, Tensor out) { emb().forward(weight, ids, out); }

    @Override
    public void embeddingBackward(Tensor dOut, Tensor ids, Tensor dWeight) { emb().backward(dOut, ids, dWeight); }

    @Override
    public void crossEntropy(Tensor logits, Tensor targets, long ignoreIndex, Tensor lossPerRow, Tensor lse) {
        ce().forward(logits, targets, ignoreIndex, lossPerRow, lse);
    }

    @Override
    public void crossEntropyBackward(Tensor logits, Tensor targets, long ignoreIndex, Tensor lse, Tensor dLoss, Tensor dLogits) {
        ce().backward(logits, targets, ignoreIndex, lse, dLoss, dLogits);
    }

    @Override
    public void fillUniform(Tensor dst, long seed, long offset, double lo, double hi) { rnd().fill(false, dst, seed, offset, lo, hi); }

    @Override
    public void fillNormal(Tensor dst, long seed, long offset, double mean, double std) { rnd().fill(true, dst, seed, offset, mean, std); }

    @Override
    public void synchronize() { stream.synchronize(); }

    @Override
    public String toString() { return "CudaBackend(" + device + ")"; }
}
