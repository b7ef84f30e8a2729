package dev.flare.tensor.cuda;

import dev.flare.tensor.DType;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * cuBLAS and cuBLASLt for one stream of one device, through FFM ({@link CublasLibrary}). The calls use cuBLAS's
 * column-major conventions; {@link CudaBackend#matmul} maps row-major tensors onto them (C^T = B^T A^T).
 *
 * <p>Precision: F32 GEMMs use CUBLAS_COMPUTE_32F (exact FP32, no TF32) unless {@link #setAllowTf32(boolean)}
 * turns on CUBLAS_COMPUTE_32F_FAST_TF32; BF16 and F16 GEMMs accumulate in F32 (CUBLAS_COMPUTE_32F, with the math
 * mode CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION so split-K partial sums stay F32 too); F64 uses
 * CUBLAS_COMPUTE_64F. Every status is checked; a failure names the call and the status.
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
    // cublasLtMatmulDescAttributes_t
    static final int DESC_TRANSA = 3, DESC_TRANSB = 4, DESC_EPILOGUE = 7, DESC_BIAS_POINTER = 8;
    // cublasLtMatmulPreferenceAttributes_t
    static final int PREF_MAX_WORKSPACE_BYTES = 1, PREF_MIN_ALIGNMENT_A = 5, PREF_MIN_ALIGNMENT_B = 6,
            PREF_MIN_ALIGNMENT_C = 7, PREF_MIN_ALIGNMENT_D = 8;
    /** sizeof(cublasLtMatmulHeuristicResult_t): algo (64 bytes), workspaceSize, state, wavesCount, reserved[4]. */
    static final int HEURISTIC_RESULT_BYTES = 96;
    static final long LT_WORKSPACE_BYTES = 32L << 20;

    /** cuBLASLt epilogues (cublasLtEpilogue_t values). */
    public enum Epilogue {
        NONE(1), BIAS(4), GELU(32), GELU_BIAS(36);

        final int code;

        Epilogue(int code) { this.code = code; }

        boolean hasBias() { return this == BIAS || this == GELU_BIAS; }
    }

    private static volatile boolean allowTf32;

    /** Lets F32 GEMMs use TF32 tensor cores (faster, about 10 mantissa bits). Off by default, for exactness. */
    public static void setAllowTf32(boolean allow) { allowTf32 = allow; }

    public static boolean allowTf32() { return allowTf32; }

    private final CublasLibrary lib;
    private final CudaContext context;
    private final CudaStream stream;
    private final CachingAllocator allocator;
    private final MemorySegment handle, ltHandle;
    private final MemorySegment oneF, zeroF, oneD, zeroD;
    private CachingAllocator.Block workspace;
    private final Map<String, MemorySegment> algoCache = new LinkedHashMap<>(64, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, MemorySegment> e) { return size() > 512; }
    };

    Cublas(CudaContext context, CudaStream stream, CachingAllocator allocator) {
        this.lib = CublasLibrary.get();
        this.context = context;
        this.stream = stream;
        this.allocator = allocator;
        context.makeCurrent();
        Arena arena = Arena.global();
        MemorySegment h = arena.allocate(ValueLayout.ADDRESS);
        check(call(lib.create, h), "cublasCreate_v2");
        handle = h.get(ValueLayout.ADDRESS, 0);
        check(call(lib.setStream, handle, stream.segment()), "cublasSetStream_v2");
        // BF16/F16 GEMMs accumulate in F32 all the way: no split-K reductions in the output precision.
        check(call(lib.setMathMode, handle, MATH_DEFAULT | MATH_DISALLOW_REDUCED_PRECISION_REDUCTION), "cublasSetMathMode");
        MemorySegment lh = arena.allocate(ValueLayout.ADDRESS);
        check(call(lib.ltCreate, lh), "cublasLtCreate");
        ltHandle = lh.get(ValueLayout.ADDRESS, 0);
        oneF = arena.allocateFrom(ValueLayout.JAVA_FLOAT, 1f);
        zeroF = arena.allocateFrom(ValueLayout.JAVA_FLOAT, 0f);
        oneD = arena.allocateFrom(ValueLayout.JAVA_DOUBLE, 1d);
        zeroD = arena.allocateFrom(ValueLayout.JAVA_DOUBLE, 0d);
    }

    /** "libcublas.so.13 + libcublasLt.so.13", or throws saying why cuBLAS cannot be loaded. */
    public static String libraryDescription() { return CublasLibrary.get().describe; }

    public int version() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(ValueLayout.JAVA_INT);
            check(call(lib.getVersion, handle, v), "cublasGetVersion_v2");
            return v.get(ValueLayout.JAVA_INT, 0);
        }
    }

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

    private MemorySegment one(DType t) { return t == DType.F64 ? oneD : oneF; }

    private MemorySegment zero(DType t) { return t == DType.F64 ? zeroD : zeroF; }

    private static MemorySegment ptr(long address) { return MemorySegment.ofAddress(address); }

    /**
     * Column-major C = op(A) op(B), strided-batched (batch 1 uses cublasGemmEx). A, B, C are device addresses of
     * the first matrices; strides are in elements.
     */
    public void gemm(DType dtype, boolean transA, boolean transB, int m, int n, int k,
                     long a, int lda, long strideA, long b, int ldb, long strideB, long c, int ldc, long strideC, int batch) {
        int dt = dataType(dtype), ct = computeType(dtype);
        context.makeCurrent();
        int ta = transA ? OP_T : OP_N, tb = transB ? OP_T : OP_N;
        if (batch == 1) {
            check(call(lib.gemmEx, handle, ta, tb, m, n, k, one(dtype), ptr(a), dt, lda, ptr(b), dt, ldb,
                    zero(dtype), ptr(c), dt, ldc, ct, GEMM_DEFAULT), "cublasGemmEx(" + dtype + ", m=" + m + ", n=" + n + ", k=" + k + ")");
        } else {
            check(call(lib.gemmStridedBatchedEx, handle, ta, tb, m, n, k, one(dtype), ptr(a), dt, lda, strideA,
                    ptr(b), dt, ldb, strideB, zero(dtype), ptr(c), dt, ldc, strideC, batch, ct, GEMM_DEFAULT),
                    "cublasGemmStridedBatchedEx(" + dtype + ", m=" + m + ", n=" + n + ", k=" + k + ", batch=" + batch + ")");
        }
    }

    private static int alignment(long address) {
        int a = 256;
        while (a > 1 && (address & (a - 1)) != 0) a >>= 1;
        return a;
    }

    /**
     * Column-major D = epilogue(op(A) op(B) + bias) through cublasLtMatmul: bias (length m, dtype of D, may be 0
     * when the epilogue has none) is added to every column, GELU (tanh form) applied after. F32, BF16, F16.
     */
    public void matmulLt(DType dtype, boolean transA, boolean transB, long m, long n, long k,
                         long a, long lda, long b, long ldb, long d, long ldd, long bias, Epilogue epilogue) {
        if (dtype == DType.F64) throw new IllegalArgumentException("cuBLASLt epilogues: F64 is not supported (F32, BF16, F16)");
        if (epilogue.hasBias() && bias == 0) throw new IllegalArgumentException("cuBLASLt: epilogue " + epilogue + " needs a bias");
        int dt = dataType(dtype), ct = computeType(dtype);
        context.makeCurrent();
        ensureWorkspace();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment p = arena.allocate(ValueLayout.ADDRESS);
            check(call(lib.ltMatmulDescCreate, p, ct, CUDA_R_32F), "cublasLtMatmulDescCreate");
            MemorySegment desc = p.get(ValueLayout.ADDRESS, 0);
            MemorySegment aDesc = MemorySegment.NULL, bDesc = MemorySegment.NULL, dDesc = MemorySegment.NULL, pref = MemorySegment.NULL;
            try {
                setDesc(arena, desc, DESC_TRANSA, transA ? OP_T : OP_N);
                setDesc(arena, desc, DESC_TRANSB, transB ? OP_T : OP_N);
                setDesc(arena, desc, DESC_EPILOGUE, epilogue.code);
                if (epilogue.hasBias()) {
                    MemorySegment bp = arena.allocateFrom(ValueLayout.JAVA_LONG, bias);
                    check(call(lib.ltMatmulDescSetAttribute, desc, DESC_BIAS_POINTER, bp, 8L), "cublasLtMatmulDescSetAttribute(BIAS_POINTER)");
                }
                aDesc = layout(arena, dt, transA ? k : m, transA ? m : k, lda);
                bDesc = layout(arena, dt, transB ? n : k, transB ? k : n, ldb);
                dDesc = layout(arena, dt, m, n, ldd);
                check(call(lib.ltPreferenceCreate, p), "cublasLtMatmulPreferenceCreate");
                pref = p.get(ValueLayout.ADDRESS, 0);
                MemorySegment ws = arena.allocateFrom(ValueLayout.JAVA_LONG, LT_WORKSPACE_BYTES);
                check(call(lib.ltPreferenceSetAttribute, pref, PREF_MAX_WORKSPACE_BYTES, ws, 8L), "cublasLtMatmulPreferenceSetAttribute(MAX_WORKSPACE_BYTES)");
                int alA = alignment(a), alB = alignment(b), alD = alignment(d);
                setPref(arena, pref, PREF_MIN_ALIGNMENT_A, alA);
                setPref(arena, pref, PREF_MIN_ALIGNMENT_B, alB);
                setPref(arena, pref, PREF_MIN_ALIGNMENT_C, alD);
                setPref(arena, pref, PREF_MIN_ALIGNMENT_D, alD);
                String key = dtype + ":" + ct + ":" + transA + transB + ":" + m + "x" + n + "x" + k + ":" + lda + "," + ldb + "," + ldd
                        + ":" + epilogue + ":" + alA + "," + alB + "," + alD + "," + (epilogue.hasBias() ? alignment(bias) : 0);
                MemorySegment algo = algoCache.get(key);
                if (algo == null) {
                    MemorySegment results = arena.allocate(HEURISTIC_RESULT_BYTES, 8);
                    MemorySegment count = arena.allocate(ValueLayout.JAVA_INT);
                    check(call(lib.ltAlgoGetHeuristic, ltHandle, desc, aDesc, bDesc, dDesc, dDesc, pref, 1, results, count),
                            "cublasLtMatmulAlgoGetHeuristic");
                    if (count.get(ValueLayout.JAVA_INT, 0) < 1)
                        throw new CublasException("cublasLtMatmulAlgoGetHeuristic found no algorithm for " + key, STATUS_NOT_SUPPORTED);
                    algo = Arena.ofAuto().allocate(64, 8);
                    MemorySegment.copy(results, 0, algo, 0, 64);
                    algoCache.put(key, algo);
                }
                check(call(lib.ltMatmul, ltHandle, desc, oneF, ptr(a), aDesc, ptr(b), bDesc, zeroF, ptr(d), dDesc,
                        ptr(d), dDesc, algo, ptr(workspace.address()), LT_WORKSPACE_BYTES, stream.segment()),
                        "cublasLtMatmul(" + dtype + ", " + epilogue + ", m=" + m + ", n=" + n + ", k=" + k + ")");
            } finally {
                if (!pref.equals(MemorySegment.NULL)) call(lib.ltPreferenceDestroy, pref);
                for (MemorySegment l : new MemorySegment[]{aDesc, bDesc, dDesc})
                    if (!l.equals(MemorySegment.NULL)) call(lib.ltMatrixLayoutDestroy, l);
                call(lib.ltMatmulDescDestroy, desc);
            }
        }
    }

    private void ensureWorkspace() {
        if (workspace == null) workspace = allocator.allocate(LT_WORKSPACE_BYTES, stream);
    }

    private void setDesc(Arena arena, MemorySegment desc, int attr, int value) {
        MemorySegment v = arena.allocateFrom(ValueLayout.JAVA_INT, value);
        check(call(lib.ltMatmulDescSetAttribute, desc, attr, v, 4L), "cublasLtMatmulDescSetAttribute(" + attr + ")");
    }

    private void setPref(Arena arena, MemorySegment pref, int attr, int value) {
        MemorySegment v = arena.allocateFrom(ValueLayout.JAVA_INT, value);
        check(call(lib.ltPreferenceSetAttribute, pref, attr, v, 4L), "cublasLtMatmulPreferenceSetAttribute(" + attr + ")");
    }

    private MemorySegment layout(Arena arena, int type, long rows, long cols, long ld) {
        MemorySegment p = arena.allocate(ValueLayout.ADDRESS);
        check(call(lib.ltMatrixLayoutCreate, p, type, rows, cols, ld),
                "cublasLtMatrixLayoutCreate(" + rows + "x" + cols + ", ld=" + ld + ")");
        return p.get(ValueLayout.ADDRESS, 0);
    }

    private static int call(java.lang.invoke.MethodHandle h, Object... args) {
        try {
            return (int) h.invokeWithArguments(args);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("native call failed: " + t, t);
        }
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
