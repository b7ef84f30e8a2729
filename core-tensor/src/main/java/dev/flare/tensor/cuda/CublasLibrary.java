package dev.flare.tensor.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

import static dev.flare.tensor.cuda.NativeBinding.rethrow;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The cuBLAS and cuBLASLt entry points Flare uses, bound through java.lang.foreign (FFM). JCublas cannot be used:
 * its JNI library is linked against {@code libcublas.so.12}, which a CUDA 13 machine does not have. FFM binds
 * whatever is installed: {@code libcublasLt.so.13} and {@code libcublas.so.13}, else the {@code .so.12} pair. The
 * real exported names are bound ({@code cublasCreate_v2}, not the header macro {@code cublasCreate}).
 *
 * <p>Calls go through typed wrappers that use {@code MethodHandle.invokeExact}: the hot paths (one GEMM is a
 * handful of calls) cost no boxing or argument spreading, unlike {@code invokeWithArguments}.
 *
 * <p>Search order, per major version (13, then 12): the dynamic loader's own search (LD_LIBRARY_PATH, ldconfig),
 * then {@code -Dflare.cuda.libdir}, {@code $CUDA_HOME/lib64}, {@code $CUDA_PATH/lib64}, {@code /usr/local/cuda/lib64},
 * {@code /usr/local/cuda/targets/x86_64-linux/lib}, {@code /usr/lib/x86_64-linux-gnu}. A failure says everything
 * that was tried.
 */
@SuppressWarnings("restricted")
final class CublasLibrary {
    private static final NativeBinding<CublasLibrary> BINDING = new NativeBinding<>(CublasLibrary::load);

    final String describe;
    final int majorVersion;

    // cuBLAS
    final MethodHandle create, destroy, setStream, setMathMode, setWorkspace, getVersion, gemmEx, gemmStridedBatchedEx;
    // cuBLASLt
    final MethodHandle ltCreate, ltMatmulDescCreate, ltMatmulDescSetAttribute, ltMatmulDescDestroy,
            ltMatrixLayoutCreate, ltMatrixLayoutDestroy, ltPreferenceCreate, ltPreferenceSetAttribute,
            ltPreferenceDestroy, ltAlgoGetHeuristic, ltMatmul;

    private CublasLibrary(SymbolLookup blas, SymbolLookup lt, String describe, int majorVersion) {
        this.describe = describe;
        this.majorVersion = majorVersion;
        Linker linker = Linker.nativeLinker();
        create = bind(linker, blas, "cublasCreate_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        destroy = bind(linker, blas, "cublasDestroy_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        setStream = bind(linker, blas, "cublasSetStream_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        setMathMode = bind(linker, blas, "cublasSetMathMode", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        // cublasSetWorkspace_v2(handle, void* workspace, size_t bytes): workspace aligned to 256 bytes.
        setWorkspace = bind(linker, blas, "cublasSetWorkspace_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG));
        getVersion = bind(linker, blas, "cublasGetVersion_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        // cublasGemmEx(handle, transa, transb, m, n, k, alpha, A, Atype, lda, B, Btype, ldb, beta, C, Ctype, ldc,
        //              computeType, algo)
        gemmEx = bind(linker, blas, "cublasGemmEx", FunctionDescriptor.of(JAVA_INT,
                ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT,
                ADDRESS, ADDRESS, JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT,
                ADDRESS, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
        // cublasGemmStridedBatchedEx(handle, transa, transb, m, n, k, alpha, A, Atype, lda, strideA, B, Btype, ldb,
        //              strideB, beta, C, Ctype, ldc, strideC, batchCount, computeType, algo)
        gemmStridedBatchedEx = bind(linker, blas, "cublasGemmStridedBatchedEx", FunctionDescriptor.of(JAVA_INT,
                ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT,
                ADDRESS, ADDRESS, JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS, JAVA_INT, JAVA_INT, JAVA_LONG,
                ADDRESS, ADDRESS, JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT));

        ltCreate = bind(linker, lt, "cublasLtCreate", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        ltMatmulDescCreate = bind(linker, lt, "cublasLtMatmulDescCreate", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT));
        ltMatmulDescSetAttribute = bind(linker, lt, "cublasLtMatmulDescSetAttribute",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, JAVA_LONG));
        ltMatmulDescDestroy = bind(linker, lt, "cublasLtMatmulDescDestroy", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        ltMatrixLayoutCreate = bind(linker, lt, "cublasLtMatrixLayoutCreate",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG));
        ltMatrixLayoutDestroy = bind(linker, lt, "cublasLtMatrixLayoutDestroy", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        ltPreferenceCreate = bind(linker, lt, "cublasLtMatmulPreferenceCreate", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        ltPreferenceSetAttribute = bind(linker, lt, "cublasLtMatmulPreferenceSetAttribute",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, JAVA_LONG));
        ltPreferenceDestroy = bind(linker, lt, "cublasLtMatmulPreferenceDestroy", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        // cublasLtMatmulAlgoGetHeuristic(handle, opDesc, Adesc, Bdesc, Cdesc, Ddesc, pref, requested, results*, returned*)
        ltAlgoGetHeuristic = bind(linker, lt, "cublasLtMatmulAlgoGetHeuristic", FunctionDescriptor.of(JAVA_INT,
                ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS));
        // cublasLtMatmul(handle, desc, alpha, A, Adesc, B, Bdesc, beta, C, Cdesc, D, Ddesc, algo*, workspace, size, stream)
        ltMatmul = bind(linker, lt, "cublasLtMatmul", FunctionDescriptor.of(JAVA_INT,
                ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS,
                ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG, ADDRESS));
    }

    // ---- typed calls (invokeExact: the argument types must match the descriptors exactly) --------------------

    int create(MemorySegment handleOut) {
        try { return (int) create.invokeExact(handleOut); } catch (Throwable t) { throw rethrow(t); }
    }

    int setStream(MemorySegment handle, MemorySegment stream) {
        try { return (int) setStream.invokeExact(handle, stream); } catch (Throwable t) { throw rethrow(t); }
    }

    int setMathMode(MemorySegment handle, int mode) {
        try { return (int) setMathMode.invokeExact(handle, mode); } catch (Throwable t) { throw rethrow(t); }
    }

    int setWorkspace(MemorySegment handle, MemorySegment workspace, long bytes) {
        try { return (int) setWorkspace.invokeExact(handle, workspace, bytes); } catch (Throwable t) { throw rethrow(t); }
    }

    int getVersion(MemorySegment handle, MemorySegment out) {
        try { return (int) getVersion.invokeExact(handle, out); } catch (Throwable t) { throw rethrow(t); }
    }

    int gemmEx(MemorySegment handle, int ta, int tb, int m, int n, int k, MemorySegment alpha,
               MemorySegment a, int aType, int lda, MemorySegment b, int bType, int ldb, MemorySegment beta,
               MemorySegment c, int cType, int ldc, int computeType, int algo) {
        try {
            return (int) gemmEx.invokeExact(handle, ta, tb, m, n, k, alpha, a, aType, lda, b, bType, ldb, beta,
                    c, cType, ldc, computeType, algo);
        } catch (Throwable t) { throw rethrow(t); }
    }

    int gemmStridedBatchedEx(MemorySegment handle, int ta, int tb, int m, int n, int k, MemorySegment alpha,
                             MemorySegment a, int aType, int lda, long strideA, MemorySegment b, int bType, int ldb,
                             long strideB, MemorySegment beta, MemorySegment c, int cType, int ldc, long strideC,
                             int batch, int computeType, int algo) {
        try {
            return (int) gemmStridedBatchedEx.invokeExact(handle, ta, tb, m, n, k, alpha, a, aType, lda, strideA,
                    b, bType, ldb, strideB, beta, c, cType, ldc, strideC, batch, computeType, algo);
        } catch (Throwable t) { throw rethrow(t); }
    }

    int ltCreate(MemorySegment handleOut) {
        try { return (int) ltCreate.invokeExact(handleOut); } catch (Throwable t) { throw rethrow(t); }
    }

    int ltMatmulDescCreate(MemorySegment descOut, int computeType, int scaleType) {
        try { return (int) ltMatmulDescCreate.invokeExact(descOut, computeType, scaleType); } catch (Throwable t) { throw rethrow(t); }
    }

    int ltMatmulDescSetAttribute(MemorySegment desc, int attr, MemorySegment value, long bytes) {
        try { return (int) ltMatmulDescSetAttribute.invokeExact(desc, attr, value, bytes); } catch (Throwable t) { throw rethrow(t); }
    }

    int ltMatmulDescDestroy(MemorySegment desc) {
        try { return (int) ltMatmulDescDestroy.invokeExact(desc); } catch (Throwable t) { throw rethrow(t); }
    }

    int ltMatrixLayoutCreate(MemorySegment layoutOut, int type, long rows, long cols, long ld) {
        try { return (int) ltMatrixLayoutCreate.invokeExact(layoutOut, type, rows, cols, ld); } catch (Throwable t) { throw rethrow(t); }
    }

    int ltMatrixLayoutDestroy(MemorySegment layout) {
        try { return (int) ltMatrixLayoutDestroy.invokeExact(layout); } catch (Throwable t) { throw rethrow(t); }
    }

    int ltPreferenceCreate(MemorySegment prefOut) {
        try { return (int) ltPreferenceCreate.invokeExact(prefOut); } catch (Throwable t) { throw rethrow(t); }
    }

    int ltPreferenceSetAttribute(MemorySegment pref, int attr, MemorySegment value, long bytes) {
        try { return (int) ltPreferenceSetAttribute.invokeExact(pref, attr, value, bytes); } catch (Throwable t) { throw rethrow(t); }
    }

    int ltPreferenceDestroy(MemorySegment pref) {
        try { return (int) ltPreferenceDestroy.invokeExact(pref); } catch (Throwable t) { throw rethrow(t); }
    }

    int ltAlgoGetHeuristic(MemorySegment handle, MemorySegment desc, MemorySegment aDesc, MemorySegment bDesc,
                           MemorySegment cDesc, MemorySegment dDesc, MemorySegment pref, int requested,
                           MemorySegment results, MemorySegment returned) {
        try {
            return (int) ltAlgoGetHeuristic.invokeExact(handle, desc, aDesc, bDesc, cDesc, dDesc, pref, requested, results, returned);
        } catch (Throwable t) { throw rethrow(t); }
    }

    int ltMatmul(MemorySegment handle, MemorySegment desc, MemorySegment alpha, MemorySegment a, MemorySegment aDesc,
                 MemorySegment b, MemorySegment bDesc, MemorySegment beta, MemorySegment c, MemorySegment cDesc,
                 MemorySegment d, MemorySegment dDesc, MemorySegment algo, MemorySegment workspace, long workspaceBytes,
                 MemorySegment stream) {
        try {
            return (int) ltMatmul.invokeExact(handle, desc, alpha, a, aDesc, b, bDesc, beta, c, cDesc, d, dDesc, algo,
                    workspace, workspaceBytes, stream);
        } catch (Throwable t) { throw rethrow(t); }
    }

    private static MethodHandle bind(Linker linker, SymbolLookup lookup, String name, FunctionDescriptor fd) {
        return NativeBinding.bind(linker, lookup, name, fd, "cuBLAS libraries");
    }

    /** The bound libraries; throws IllegalStateException (saying what was tried) when they cannot be loaded. */
    static CublasLibrary get() {
        return BINDING.get();
    }

    static List<Path> folders() {
        Set<Path> dirs = new LinkedHashSet<>();
        String prop = System.getProperty("flare.cuda.libdir");
        if (prop != null && !prop.isBlank()) dirs.add(Path.of(prop));
        for (String env : new String[]{"CUDA_HOME", "CUDA_PATH"}) {
            String v = System.getenv(env);
            if (v != null && !v.isBlank()) dirs.add(Path.of(v, "lib64"));
        }
        dirs.add(Path.of("/usr/local/cuda/lib64"));
        dirs.add(Path.of("/usr/local/cuda/targets/x86_64-linux/lib"));
        dirs.add(Path.of("/usr/lib/x86_64-linux-gnu"));
        return new ArrayList<>(dirs);
    }

    private static CublasLibrary load() {
        List<String> tried = new ArrayList<>();
        for (int major : new int[]{13, 12}) {
            String ltName = "libcublasLt.so." + major, blasName = "libcublas.so." + major;
            SymbolLookup lt = open(ltName, tried);
            if (lt == null) continue;
            SymbolLookup blas = open(blasName, tried);
            if (blas == null) continue;
            return new CublasLibrary(blas, lt, blasName + " + " + ltName, major);
        }
        throw new IllegalStateException("cuBLAS could not be loaded through FFM (JCublas cannot load on CUDA 13, so"
                + " Flare binds libcublas directly). Tried: " + String.join("; ", tried)
                + ". Install the CUDA toolkit's cuBLAS (libcublas.so.13 or .so.12), add its folder to LD_LIBRARY_PATH,"
                + " or pass -Dflare.cuda.libdir=/path/to/lib64.");
    }

    private static SymbolLookup open(String name, List<String> tried) {
        try {
            return SymbolLookup.libraryLookup(name, Arena.global());
        } catch (IllegalArgumentException e) {
            tried.add(name + " via the dynamic loader's search path (LD_LIBRARY_PATH=" + System.getenv("LD_LIBRARY_PATH") + ")");
        }
        for (Path dir : folders()) {
            Path p = dir.resolve(name);
            if (!Files.exists(p)) {
                tried.add(p + " (absent)");
                continue;
            }
            try {
                return SymbolLookup.libraryLookup(p, Arena.global());
            } catch (IllegalArgumentException e) {
                tried.add(p + " (present but dlopen failed: " + e.getMessage() + ")");
            }
        }
        return null;
    }
}
