package dev.flare.tensor.cuda;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

/** The allocator's policy against a fake driver: no GPU needed. */
class CachingAllocatorTest {
    /** A fake device with a capacity; records calls. */
    static final class FakeMemory implements DeviceMemory {
        final long capacity;
        long used, next = 0x7f00_0000_0000L;
        int allocs, frees, syncs;
        final List<String> waits = new ArrayList<>();
        final Set<Long> live = new HashSet<>();

        FakeMemory(long capacity) { this.capacity = capacity; }

        @Override
        public Allocation allocate(long bytes) {
            if (used + bytes > capacity) return null;
            used += bytes;
            allocs++;
            long a = next;
            next += bytes + 4096;
            live.add(a);
            return new Allocation(a, bytes);
        }

        @Override
        public void free(Allocation a) {
            assertTrue(live.remove(a.address()), "free of an unknown address");
            used -= (Long) a.handle();
            frees++;
        }

        @Override
        public long[] memoryInfo() { return new long[]{capacity - used, capacity}; }

        @Override
        public void streamWait(Object stream, Object producer) { waits.add(stream + "<-" + producer); }

        @Override
        public void synchronize() { syncs++; }
    }

    @Test
    void sizeClasses() {
        assertEquals(512, CachingAllocator.roundSize(1));
        assertEquals(512, CachingAllocator.roundSize(512));
        assertEquals(1024, CachingAllocator.roundSize(513));
        assertEquals(1L << 20, CachingAllocator.roundSize(1L << 20));             // largest small request
        assertEquals(2L << 20, CachingAllocator.roundSize((1L << 20) + 1));        // large: 2 MiB multiples
        assertEquals(4L << 20, CachingAllocator.roundSize((2L << 20) + 1));
        assertEquals(1000L << 20, CachingAllocator.roundSize((999L << 20) + 5));
        assertThrows(IllegalArgumentException.class, () -> CachingAllocator.roundSize(0));
    }

    @Test
    void freedBlocksAreReusedWithoutDriverCalls() {
        FakeMemory mem = new FakeMemory(1L << 40);
        CachingAllocator a = new CachingAllocator("cuda:0", mem);
        Object s = "s0";
        long[] sizes = {100, 4000, 1 << 20, 3 << 20, 50 << 20, 7};
        for (int iter = 0; iter < 1000; iter++) {
            List<CachingAllocator.Block> blocks = new ArrayList<>();
            for (long n : sizes) blocks.add(a.allocate(n, s));
            for (CachingAllocator.Block b : blocks) a.free(b);
        }
        MemoryStats st = a.stats();
        assertEquals(sizes.length, st.driverAllocations(), "one driver allocation per size class, then reuse");
        assertEquals(0, st.driverFrees());
        assertEquals(0, st.allocatedBytes());
        long reserved = 0;
        for (long n : sizes) reserved += CachingAllocator.roundSize(n);
        assertEquals(reserved, st.reservedBytes());
        assertEquals(reserved, st.peakAllocatedBytes());
        assertTrue(mem.waits.isEmpty(), "same-stream reuse needs no synchronization");
    }

    @Test
    void statsTrackAllocatedPeakAndCached() {
        FakeMemory mem = new FakeMemory(1L << 40);
        CachingAllocator a = new CachingAllocator("cuda:0", mem);
        CachingAllocator.Block x = a.allocate(1000, null), y = a.allocate(5 << 20, null);
        assertEquals(1024 + (6L << 20), a.stats().allocatedBytes());
        a.free(y);
        MemoryStats st = a.stats();
        assertEquals(1024, st.allocatedBytes());
        assertEquals(6L << 20, st.cachedBytes());
        assertEquals(1024 + (6L << 20), st.peakAllocatedBytes());
        a.resetPeak();
        assertEquals(1024, a.stats().peakAllocatedBytes());
        assertThrows(IllegalStateException.class, () -> a.free(y), "double free");
        a.free(x);
        a.emptyCache();
        assertEquals(0, a.stats().reservedBytes());
        assertEquals(2, a.stats().driverFrees());
        assertEquals(0, mem.used);
    }

    @Test
    void largeRequestsMayTakeASlightlyLargerCachedBlock() {
        FakeMemory mem = new FakeMemory(1L << 40);
        CachingAllocator a = new CachingAllocator("cuda:0", mem);
        CachingAllocator.Block big = a.allocate(64L << 20, null);
        a.free(big);
        CachingAllocator.Block b = a.allocate(60L << 20, null);    // within 1/8
        assertSame(big, b);
        a.free(b);
        CachingAllocator.Block c = a.allocate(20L << 20, null);    // far smaller: new block
        assertNotSame(big, c);
        assertEquals(2, a.stats().driverAllocations());
        // Small requests only take their exact class.
        CachingAllocator.Block s1 = a.allocate(2048, null);
        a.free(s1);
        CachingAllocator.Block s2 = a.allocate(1024, null);
        assertNotSame(s1, s2);
    }

    @Test
    void crossStreamReuseWaitsForTheOtherStream() {
        FakeMemory mem = new FakeMemory(1L << 40);
        CachingAllocator a = new CachingAllocator("cuda:0", mem);
        CachingAllocator.Block b = a.allocate(4096, "A");
        a.free(b);
        CachingAllocator.Block same = a.allocate(4096, "A");
        assertSame(b, same);
        assertTrue(mem.waits.isEmpty());
        a.free(same);
        CachingAllocator.Block other = a.allocate(4096, "B");
        assertSame(b, other, "cached block of stream A reused on B");
        assertEquals(List.of("B<-A"), mem.waits, "only after B waits for A's queued work");
        assertEquals("B", other.stream());
        a.free(other);
        assertSame(b, a.allocate(4096, "B"), "now cached on B");
        assertEquals(1, mem.waits.size());
    }

    @Test
    void outOfMemoryEmptiesTheCacheAndRetriesOnce() {
        FakeMemory mem = new FakeMemory(10L << 20);
        CachingAllocator a = new CachingAllocator("cuda:0", mem);
        CachingAllocator.Block x = a.allocate(6L << 20, null);
        a.free(x);                                  // 6 MiB cached
        CachingAllocator.Block y = a.allocate(8L << 20, null);   // needs the cached memory back
        assertEquals(8L << 20, y.size());
        assertEquals(1, a.stats().driverFrees());
        assertEquals(1, mem.syncs, "synchronized before returning cached blocks");
        CudaOutOfMemoryError e = assertThrows(CudaOutOfMemoryError.class, () -> a.allocate(5L << 20, null));
        String m = e.getMessage();
        assertTrue(m.contains("cuda:0"), m);
        assertTrue(m.contains("tried to allocate 5.0 MiB"), m);
        assertTrue(m.contains("8.0 MiB allocated"), m);
        assertTrue(m.contains("2.0 MiB free of 10.0 MiB total"), m);
        assertTrue(m.contains("smaller batch"), m);
        assertTrue(m.contains("emptyCache"), m);
        assertTrue(m.contains("BF16"), m);
        assertEquals(5L << 20, e.requestedBytes());
        // The failed request left the books straight.
        assertEquals(8L << 20, a.stats().allocatedBytes());
        assertEquals(8L << 20, a.stats().reservedBytes());
    }
}
