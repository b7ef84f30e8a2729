package dev.flare.tensor.cuda;

import dev.flare.tensor.Bytes;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * A caching device-memory allocator: freed blocks are kept and reused instead of returned to the driver, so a
 * training step with fixed shapes makes no driver calls after its first iteration.
 *
 * <p><b>Size classes.</b> Requests up to {@value #SMALL_LIMIT} bytes round up to a multiple of
 * {@value #SMALL_ROUND} bytes; larger ones round up to a multiple of 2 MiB. Multiples (rather than powers of two)
 * bound the waste of a large block at 2 MiB instead of up to half the block, which matters when single tensors are
 * gigabytes (an LM head's logits); 512 bytes keeps every block aligned for 16-byte vector loads and for cuBLAS.
 * Blocks are never split or merged.
 *
 * <p><b>Reuse.</b> Free lists are kept per stream and per size. A request takes a free block of its exact size
 * class from its own stream first; a large request may also take a cached block up to 1/8 larger. Memory freed on
 * one stream is reused on the same stream without any synchronization (stream order makes it safe: the kernels
 * that used the block were queued before the ones that will reuse it). A block cached on another stream is only
 * taken after making the requesting stream wait for that stream's work so far (an event record and wait), so a
 * block is never written while another stream may still read it. A block must only be used on the stream it was
 * allocated on (or the caller synchronizes).
 *
 * <p><b>Out of memory.</b> When the driver reports out of memory, every cached block is returned to it (after a
 * device synchronization) and the allocation is tried once more; if that fails too a {@link CudaOutOfMemoryError}
 * says what was asked, what is allocated and cached, what the device has, and what to try.
 */
public final class CachingAllocator {
    public static final long SMALL_LIMIT = 1L << 20;
    public static final long SMALL_ROUND = 512;
    public static final long LARGE_ROUND = 2L << 20;

    /** A block of device memory. Owned by the allocator; handed out by {@link #allocate}. */
    public static final class Block {
        private final DeviceMemory.Allocation allocation;
        private final long size;
        private Object stream;
        private boolean allocated;

        private Block(DeviceMemory.Allocation allocation, long size, Object stream) {
            this.allocation = allocation;
            this.size = size;
            this.stream = stream;
        }

        public long address() { return allocation.address(); }

        /** The block's size (the request rounded up to its size class). */
        public long size() { return size; }

        /** The driver handle (a JCuda CUdeviceptr in production). */
        public Object handle() { return allocation.handle(); }

        public Object stream() { return stream; }

        public boolean isAllocated() { return allocated; }
    }

    private final String device;
    private final DeviceMemory memory;
    /** stream -> size -> free blocks (LIFO, so recently used memory is reused first). */
    private final Map<Object, TreeMap<Long, ArrayDeque<Block>>> free = new HashMap<>();

    private long allocatedBytes, reservedBytes, peakAllocatedBytes, driverAllocations, driverFrees;

    public CachingAllocator(String device, DeviceMemory memory) {
        this.device = device;
        this.memory = memory;
    }

    /** The size class of a request of {@code bytes} (> 0). */
    public static long roundSize(long bytes) {
        if (bytes <= 0) throw new IllegalArgumentException("bytes: expected > 0, got " + bytes);
        long unit = bytes <= SMALL_LIMIT ? SMALL_ROUND : LARGE_ROUND;
        return Math.ceilDiv(bytes, unit) * unit;
    }

    /** A block of at least {@code bytes} (> 0) for use on {@code stream}. */
    public synchronized Block allocate(long bytes, Object stream) {
        long size = roundSize(bytes);
        Block b = takeFree(stream, size);
        if (b == null) b = takeFromOtherStream(stream, size);
        if (b == null) b = fromDriver(bytes, size, stream);
        b.allocated = true;
        allocatedBytes += b.size;
        peakAllocatedBytes = Math.max(peakAllocatedBytes, allocatedBytes);
        return b;
    }

    /** Returns a block to the cache of its stream. */
    public synchronized void free(Block block) {
        if (!block.allocated) throw new IllegalStateException("block at 0x" + Long.toHexString(block.address()) + " freed twice");
        block.allocated = false;
        allocatedBytes -= block.size;
        free.computeIfAbsent(block.stream, s -> new TreeMap<>()).computeIfAbsent(block.size, s -> new ArrayDeque<>()).push(block);
    }

    /** Largest cached size a request of {@code size} may take. */
    private static long maxFit(long size) { return size <= SMALL_LIMIT ? size : size + size / 8; }

    private Block takeFree(Object stream, long size) {
        TreeMap<Long, ArrayDeque<Block>> lists = free.get(stream);
        if (lists == null) return null;
        Map.Entry<Long, ArrayDeque<Block>> e = lists.ceilingEntry(size);
        if (e == null || e.getKey() > maxFit(size)) return null;
        Block b = e.getValue().pop();
        if (e.getValue().isEmpty()) lists.remove(e.getKey());
        return b;
    }

    private Block takeFromOtherStream(Object stream, long size) {
        for (Map.Entry<Object, TreeMap<Long, ArrayDeque<Block>>> e : free.entrySet()) {
            Object other = e.getKey();
            if (java.util.Objects.equals(other, stream)) continue;
            Block b = takeFree(other, size);
            if (b != null) {
                memory.streamWait(stream, other);
                b.stream = stream;
                return b;
            }
        }
        return null;
    }

    private Block fromDriver(long bytes, long size, Object stream) {
        DeviceMemory.Allocation a = memory.allocate(size);
        if (a == null) {
            releaseCached();
            a = memory.allocate(size);
            if (a == null) throw outOfMemory(bytes, size);
        }
        driverAllocations++;
        reservedBytes += size;
        return new Block(a, size, stream);
    }

    /** Returns every cached block to the driver (after waiting for the device). Blocks in use are kept. */
    public synchronized void emptyCache() { releaseCached(); }

    private void releaseCached() {
        if (free.isEmpty()) return;
        memory.synchronize();
        for (TreeMap<Long, ArrayDeque<Block>> lists : free.values())
            for (ArrayDeque<Block> q : lists.values())
                for (Block b : q) {
                    memory.free(b.allocation);
                    driverFrees++;
                    reservedBytes -= b.size;
                }
        free.clear();
    }

    private CudaOutOfMemoryError outOfMemory(long bytes, long size) {
        long[] info;
        try {
            info = memory.memoryInfo();
        } catch (RuntimeException e) {
            info = new long[]{-1, -1};
        }
        String msg = "CUDA out of memory on " + device + ": tried to allocate " + Bytes.human(bytes)
                + (size != bytes ? " (rounded to " + Bytes.human(size) + ")" : "")
                + "; Flare has " + Bytes.human(allocatedBytes) + " allocated in tensors and " + Bytes.human(reservedBytes)
                + " reserved from the driver (cached blocks were already returned); the device has "
                + (info[0] < 0 ? "unknown" : Bytes.human(info[0])) + " free of " + (info[1] < 0 ? "unknown" : Bytes.human(info[1]))
                + " total. Try a smaller batch size (or gradient accumulation), release tensors you no longer need"
                + " (MemoryScope), call emptyCache() if other processes need the memory, or use BF16 for activations"
                + " and weights.";
        return new CudaOutOfMemoryError(msg, bytes);
    }

    public synchronized MemoryStats stats() {
        return new MemoryStats(allocatedBytes, reservedBytes, peakAllocatedBytes, driverAllocations, driverFrees);
    }

    /** Sets the peak to the current allocated bytes. */
    public synchronized void resetPeak() { peakAllocatedBytes = allocatedBytes; }

}
