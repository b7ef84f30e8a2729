package dev.flare.tensor.cuda;

import dev.flare.tensor.Bytes;

/**
 * A snapshot of a device's caching allocator.
 *
 * @param allocatedBytes     bytes in blocks handed out and not yet freed (block sizes, after rounding)
 * @param reservedBytes      bytes held from the driver: allocated plus cached
 * @param peakAllocatedBytes the highest allocatedBytes since start (or {@link CachingAllocator#resetPeak()})
 * @param driverAllocations  cuMemAlloc calls made so far
 * @param driverFrees        cuMemFree calls made so far
 */
public record MemoryStats(long allocatedBytes, long reservedBytes, long peakAllocatedBytes,
                          long driverAllocations, long driverFrees) {
    /** Bytes cached for reuse (reserved but not allocated). */
    public long cachedBytes() { return reservedBytes - allocatedBytes; }

    @Override
    public String toString() {
        return String.format("allocated %s, reserved %s (cached %s), peak %s, driver allocations %d, frees %d",
                Bytes.human(allocatedBytes), Bytes.human(reservedBytes),
                Bytes.human(cachedBytes()), Bytes.human(peakAllocatedBytes),
                driverAllocations, driverFrees);
    }
}
