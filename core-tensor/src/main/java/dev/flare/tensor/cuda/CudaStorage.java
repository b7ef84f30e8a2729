package dev.flare.tensor.cuda;

import dev.flare.tensor.DType;
import dev.flare.tensor.Device;
import dev.flare.tensor.HostArrays;
import dev.flare.tensor.Storage;
import jcuda.driver.CUdeviceptr;

/**
 * Device storage: a block of the backend's caching allocator, returned to it (not to the driver) on release.
 * Host copies go through the backend's pinned staging buffer on its stream.
 */
public final class CudaStorage extends Storage {
    private final CudaBackend backend;
    private CachingAllocator.Block block;

    CudaStorage(CudaBackend backend, DType dtype, long numel) {
        super(dtype, numel);
        this.backend = backend;
        long bytes = numel * dtype.byteSize();
        if (bytes > 0) {
            backend.context().makeCurrent();
            try {
                this.block = backend.allocator().cache().allocate(bytes, backend.stream());
            } catch (CudaOutOfMemoryError e) {
                throw new CudaOutOfMemoryError(e.getMessage() + backend.liveAllocations().census(8), e.requestedBytes());
            }
            backend.liveAllocations().add(this);
        }
    }

    @Override
    public Device device() { return backend.device(); }

    public CudaBackend backend() { return backend; }

    /** The device address of element 0 (0 for an empty storage). Throws if released. */
    public long address() {
        checkLive();
        return block == null ? 0 : block.address();
    }

    /** The device address of element {@code index}. */
    public long address(long index) { return address() + index * dtype().byteSize(); }

    /** The JCuda pointer of element 0, for driver calls. */
    CUdeviceptr pointer() {
        checkLive();
        if (block == null) throw new IllegalStateException("empty storage has no device pointer");
        return CudaAllocator.pointer(block);
    }

    @Override
    protected void free() {
        if (block != null) {
            backend.allocator().cache().free(block);
            backend.liveAllocations().remove(this);
            block = null;
        }
    }

    private void checkRange(String what, long start, long count, Object array, int arrayIndex) {
        if (PinnedStaging.layout(array).carrier() != PinnedStaging.layout(HostArrays.allocate(dtype(), 0)).carrier())
            throw new IllegalArgumentException(what + ": expected a " + HostArrays.allocate(dtype(), 0).getClass().getSimpleName()
                    + " for " + dtype() + ", got " + array.getClass().getSimpleName());
        if (start < 0 || count < 0 || start + count > numel())
            throw new IndexOutOfBoundsException(what + ": elements [" + start + ", " + (start + count)
                    + ") out of a storage of " + numel());
        if (arrayIndex < 0 || arrayIndex + count > HostArrays.length(array))
            throw new IndexOutOfBoundsException(what + ": array range [" + arrayIndex + ", " + (arrayIndex + count)
                    + ") out of an array of " + HostArrays.length(array));
    }

    @Override
    public void copyFromHost(Object srcArray, int srcIndex, long dstIndex, int count) {
        checkLive();
        checkRange("copyFromHost", dstIndex, count, srcArray, srcIndex);
        if (count == 0) return;
        backend.staging().toDevice(srcArray, srcIndex, count, pointer(), dstIndex * dtype().byteSize());
    }

    @Override
    public void copyToHost(long srcIndex, Object dstArray, int dstIndex, int count) {
        checkLive();
        checkRange("copyToHost", srcIndex, count, dstArray, dstIndex);
        if (count == 0) return;
        backend.staging().toHost(pointer(), srcIndex * dtype().byteSize(), dstArray, dstIndex, count);
    }
}
