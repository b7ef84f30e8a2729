package dev.flare.tensor.cuda;

import jcuda.driver.CUevent;
import jcuda.driver.CUresult;
import jcuda.driver.JCudaDriver;

/** A CUDA event: ordering between streams, completion queries and GPU-side timing (benchmarks). */
public final class CudaEvent implements AutoCloseable {
    private static final int CU_EVENT_DISABLE_TIMING = 2;

    private final CudaContext context;
    private final CUevent handle = new CUevent();
    private boolean closed;

    private CudaEvent(CudaContext context, boolean timing) {
        this.context = context;
        context.makeCurrent();
        CudaException.check(JCudaDriver.cuEventCreate(handle, timing ? 0 : CU_EVENT_DISABLE_TIMING), "cuEventCreate");
    }

    /** An event that can be timed with {@link #elapsedMillis}. */
    public static CudaEvent timing(CudaContext context) { return new CudaEvent(context, true); }

    /** An event for ordering only (cheaper to record). */
    public static CudaEvent create(CudaContext context) { return new CudaEvent(context, false); }

    CUevent handle() { return handle; }

    /** Records the event at the current end of {@code stream}. Returns this. */
    public CudaEvent record(CudaStream stream) {
        context.makeCurrent();
        CudaException.check(JCudaDriver.cuEventRecord(handle, stream.handle()), "cuEventRecord");
        return this;
    }

    /** Waits on the host until the recorded work is done. */
    public void synchronize() {
        context.makeCurrent();
        CudaException.check(JCudaDriver.cuEventSynchronize(handle), "cuEventSynchronize");
    }

    /** True when the work before the record is done (does not wait). */
    public boolean isComplete() {
        context.makeCurrent();
        int r = JCudaDriver.cuEventQuery(handle);
        if (r == CUresult.CUDA_ERROR_NOT_READY) return false;
        CudaException.check(r, "cuEventQuery");
        return true;
    }

    /** GPU time between two recorded (and completed) timing events, in milliseconds. */
    public static float elapsedMillis(CudaEvent start, CudaEvent end) {
        end.synchronize();
        float[] ms = new float[1];
        CudaException.check(JCudaDriver.cuEventElapsedTime(ms, start.handle, end.handle), "cuEventElapsedTime");
        return ms[0];
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        context.makeCurrent();
        CudaException.check(JCudaDriver.cuEventDestroy(handle), "cuEventDestroy");
    }
}
