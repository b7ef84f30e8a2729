package dev.flare.tensor.cuda;

/**
 * The driver calls a {@link CachingAllocator} needs, kept behind an interface so that the allocator's policy
 * (size classes, free lists, stream-ordered reuse, out-of-memory handling) is unit-tested without a GPU.
 * Streams are opaque keys (a {@link CudaStream} in production; {@code null} means the legacy default stream).
 */
public interface DeviceMemory {
    /** A device allocation: its address, and a driver handle to free it with. */
    record Allocation(long address, Object handle) {}

    /** Allocates {@code bytes} from the driver; returns null when the device is out of memory (other failures throw). */
    Allocation allocate(long bytes);

    /** Returns an allocation to the driver. */
    void free(Allocation allocation);

    /** {free, total} bytes of the device, as the driver reports them. */
    long[] memoryInfo();

    /** Makes work queued later on {@code stream} wait for all work queued so far on {@code producer}. */
    void streamWait(Object stream, Object producer);

    /** Waits for all work on the device. */
    void synchronize();
}
