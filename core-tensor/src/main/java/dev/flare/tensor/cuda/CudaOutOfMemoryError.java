package dev.flare.tensor.cuda;

/** The device could not satisfy an allocation even after the allocator returned its cached blocks to the driver. */
public class CudaOutOfMemoryError extends RuntimeException {
    private final long requestedBytes;

    public CudaOutOfMemoryError(String message, long requestedBytes) {
        super(message);
        this.requestedBytes = requestedBytes;
    }

    public long requestedBytes() { return requestedBytes; }
}
