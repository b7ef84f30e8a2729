package dev.flare.tensor.cuda;

import dev.flare.tensor.DType;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * cuBLAS and cuBLASLt for one stream of one device, through FFM ({@link CublasLibrary}). The calls use cuBLAS's
 * column-major conventions; {@link CudaBackend#matmul} maps row-major tensors onto them (C^T = B^T A^T).
 *
 * <p>Precision: F32 GEMMs use CUBLAS_COMPUTE_32F (exact FP32, no TF32) unless {@link #setAllowTf32(boolean)}
 * turns on CUBLAS_COMPUTE_32F_FAST_TF32; F64 uses CUBLAS_COMPUTE_64F. BF16 and F16 GEMMs multiply and accumulate
 * in F32 (CUBLAS_COMPUTE_32F). Like PyTorch (whose {@code allow_bf16_reduced_precision_reduction} and
 * {@code allow_fp16_reduced_precision_reduction} default to true), cuBLAS may then sum split-K partial results in
 * the output precision, which lets it pick faster split-K kernels for skinny shapes; each partial sum is still
 * accumulated in F32, so the extra error is a few roundings to BF16/F16 of partial sums.
 * {@link #setAllowReducedPrecisionReduction(boolean) setAllowReducedPrecisionReduction(false)} keeps every
 * reduction in F32 (CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION for cuBLAS, the reduction-scheme mask
 * COMPUTE_TYPE|NONE for cuBLASLt, as PyTorch does).
 *
 * <p>Workspace: the handle gets a {@value #WORKSPACE_BYTES}-byte workspace from the caching allocator
 * ({@code cublasSetWorkspace_v2}; NVIDIA recommends 32 MiB on Hopper, 4 MiB before, and PyTorch gives 32 MiB on
 * sm_90). Without one, cuBLAS cannot use split-K or stream-K kernels that need scratch. cuBLASLt uses the same
 * block: every call is queued on the one stream, so they never overlap. Every status is checked; a failure names
 * the call and the status.
 */
public final class Cublas {
    // cudaDataType
    static final int CUDA_R_32F = 0, CUDA_R_64F = 1, CUDA_R_16F = 2, CUDA_R_16BF = 14;
    // cublasComputeType_t
    static final int COMPUTE_32F = 68, COMPUTE_32F_FAST_TF32 = 77, COMPUTE_64F = 70;
    static final int OP_N = 0, OP_T = 1;
    static final int STATUS_NOT_SUPPORTED = 15;
    static final int GEMM_DEFAULT = -1;
    /** cublasMath_t: default math, and split-K reductions in the compute type (F32), never in BF16/F16. */
    static final int MATH_DEFAULT = 0, MATH_DISALLOW_REDUCED_PRECISION_REDUCTION = 16;
    /** Workspace of the cuBLAS handle and of cuBLASLt calls (32 MiB: NVIDIA's recommendation for Hopper). */
    static final long WORKSPACE_BYTES = 32L << 20;

    /** cuBLASLt epilogues (cublasLtEpilogue_t values). */
    public enum Epilogue {
        NONE(1), BIAS(4), GELU(32), GELU_BIAS(36);

        final int code;

        Epilogue(int code) { this.code = code; }

        boolean hasBias() { return this == BIAS || this == GELU_BIAS; }
    }

    private static volatile boolean allowTf32;
    private static volatile boolean allowReducedPrecisionReduction = true;

    /** Lets F32 GEMMs use TF32 tensor cores (faster, about 10 mantissa bits). Off by default, for exactness. */
    public static void setAllowTf32(boolean allow) { allowTf32 = allow; }

    public static boolean allowTf32() { return allowTf32; }

    /**
     * Lets BF16/F16 GEMMs sum split-K partial results in the output precision (on by default, as in PyTorch);
     * false keeps every reduction in F32, at some speed cost on shapes where cuBLAS would split K.
     */
    public static void setAllowReducedPrecisionReduction(boolean allow) { allowReducedPrecisionReduction = allow; }

    public static boolean allowReducedPrecisionReduction() { return allowReducedPrecisionReduction; }

    final CublasLibrary lib;
    private final CudaContext context;
    final CudaStream stream;
    private final MemorySegment handle;
    final MemorySegment oneF, zeroF, oneD, zeroD;
    private final CachingAllocator.Block workspace;
    /** The math mode last set on the handle (set again only when the precision switch changes). */
    private int mathMode = -1;
    /** Bytes of workspace handed to cuBLAS and cuBLASLt; 0 turns it off (for {@code CublasTuning}). */
    private long workspaceBytes = WORKSPACE_BYTES;
    private final CublasLt lt;

    Cublas(CudaContext context, CudaStream stream, CachingAllocator allocator) {
        this.lib = CublasLibrary.get();
        this.context = context;
        this.stream = stream;
        context.makeCurrent();
        Arena arena = Arena.global();
        MemorySegment h = arena.allocate(ValueLayout.ADDRESS);
        check(lib.create(h), "cublasCreate_v2");
        handle = h.get(ValueLayout.ADDRESS, 0);
        check(lib.setStream(handle, stream.segment()), "cublasSetStream_v2");
        // Allocator blocks are cuMemAlloc allocations (never split), so 256-byte aligned as cuBLAS requires.
        workspace = allocator.allocate(WORKSPACE_BYTES, stream);
        check(lib.setWorkspace(handle, workspaceSegment(), workspaceBytes), "cublasSetWorkspace_v2");
        oneF = arena.allocateFrom(ValueLayout.JAVA_FLOAT, 1f);
        zeroF = arena.allocateFrom(ValueLayout.JAVA_FLOAT, 0f);
        oneD = arena.allocateFrom(ValueLayout.JAVA_DOUBLE, 1d);
        zeroD = arena.allocateFrom(ValueLayout.JAVA_DOUBLE, 0d);
        MemorySegment lh = arena.allocate(ValueLayout.ADDRESS);
        check(lib.ltCreate(lh), "cublasLtCreate");
        lt = new CublasLt(this, lh.get(ValueLayout.ADDRESS, 0));
    }

    /** "libcublas.so.13 + libcublasLt.so.13", or throws saying why cuBLAS cannot be loaded. */
    public static String libraryDescription() { return CublasLibrary.get().describe; }

    public int version() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(ValueLayout.JAVA_INT);
            check(lib.getVersion(handle, v), "cublasGetVersion_v2");
            return v.get(ValueLayout.JAVA_INT, 0);
        }
    }

    CudaContext context() { return context; }

    MemorySegment workspaceSegment() { return MemorySegment.ofAddress(workspace.address()); }

    long workspaceBytes() { return workspaceBytes; }

    /** Turns the workspace of cuBLAS and cuBLASLt on (32 MiB) or off; for measuring what it buys. */
    synchronized void setWorkspaceEnabled(boolean enabled) {
        context.makeCurrent();
        workspaceBytes = enabled ? WORKSPACE_BYTES : 0;
        check(lib.setWorkspace(handle, enabled ? workspaceSegment() : MemorySegment.NULL, workspaceBytes), "cublasSetWorkspace_v2");
    }

    CublasLt lt() { return lt; }

    static int dataType(DType t) {
        return switch (t) {
            case F32 -> CUDA_R_32F;
            case F64 -> CUDA_R_64F;
            case F16 -> CUDA_R_16F;
            case BF16 -> CUDA_R_16BF;
            default -> throw new IllegalArgumentException("cuBLAS: no GEMM for " + t + " (F32, F64, BF16, F16 only)");
        };
    }

    static int computeType(DType t) {
        return switch (t) {
            case F64 -> COMPUTE_64F;
            case F32 -> allowTf32 ? COMPUTE_32F_FAST_TF32 : COMPUTE_32F;
            default -> COMPUTE_32F;
        };
    }

    MemorySegment one(DType t) { return t == DType.F64 ? oneD : oneF; }

    MemorySegment zero(DType t) { return t == DType.F64 ? zeroD : zeroF; }

    static MemorySegment ptr(long address) { return MemorySegment.ofAddress(address); }

    /**
     * Column-major C = op(A) op(B), strided-batched (batch 1 uses cublasGemmEx). A, B, C are device addresses of
     * the first matrices; strides are in elements.
     */
    public synchronized void gemm(DType dtype, boolean transA, boolean transB, int m, int n, int k,
                                  long a, int lda, long strideA, long b, int ldb, long strideB, long c, int ldc, long strideC, int batch) {
        int dt = dataType(dtype), ct = computeType(dtype);
        context.makeCurrent();
        int mode = allowReducedPrecisionReduction ? MATH_DEFAULT : MATH_DEFAULT | MATH_DISALLOW_REDUCED_PRECISION_REDUCTION;
        if (mode != mathMode) {
            check(lib.setMathMode(handle, mode), "cublasSetMathMode");
            mathMode = mode;
        }
        int ta = transA ? OP_T : OP_N, tb = transB ? OP_T : OP_N;
        KernelTimer timer = context.kernelTimer();
        Object started = timer.begin(stream);
        int status = batch == 1
                ? lib.gemmEx(handle, ta, tb, m, n, k, one(dtype), ptr(a), dt, lda, ptr(b), dt, ldb,
                        zero(dtype), ptr(c), dt, ldc, ct, GEMM_DEFAULT)
                : lib.gemmStridedBatchedEx(handle, ta, tb, m, n, k, one(dtype), ptr(a), dt, lda, strideA,
                        ptr(b), dt, ldb, strideB, zero(dtype), ptr(c), dt, ldc, strideC, batch, ct, GEMM_DEFAULT);
        if (timer.enabled()) timer.end(started, (batch == 1 ? "cublasGemmEx " : "cublasGemmStridedBatchedEx ") + dtype
                + " (column-major m n k " + m + " " + n + " " + k + (batch == 1 ? "" : ", batch " + batch) + ")", stream);
        if (status != 0)
            check(status, (batch == 1 ? "cublasGemmEx(" : "cublasGemmStridedBatchedEx(") + dtype + ", m=" + m + ", n=" + n
                    + ", k=" + k + (batch == 1 ? "" : ", batch=" + batch) + ")");
    }

    /**
     * Column-major D = epilogue(op(A) op(B) + bias) through cublasLtMatmul: bias (length m, dtype of D, may be 0
     * when the epilogue has none) is added to every column, GELU (tanh form) applied after. F32, BF16, F16.
     */
    public void matmulLt(DType dtype, boolean transA, boolean transB, long m, long n, long k,
                         long a, long lda, long b, long ldb, long d, long ldd, long bias, Epilogue epilogue) {
        KernelTimer timer = context.kernelTimer();
        Object started = timer.begin(stream);
        lt.matmul(dtype, transA, transB, m, n, k, a, lda, b, ldb, d, ldd, bias, epilogue, -1);
        if (timer.enabled()) timer.end(started, "cublasLtMatmul " + dtype + " " + epilogue + " (column-major m n k " + m + " "
                + n + " " + k + ")", stream);
    }

    static void check(int status, String call) {
        if (status != 0) throw new CublasException(call + " failed: " + statusName(status) + " (" + status + ")", status);
    }

    /** cublasStatus_t names. */
    public static String statusName(int status) {
        return switch (status) {
            case 0 -> "CUBLAS_STATUS_SUCCESS";
            case 1 -> "CUBLAS_STATUS_NOT_INITIALIZED";
            case 3 -> "CUBLAS_STATUS_ALLOC_FAILED";
            case 7 -> "CUBLAS_STATUS_INVALID_VALUE";
            case 8 -> "CUBLAS_STATUS_ARCH_MISMATCH";
            case 11 -> "CUBLAS_STATUS_MAPPING_ERROR";
            case 13 -> "CUBLAS_STATUS_EXECUTION_FAILED";
            case 14 -> "CUBLAS_STATUS_INTERNAL_ERROR";
            case 15 -> "CUBLAS_STATUS_NOT_SUPPORTED";
            case 16 -> "CUBLAS_STATUS_LICENSE_ERROR";
            default -> "cublasStatus " + status;
        };
    }

    /** A cuBLAS or cuBLASLt call returned an error status. */
    public static final class CublasException extends RuntimeException {
        private final int status;

        public CublasException(String message, int status) {
            super(message);
            this.status = status;
        }

        public int status() { return status; }
    }
}
