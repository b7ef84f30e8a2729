package dev.flare.tensor.cuda;

import jcuda.driver.CUstream;
import jcuda.driver.JCudaDriver;

import java.lang.foreign.MemorySegment;

/**
 * A CUDA stream of one device. Streams are created blocking (flag CU_STREAM_DEFAULT), so they also order with
 * work that other code queues on the legacy default stream.
 */
public final class CudaStream implements AutoCloseable {
    /** Exposes the native handle (protected in JCuda) for cuBLAS and friends, which take it through FFM. */
    static final class Handle extends CUstream {
        long address() { return getNativePointer(); }
    }

    private final CudaContext context;
    private final Handle handle;
    private volatile boolean closed;

    private CudaStream(CudaContext context) {
        this.context = context;
        this.handle = new Handle();
        context.makeCurrent();
        CudaException.check(JCudaDriver.cuStreamCreate(handle, 0), "cuStreamCreate(cuda:" + context.device() + ")");
    }

    public static CudaStream create(CudaContext context) { return new CudaStream(context); }

    public CudaContext context() { return context; }

    public CUstream handle() { return handle; }

    /** The raw cudaStream_t value. */
    public long address() { return handle.address(); }

    /** The stream as an FFM address, for libraries called through java.lang.foreign. */
    public MemorySegment segment() { return MemorySegment.ofAddress(handle.address()); }

    /** Waits until all work queued on this stream is done. */
    public void synchronize() {
        context.makeCurrent();
        CudaException.check(JCudaDriver.cuStreamSynchronize(handle), "cuStreamSynchronize(cuda:" + context.device() + ")");
    }

    /** Makes work queued later on this stream wait for {@code event}. */
    public void waitFor(CudaEvent event) {
        context.makeCurrent();
        CudaException.check(JCudaDriver.cuStreamWaitEvent(handle, event.handle(), 0), "cuStreamWaitEvent");
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        context.makeCurrent();
        CudaException.check(JCudaDriver.cuStreamDestroy(handle), "cuStreamDestroy");
    }

    @Override
    public String toString() { return "CudaStream(cuda:" + context.device() + ", 0x" + Long.toHexString(address()) + ")"; }
}
