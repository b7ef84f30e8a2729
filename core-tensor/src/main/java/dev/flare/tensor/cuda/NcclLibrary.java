package dev.flare.tensor.cuda;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static dev.flare.tensor.cuda.NativeBinding.rethrow;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The NCCL entry points Flare uses, bound through java.lang.foreign like {@link CublasLibrary}. Typed wrappers use
 * {@code invokeExact}. {@code ncclCommInitRank} takes the 128-byte {@code ncclUniqueId} struct by value.
 *
 * <p>Search order for {@code libnccl.so.2}: the file named by {@code -Dflare.nccl.library} or
 * {@code $FLARE_NCCL_LIBRARY}; the dynamic loader's own search (LD_LIBRARY_PATH, ldconfig); the CUDA folders of
 * {@link CublasLibrary#folders()}; then {@code nvidia/nccl/lib} inside Python package folders, because a machine may
 * have NCCL only inside PyTorch's pip wheel (nvidia-nccl-cu12/cu13). A failure lists everything tried.
 */
@SuppressWarnings("restricted")
final class NcclLibrary {
    static final String NAME = "libnccl.so.2";
    static final int UNIQUE_ID_BYTES = 128;
    /** typedef struct { char internal[128]; } ncclUniqueId; passed by value to ncclCommInitRank. */
    static final StructLayout UNIQUE_ID = MemoryLayout.structLayout(MemoryLayout.sequenceLayout(UNIQUE_ID_BYTES, JAVA_BYTE).withName("internal"));

    private static final NativeBinding<NcclLibrary> BINDING = new NativeBinding<>(NcclLibrary::load);

    final String path;
    final MethodHandle getVersion, getUniqueId, commInitRank, commDestroy, allReduce, groupStart, groupEnd, getErrorString;

    private NcclLibrary(SymbolLookup lib, String path) {
        this.path = path;
        Linker linker = Linker.nativeLinker();
        getVersion = bind(linker, lib, "ncclGetVersion", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        getUniqueId = bind(linker, lib, "ncclGetUniqueId", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        // ncclCommInitRank(ncclComm_t* comm, int nranks, ncclUniqueId commId, int rank)
        commInitRank = bind(linker, lib, "ncclCommInitRank", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, UNIQUE_ID, JAVA_INT));
        commDestroy = bind(linker, lib, "ncclCommDestroy", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        // ncclAllReduce(const void* send, void* recv, size_t count, ncclDataType_t, ncclRedOp_t, ncclComm_t, cudaStream_t)
        allReduce = bind(linker, lib, "ncclAllReduce", FunctionDescriptor.of(JAVA_INT,
                ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));
        groupStart = bind(linker, lib, "ncclGroupStart", FunctionDescriptor.of(JAVA_INT));
        groupEnd = bind(linker, lib, "ncclGroupEnd", FunctionDescriptor.of(JAVA_INT));
        getErrorString = bind(linker, lib, "ncclGetErrorString", FunctionDescriptor.of(ADDRESS, JAVA_INT));
    }

    int getVersion(MemorySegment version) {
        try { return (int) getVersion.invokeExact(version); } catch (Throwable t) { throw rethrow(t); }
    }

    int getUniqueId(MemorySegment id) {
        try { return (int) getUniqueId.invokeExact(id); } catch (Throwable t) { throw rethrow(t); }
    }

    int commInitRank(MemorySegment comm, int nranks, MemorySegment id, int rank) {
        try { return (int) commInitRank.invokeExact(comm, nranks, id, rank); } catch (Throwable t) { throw rethrow(t); }
    }

    int commDestroy(MemorySegment comm) {
        try { return (int) commDestroy.invokeExact(comm); } catch (Throwable t) { throw rethrow(t); }
    }

    int allReduce(MemorySegment send, MemorySegment recv, long count, int dtype, int op, MemorySegment comm, MemorySegment stream) {
        try {
            return (int) allReduce.invokeExact(send, recv, count, dtype, op, comm, stream);
        } catch (Throwable t) { throw rethrow(t); }
    }

    int groupStart() {
        try { return (int) groupStart.invokeExact(); } catch (Throwable t) { throw rethrow(t); }
    }

    int groupEnd() {
        try { return (int) groupEnd.invokeExact(); } catch (Throwable t) { throw rethrow(t); }
    }

    /** NCCL's own text for a status ("invalid argument ..."), or null. */
    String errorString(int status) {
        try {
            MemorySegment s = (MemorySegment) getErrorString.invokeExact(status);
            return s.equals(MemorySegment.NULL) ? null : s.reinterpret(4096).getString(0);
        } catch (Throwable t) { throw rethrow(t); }
    }

    private static MethodHandle bind(Linker linker, SymbolLookup lookup, String name, FunctionDescriptor fd) {
        return NativeBinding.bind(linker, lookup, name, fd, NAME);
    }

    /** The bound library; throws IllegalStateException (saying what was tried) when it cannot be loaded. */
    static NcclLibrary get() {
        return BINDING.get();
    }

    private static NcclLibrary load() {
        List<String> tried = new ArrayList<>();
        String explicit = System.getProperty("flare.nccl.library", System.getenv("FLARE_NCCL_LIBRARY"));
        if (explicit != null && !explicit.isBlank()) {
            SymbolLookup l = openFile(Path.of(explicit), tried);
            if (l != null) return new NcclLibrary(l, explicit);
        }
        try {
            return new NcclLibrary(SymbolLookup.libraryLookup(NAME, Arena.global()), NAME + " (dynamic loader)");
        } catch (IllegalArgumentException e) {
            tried.add(NAME + " via the dynamic loader's search path (LD_LIBRARY_PATH=" + System.getenv("LD_LIBRARY_PATH") + ")");
        }
        for (Path dir : folders(System.getenv(), Path.of(System.getProperty("user.home")))) {
            SymbolLookup l = openFile(dir.resolve(NAME), tried);
            if (l != null) return new NcclLibrary(l, dir.resolve(NAME).toString());
        }
        throw new IllegalStateException("NCCL could not be loaded through FFM. Tried: " + String.join("; ", tried)
                + ". Install NCCL (libnccl2, or pip's nvidia-nccl-cu12/cu13 that PyTorch brings), add its folder to"
                + " LD_LIBRARY_PATH, or set FLARE_NCCL_LIBRARY=/path/to/" + NAME + ".");
    }

    private static SymbolLookup openFile(Path p, List<String> tried) {
        if (!Files.exists(p)) {
            tried.add(p + " (absent)");
            return null;
        }
        try {
            return SymbolLookup.libraryLookup(p, Arena.global());
        } catch (IllegalArgumentException e) {
            tried.add(p + " (present but dlopen failed: " + e.getMessage() + ")");
            return null;
        }
    }

    /**
     * Folders that may hold libnccl.so.2 after the loader's search: the CUDA folders, then nvidia/nccl/lib under
     * every Python package folder found without running Python (system dist-packages, /usr/local, ~/.local,
     * $VIRTUAL_ENV, $CONDA_PREFIX, /opt/conda, and each $PYTHONPATH entry).
     */
    static List<Path> folders(Map<String, String> env, Path home) {
        Set<Path> dirs = new LinkedHashSet<>(CublasLibrary.folders());
        List<Path> libRoots = new ArrayList<>(List.of(Path.of("/usr/lib"), Path.of("/usr/local/lib"), home.resolve(".local/lib"),
                Path.of("/opt/conda/lib")));
        for (String var : new String[]{"VIRTUAL_ENV", "CONDA_PREFIX"}) {
            String v = env.get(var);
            if (v != null && !v.isBlank()) libRoots.add(Path.of(v, "lib"));
        }
        List<Path> packages = new ArrayList<>();
        String pythonPath = env.get("PYTHONPATH");
        if (pythonPath != null)
            for (String entry : pythonPath.split(":")) if (!entry.isBlank()) packages.add(Path.of(entry));
        for (Path root : libRoots)
            for (Path python : children(root, "python3*"))
                for (String kind : new String[]{"dist-packages", "site-packages"}) packages.add(python.resolve(kind));
        for (Path p : packages) dirs.add(p.resolve("nvidia/nccl/lib"));
        return new ArrayList<>(dirs);
    }

    private static List<Path> children(Path dir, String glob) {
        List<Path> out = new ArrayList<>();
        if (!Files.isDirectory(dir)) return out;
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, glob)) {
            ds.forEach(out::add);
        } catch (IOException e) {
            return out;                   // an unreadable folder just adds no candidates
        }
        out.sort(null);
        return out;
    }
}
