package dev.flare.tensor.cuda;

import jcuda.Pointer;
import jcuda.driver.CUfunction;
import jcuda.driver.CUmodule;
import jcuda.driver.JCudaDriver;

import java.io.IOException;
import java.io.InputStream;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The kernels of one {@code .cu} file, loaded into one device's context.
 *
 * <p>Layout: the Java class {@code dev.flare.tensor.cuda.Foo} launches the kernels of
 * {@code src/main/cuda/dev/flare/tensor/cuda/Foo.cu}; the build compiles that file with nvcc into the class-path
 * resource {@code dev/flare/tensor/cuda/Foo.fatbin} (next to {@code Foo.class}), which is loaded here with
 * {@code cuModuleLoadData} (not cuModuleLoadFatBinary, which fails to resolve functions on CUDA 13 drivers).
 *
 * <p>{@link #launch} takes the kernel arguments as Java values: {@code Long} (64-bit integers and device
 * addresses), {@code Integer}, {@code Float}, {@code Double}, and {@code long[]} for a struct passed by value
 * whose fields are all 64-bit (see {@link StridedGeometry}).
 */
public final class CudaModule {
    /** With -Dflare.cuda.syncLaunches=true every launch waits for its kernel and reports its errors by name. */
    static final boolean SYNC_LAUNCHES = Boolean.getBoolean("flare.cuda.syncLaunches");

    private final String name;
    private final CudaContext context;
    private final CUmodule module = new CUmodule();
    private final ConcurrentHashMap<String, CUfunction> functions = new ConcurrentHashMap<>();

    private CudaModule(String name, CudaContext context, byte[] image) {
        this.name = name;
        this.context = context;
        context.makeCurrent();
        CudaException.check(JCudaDriver.cuModuleLoadData(module, image), "cuModuleLoadData(" + name + ")");
    }

    /**
     * Loads {@code <owner's simple name>.fatbin} from the class path, next to {@code owner}'s class file.
     * @throws IllegalStateException when the resource is missing: the CUDA kernels were not built
     */
    public static CudaModule load(Class<?> owner, CudaContext context) {
        String resource = owner.getSimpleName() + ".fatbin";
        String path = owner.getPackageName().replace('.', '/') + "/" + resource;
        byte[] image;
        try (InputStream in = owner.getResourceAsStream(resource)) {
            if (in == null)
                throw new IllegalStateException("the CUDA kernels were not built: class-path resource " + path
                        + " is missing. The build compiles src/main/cuda/" + path.replace(".fatbin", ".cu")
                        + " with nvcc; nvcc was probably absent at build time (install the CUDA toolkit or set CUDA_HOME, then rebuild)");
            image = in.readAllBytes();
        } catch (IOException e) {
            throw new IllegalStateException("could not read CUDA kernels " + path + ": " + e.getMessage(), e);
        }
        return new CudaModule(path, context, image);
    }

    public String name() { return name; }

    public CudaContext context() { return context; }

    /** The kernel named {@code kernel} (an extern "C" name). */
    public CUfunction function(String kernel) {
        CUfunction f = functions.get(kernel);
        if (f != null) return f;
        return functions.computeIfAbsent(kernel, k -> {
            CUfunction fn = new CUfunction();
            context.makeCurrent();
            CudaException.check(JCudaDriver.cuModuleGetFunction(fn, module, k),
                    "cuModuleGetFunction(" + k + " in " + name + ")");
            return fn;
        });
    }

    /** Lets {@code kernel} use up to {@code bytes} of dynamic shared memory (needed above 48 KiB). */
    public void setMaxDynamicSharedBytes(String kernel, int bytes) {
        context.makeCurrent();
        CudaException.check(JCudaDriver.cuFuncSetAttribute(function(kernel),
                jcuda.driver.CUfunction_attribute.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, bytes),
                "cuFuncSetAttribute(" + kernel + ", MAX_DYNAMIC_SHARED_SIZE_BYTES, " + bytes + ")");
    }

    /**
     * Blocks of {@code kernel} that fit on one multiprocessor at once, with {@code threads} threads and
     * {@code sharedBytes} bytes of dynamic shared memory per block (its registers and shared memory decide): sizes a
     * grid of one wave of resident blocks, for kernels that stride over their work.
     */
    public int maxActiveBlocksPerMultiprocessor(String kernel, int threads, int sharedBytes) {
        int[] blocks = new int[1];
        context.makeCurrent();
        CudaException.check(JCudaDriver.cuOccupancyMaxActiveBlocksPerMultiprocessor(blocks, function(kernel), threads, sharedBytes),
                "cuOccupancyMaxActiveBlocksPerMultiprocessor(" + kernel + ", " + threads + ", " + sharedBytes + ")");
        return blocks[0];
    }

    /** Launches a 1-d grid of {@code blocks} blocks of {@code threads} threads. */
    public void launch(String kernel, long blocks, int threads, int sharedBytes, CudaStream stream, Object... args) {
        launch(kernel, blocks, 1, threads, 1, sharedBytes, stream, args);
    }

    /** Launches a (gridX, gridY) grid of (blockX, blockY) blocks. */
    public void launch(String kernel, long gridX, int gridY, int blockX, int blockY, int sharedBytes, CudaStream stream,
                       Object... args) {
        launch3d(kernel, gridX, gridY, 1, blockX, blockY, sharedBytes, stream, args);
    }

    /** Launches a (gridX, gridY, gridZ) grid of (blockX, blockY) blocks. */
    public void launch3d(String kernel, long gridX, int gridY, int gridZ, int blockX, int blockY, int sharedBytes,
                         CudaStream stream, Object... args) {
        if (gridX <= 0 || gridX > Integer.MAX_VALUE || gridY <= 0 || gridY > 65535 || gridZ <= 0 || gridZ > 65535)
            throw new IllegalArgumentException(kernel + ": grid (" + gridX + ", " + gridY + ", " + gridZ + ") out of range");
        if (blockX <= 0 || blockY <= 0 || blockX * blockY > 1024)
            throw new IllegalArgumentException(kernel + ": block (" + blockX + ", " + blockY + ") out of range");
        CUfunction f = function(kernel);
        Pointer[] params = new Pointer[args.length];
        for (int i = 0; i < args.length; i++) params[i] = argument(kernel, i, args[i]);
        context.makeCurrent();
        KernelTimer timer = context.kernelTimer();
        Object started = timer.begin(stream);
        CudaException.check(JCudaDriver.cuLaunchKernel(f, (int) gridX, gridY, gridZ, blockX, blockY, 1, sharedBytes,
                stream.handle(), Pointer.to(params), null), "cuLaunchKernel(" + kernel + ")");
        timer.end(started, kernel, stream);
        if (SYNC_LAUNCHES)
            CudaException.check(JCudaDriver.cuStreamSynchronize(stream.handle()), "kernel " + kernel + " (synchronized launch)");
    }

    private static Pointer argument(String kernel, int index, Object a) {
        return switch (a) {
            case Long v -> Pointer.to(new long[]{v});
            case Integer v -> Pointer.to(new int[]{v});
            case Float v -> Pointer.to(new float[]{v});
            case Double v -> Pointer.to(new double[]{v});
            case long[] v -> Pointer.to(v);
            case null -> throw new IllegalArgumentException(kernel + ": argument " + index + " is null");
            default -> throw new IllegalArgumentException(kernel + ": argument " + index + " has unsupported type "
                    + a.getClass().getSimpleName());
        };
    }

    /** Blocks for a grid-stride loop over n items with {@code threads} threads per block. */
    static long blocksFor(long n, int threads) {
        return Math.max(1, Math.min(Math.ceilDiv(n, threads), 1L << 20));
    }
}
