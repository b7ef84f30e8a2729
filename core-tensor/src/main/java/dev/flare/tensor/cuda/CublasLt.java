package dev.flare.tensor.cuda;

import dev.flare.tensor.DType;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.LinkedHashMap;
import java.util.Map;

import static dev.flare.tensor.cuda.Cublas.check;

/**
 * cuBLASLt matmuls with epilogues (bias, GELU) for one {@link Cublas}. A plan is made once per problem (dtype,
 * transposes, sizes, leading dims, epilogue, operand alignments, precision switch, workspace size): the matmul
 * descriptor, the three matrix layouts and the heuristic's top {@value #REQUESTED_ALGOS} algorithms. A call then
 * costs two native calls (bias pointer, matmul) instead of a dozen descriptor calls and a heuristic query.
 *
 * <p>The first call of a plan runs the heuristic's algorithms in order and keeps the first that cuBLASLt accepts
 * (an algorithm may still answer CUBLAS_STATUS_NOT_SUPPORTED at run time); if none does, the call throws with
 * that status and the caller computes the result with separate kernels.
 */
final class CublasLt {
    static final int REQUESTED_ALGOS = 8;
    // cublasLtMatmulDescAttributes_t
    static final int DESC_TRANSA = 3, DESC_TRANSB = 4, DESC_EPILOGUE = 7, DESC_BIAS_POINTER = 8, DESC_BIAS_DATA_TYPE = 26;
    // cublasLtMatmulPreferenceAttributes_t
    static final int PREF_MAX_WORKSPACE_BYTES = 1, PREF_REDUCTION_SCHEME_MASK = 3, PREF_MIN_ALIGNMENT_A = 5,
            PREF_MIN_ALIGNMENT_B = 6, PREF_MIN_ALIGNMENT_C = 7, PREF_MIN_ALIGNMENT_D = 8;
    /** cublasLtReductionScheme_t: NONE 0, COMPUTE_TYPE 2 (split-K partials summed in F32, never in BF16/F16). */
    static final int REDUCTION_NONE_OR_COMPUTE_TYPE = 2;
    /** sizeof(cublasLtMatmulHeuristicResult_t): algo (64 bytes), workspaceSize, state, wavesCount, reserved[4]. */
    static final int HEURISTIC_RESULT_BYTES = 96, ALGO_BYTES = 64;
    private static final int MAX_PLANS = 512;

    private record Key(int dataType, int computeType, boolean transA, boolean transB, long m, long n, long k,
                       long lda, long ldb, long ldd, Cublas.Epilogue epilogue, int alignA, int alignB, int alignD,
                       int alignBias, boolean reducedReduction, long workspaceBytes) {}

    /** Native descriptors and heuristic results of one problem. */
    static final class Plan {
        final Arena arena = Arena.ofShared();
        MemorySegment desc = MemorySegment.NULL, aDesc = MemorySegment.NULL, bDesc = MemorySegment.NULL,
                dDesc = MemorySegment.NULL;
        MemorySegment results;
        int count;
        /** Index of the algorithm in use, -1 until one ran. */
        int chosen = -1;
        final MemorySegment biasCell = arena.allocate(ValueLayout.JAVA_LONG);
        long bias;

        MemorySegment algo(int i) { return results.asSlice((long) i * HEURISTIC_RESULT_BYTES, ALGO_BYTES); }

        long algoWorkspace(int i) { return results.get(ValueLayout.JAVA_LONG, (long) i * HEURISTIC_RESULT_BYTES + 64); }

        float waves(int i) { return results.get(ValueLayout.JAVA_FLOAT, (long) i * HEURISTIC_RESULT_BYTES + 76); }
    }

    private final Cublas cublas;
    private final CublasLibrary lib;
    private final MemorySegment handle;
    private final Map<Key, Plan> plans = new LinkedHashMap<>(64, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Key, Plan> e) {
            if (size() <= MAX_PLANS) return false;
            destroy(e.getValue());
            return true;
        }
    };

    CublasLt(Cublas cublas, MemorySegment handle) {
        this.cublas = cublas;
        this.lib = cublas.lib;
        this.handle = handle;
    }

    static int alignment(long address) {
        int a = 256;
        while (a > 1 && (address & (a - 1)) != 0) a >>= 1;
        return a;
    }

    /**
     * Column-major D = epilogue(op(A) op(B) + bias); bias (length m, dtype of D) may be 0 when the epilogue has
     * none. {@code algo} < 0 uses the plan's algorithm; otherwise the heuristic's algo-th result (for tuning).
     */
    synchronized void matmul(DType dtype, boolean transA, boolean transB, long m, long n, long k, long a, long lda,
                             long b, long ldb, long d, long ldd, long bias, Cublas.Epilogue epilogue, int algo) {
        Plan p = plan(dtype, transA, transB, m, n, k, a, lda, b, ldb, d, ldd, bias, epilogue);
        if (epilogue.hasBias() && p.bias != bias) {
            p.biasCell.set(ValueLayout.JAVA_LONG, 0, bias);
            check(lib.ltMatmulDescSetAttribute(p.desc, DESC_BIAS_POINTER, p.biasCell, 8L), "cublasLtMatmulDescSetAttribute(BIAS_POINTER)");
            p.bias = bias;
        }
        if (algo >= 0) {
            if (algo >= p.count) throw new IllegalArgumentException(what(dtype, epilogue, m, n, k) + ": the heuristic gave " + p.count + " algorithms");
            int status = run(p, algo, a, b, d);
            if (status != 0) check(status, what(dtype, epilogue, m, n, k) + " algorithm " + algo);
            return;
        }
        if (p.chosen >= 0) {
            int status = run(p, p.chosen, a, b, d);
            if (status != 0) check(status, what(dtype, epilogue, m, n, k));
            return;
        }
        int status = Cublas.STATUS_NOT_SUPPORTED;
        for (int i = 0; i < p.count; i++) {
            status = run(p, i, a, b, d);
            if (status == 0) {
                p.chosen = i;
                return;
            }
            if (status != Cublas.STATUS_NOT_SUPPORTED) break;
        }
        check(status, what(dtype, epilogue, m, n, k) + " (tried " + p.count + " algorithms)");
    }

    private static String what(DType dtype, Cublas.Epilogue epilogue, long m, long n, long k) {
        return "cublasLtMatmul(" + dtype + ", " + epilogue + ", m=" + m + ", n=" + n + ", k=" + k + ")";
    }

    /** Number of algorithms the heuristic offers for this problem (0 when none); makes the plan. */
    synchronized int algorithms(DType dtype, boolean transA, boolean transB, long m, long n, long k, long a, long lda,
                                long b, long ldb, long d, long ldd, long bias, Cublas.Epilogue epilogue) {
        try {
            return plan(dtype, transA, transB, m, n, k, a, lda, b, ldb, d, ldd, bias, epilogue).count;
        } catch (Cublas.CublasException e) {
            if (e.status() == Cublas.STATUS_NOT_SUPPORTED) return 0;
            throw e;
        }
    }

    /** Workspace bytes and waves count the heuristic reported for algorithm i of a planned problem (tuning). */
    synchronized String describe(DType dtype, boolean transA, boolean transB, long m, long n, long k, long a, long lda,
                                 long b, long ldb, long d, long ldd, long bias, Cublas.Epilogue epilogue, int i) {
        Plan p = plan(dtype, transA, transB, m, n, k, a, lda, b, ldb, d, ldd, bias, epilogue);
        return String.format("ws %d KiB, waves %.2f", p.algoWorkspace(i) >> 10, p.waves(i));
    }

    private int run(Plan p, int i, long a, long b, long d) {
        MemorySegment dp = Cublas.ptr(d);
        return lib.ltMatmul(handle, p.desc, cublas.oneF, Cublas.ptr(a), p.aDesc, Cublas.ptr(b), p.bDesc, cublas.zeroF,
                dp, p.dDesc, dp, p.dDesc, p.algo(i), cublas.workspaceSegment(), cublas.workspaceBytes(), cublas.stream.segment());
    }

    private Plan plan(DType dtype, boolean transA, boolean transB, long m, long n, long k, long a, long lda,
                      long b, long ldb, long d, long ldd, long bias, Cublas.Epilogue epilogue) {
        if (dtype == DType.F64) throw new IllegalArgumentException("cuBLASLt epilogues: F64 is not supported (F32, BF16, F16)");
        if (epilogue.hasBias() && bias == 0) throw new IllegalArgumentException("cuBLASLt: epilogue " + epilogue + " needs a bias");
        cublas.context().makeCurrent();
        boolean reduced = Cublas.allowReducedPrecisionReduction();
        Key key = new Key(Cublas.dataType(dtype), Cublas.computeType(dtype), transA, transB, m, n, k, lda, ldb, ldd,
                epilogue, alignment(a), alignment(b), alignment(d), epilogue.hasBias() ? alignment(bias) : 0, reduced,
                cublas.workspaceBytes());
        Plan p = plans.get(key);
        if (p != null) return p;
        p = new Plan();
        try {
            make(p, key);
        } catch (RuntimeException e) {
            destroy(p);
            throw e;
        }
        plans.put(key, p);
        return p;
    }

    private void make(Plan p, Key key) {
        int dt = key.dataType;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            check(lib.ltMatmulDescCreate(out, key.computeType, Cublas.CUDA_R_32F), "cublasLtMatmulDescCreate");
            p.desc = out.get(ValueLayout.ADDRESS, 0);
            setInt(arena, p.desc, DESC_TRANSA, key.transA ? Cublas.OP_T : Cublas.OP_N);
            setInt(arena, p.desc, DESC_TRANSB, key.transB ? Cublas.OP_T : Cublas.OP_N);
            setInt(arena, p.desc, DESC_EPILOGUE, key.epilogue.code);
            // The bias has D's type (the documented default, stated so a future default cannot change it).
            if (key.epilogue.hasBias()) setInt(arena, p.desc, DESC_BIAS_DATA_TYPE, dt);
            p.aDesc = layout(arena, dt, key.transA ? key.k : key.m, key.transA ? key.m : key.k, key.lda);
            p.bDesc = layout(arena, dt, key.transB ? key.n : key.k, key.transB ? key.k : key.n, key.ldb);
            p.dDesc = layout(arena, dt, key.m, key.n, key.ldd);
            check(lib.ltPreferenceCreate(out), "cublasLtMatmulPreferenceCreate");
            MemorySegment pref = out.get(ValueLayout.ADDRESS, 0);
            try {
                check(lib.ltPreferenceSetAttribute(pref, PREF_MAX_WORKSPACE_BYTES,
                        arena.allocateFrom(ValueLayout.JAVA_LONG, key.workspaceBytes), 8L), "cublasLtMatmulPreferenceSetAttribute(MAX_WORKSPACE_BYTES)");
                setPref(arena, pref, PREF_MIN_ALIGNMENT_A, key.alignA);
                setPref(arena, pref, PREF_MIN_ALIGNMENT_B, key.alignB);
                setPref(arena, pref, PREF_MIN_ALIGNMENT_C, key.alignD);
                setPref(arena, pref, PREF_MIN_ALIGNMENT_D, key.alignD);
                if (!key.reducedReduction && dt != Cublas.CUDA_R_32F)
                    setPref(arena, pref, PREF_REDUCTION_SCHEME_MASK, REDUCTION_NONE_OR_COMPUTE_TYPE);
                MemorySegment results = p.arena.allocate((long) HEURISTIC_RESULT_BYTES * REQUESTED_ALGOS, 8);
                MemorySegment count = arena.allocate(ValueLayout.JAVA_INT);
                check(lib.ltAlgoGetHeuristic(handle, p.desc, p.aDesc, p.bDesc, p.dDesc, p.dDesc, pref, REQUESTED_ALGOS,
                        results, count), "cublasLtMatmulAlgoGetHeuristic");
                p.results = results;
                p.count = compact(results, count.get(ValueLayout.JAVA_INT, 0));
            } finally {
                lib.ltPreferenceDestroy(pref);
            }
        }
        if (p.count == 0)
            throw new Cublas.CublasException("cublasLtMatmulAlgoGetHeuristic found no algorithm for " + key, Cublas.STATUS_NOT_SUPPORTED);
    }

    /** Drops results whose state is not CUBLAS_STATUS_SUCCESS; returns how many remain (in heuristic order). */
    private static int compact(MemorySegment results, int n) {
        int kept = 0;
        for (int i = 0; i < n; i++) {
            if (results.get(ValueLayout.JAVA_INT, (long) i * HEURISTIC_RESULT_BYTES + 72) != 0) continue;
            if (kept != i)
                MemorySegment.copy(results, (long) i * HEURISTIC_RESULT_BYTES, results, (long) kept * HEURISTIC_RESULT_BYTES, HEURISTIC_RESULT_BYTES);
            kept++;
        }
        return kept;
    }

    private void destroy(Plan p) {
        if (!p.aDesc.equals(MemorySegment.NULL)) lib.ltMatrixLayoutDestroy(p.aDesc);
        if (!p.bDesc.equals(MemorySegment.NULL)) lib.ltMatrixLayoutDestroy(p.bDesc);
        if (!p.dDesc.equals(MemorySegment.NULL)) lib.ltMatrixLayoutDestroy(p.dDesc);
        if (!p.desc.equals(MemorySegment.NULL)) lib.ltMatmulDescDestroy(p.desc);
        p.arena.close();
    }

    private void setInt(Arena arena, MemorySegment desc, int attr, int value) {
        check(lib.ltMatmulDescSetAttribute(desc, attr, arena.allocateFrom(ValueLayout.JAVA_INT, value), 4L),
                "cublasLtMatmulDescSetAttribute(" + attr + ")");
    }

    private void setPref(Arena arena, MemorySegment pref, int attr, int value) {
        check(lib.ltPreferenceSetAttribute(pref, attr, arena.allocateFrom(ValueLayout.JAVA_INT, value), 4L),
                "cublasLtMatmulPreferenceSetAttribute(" + attr + ")");
    }

    private MemorySegment layout(Arena arena, int type, long rows, long cols, long ld) {
        MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
        check(lib.ltMatrixLayoutCreate(out, type, rows, cols, ld), "cublasLtMatrixLayoutCreate(" + rows + "x" + cols + ", ld=" + ld + ")");
        return out.get(ValueLayout.ADDRESS, 0);
    }
}
