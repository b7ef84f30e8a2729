package dev.flare.tensor.cuda;

import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.JCudaDriver;

/**
 * The primary context of one device (the one the CUDA runtime, and so cuBLAS, also uses), retained once for the
 * life of the process. Every entry point that touches the device calls {@link #makeCurrent()} first; it costs a
 * thread-local read when the context is already current on the calling thread.
 */
public final class CudaContext {
    private static final CudaContext[] CONTEXTS = new CudaContext[64];
    private static final ThreadLocal<CudaContext> CURRENT = new ThreadLocal<>();

    private final int device;
    private final CUdevice handle;
    private final CUcontext context;
    /** Times launches when profiling is on (-Dflare.cuda.profile=true or CudaBackend.setKernelProfiling). */
    private final KernelTimer kernelTimer = new KernelTimer(this, Boolean.getBoolean("flare.cuda.profile"));

    private CudaContext(int device) {
        this.device = device;
        this.handle = Cuda.handle(device);
        this.context = new CUcontext();
        CudaException.check(JCudaDriver.cuDevicePrimaryCtxRetain(context, handle), "cuDevicePrimaryCtxRetain(cuda:" + device + ")");
    }

    /** The primary context of {@code device}, retained on first use. */
    public static CudaContext of(int device) {
        Cuda.requireDevice(device);
        if (device >= CONTEXTS.length) throw new IllegalArgumentException("device: at most " + CONTEXTS.length + " devices supported");
        CudaContext c = CONTEXTS[device];
        if (c != null) return c;
        synchronized (CONTEXTS) {
            if (CONTEXTS[device] == null) CONTEXTS[device] = new CudaContext(device);
            return CONTEXTS[device];
        }
    }

    public int device() { return device; }

    KernelTimer kernelTimer() { return kernelTimer; }

    CUdevice deviceHandle() { return handle; }

    CUcontext handle() { return context; }

    /** Binds this context to the calling thread (cheap when it already is). Returns this. */
    public CudaContext makeCurrent() {
        if (CURRENT.get() != this) {
            CudaException.check(JCudaDriver.cuCtxSetCurrent(context), "cuCtxSetCurrent(cuda:" + device + ")");
            CURRENT.set(this);
        }
        return this;
    }

    /** Waits for all work on the device. */
    public void synchronize() {
        makeCurrent();
        CudaException.check(JCudaDriver.cuCtxSynchronize(), "cuCtxSynchronize(cuda:" + device + ")");
    }

    @Override
    public String toString() { return "CudaContext(cuda:" + device + ")"; }
}
