package dev.flare.tensor.cuda;

import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUresult;
import jcuda.driver.JCudaDriver;

/**
 * The {@link DeviceMemory} of one device through the JCuda driver API (cuMemAlloc/cuMemFree), and the
 * {@link CachingAllocator} over it.
 */
public final class CudaAllocator implements DeviceMemory {
    /** Exposes the address of a JCuda device pointer (getNativePointer is protected in JCuda). */
    static final class DevicePointer extends CUdeviceptr {
        long address() { return getNativePointer() + getByteOffset(); }
    }

    private final CudaContext context;
    private final CachingAllocator cache;

    public CudaAllocator(CudaContext context) {
        this.context = context;
        this.cache = new CachingAllocator("cuda:" + context.device(), this);
    }

    public CachingAllocator cache() { return cache; }

    @Override
    public Allocation allocate(long bytes) {
        context.makeCurrent();
        DevicePointer p = new DevicePointer();
        int r = JCudaDriver.cuMemAlloc(p, bytes);
        if (r == CUresult.CUDA_ERROR_OUT_OF_MEMORY) return null;
        CudaException.check(r, "cuMemAlloc(" + bytes + " bytes on cuda:" + context.device() + ")");
        return new Allocation(p.address(), p);
    }

    @Override
    public void free(Allocation allocation) {
        context.makeCurrent();
        CudaException.check(JCudaDriver.cuMemFree((CUdeviceptr) allocation.handle()), "cuMemFree");
    }

    @Override
    public long[] memoryInfo() {
        context.makeCurrent();
        long[] free = new long[1], total = new long[1];
        CudaException.check(JCudaDriver.cuMemGetInfo(free, total), "cuMemGetInfo");
        return new long[]{free[0], total[0]};
    }

    @Override
    public void streamWait(Object stream, Object producer) {
        if (stream == producer) return;
        if (!(stream instanceof CudaStream s) || !(producer instanceof CudaStream p)) {
            // One side is the legacy default stream, which synchronizes with our (blocking) streams anyway;
            // be conservative all the same.
            synchronize();
            return;
        }
        try (CudaEvent e = CudaEvent.create(context)) {
            e.record(p);
            s.waitFor(e);
        }
    }

    @Override
    public void synchronize() { context.synchronize(); }

    /** The device pointer of a block, for driver calls (memcpy, memset). */
    static CUdeviceptr pointer(CachingAllocator.Block block) { return (CUdeviceptr) block.handle(); }
}
