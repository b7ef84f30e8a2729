package dev.flare.tensor.cpu;

import dev.flare.tensor.DType;
import dev.flare.tensor.Device;
import dev.flare.tensor.MemoryScope;
import dev.flare.tensor.Tensor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/**
 * CPU storage is counted from creation until it is released (scope close, release()) or collected, exactly once;
 * the peak keeps the highest count since resetPeak.
 */
class CpuMemoryTest {
    private static final long MIB = 1 << 20;

    @Test
    void aScopesStorageCountsUntilTheScopeCloses() throws InterruptedException {
        long before = settled();
        CpuMemory.resetPeak();
        try (MemoryScope ignored = MemoryScope.open()) {
            Tensor.zeros(DType.F32, Device.CPU, 1024, 256);                 // 1 MiB
            Tensor.zeros(DType.BF16, Device.CPU, 1024, 512);                // 1 MiB
            assertEquals(before + 2 * MIB, CpuMemory.stats().allocatedBytes());
        }
        assertEquals(before, CpuMemory.stats().allocatedBytes(), "closing the scope uncounts both");
        assertEquals(before + 2 * MIB, CpuMemory.stats().peakAllocatedBytes());
        CpuMemory.resetPeak();
        assertEquals(before, CpuMemory.stats().peakAllocatedBytes());
    }

    @Test
    void releaseUncountsOnceAndViewsCountNothing() throws InterruptedException {
        long before = settled(), storages = CpuMemory.stats().storages();
        Tensor t = Tensor.zeros(DType.F64, Device.CPU, 128, 1024);           // 1 MiB
        Tensor view = t.narrow(0, 0, 64).transpose(0, 1);
        assertEquals(before + MIB, CpuMemory.stats().allocatedBytes(), "a view shares its base's storage");
        assertEquals(storages + 1, CpuMemory.stats().storages());
        view.release();
        t.release();
        assertEquals(before, CpuMemory.stats().allocatedBytes(), "released twice (through a view too), uncounted once");
        assertEquals(storages, CpuMemory.stats().storages());
    }

    @Test
    void aStorageWhoseConstructionFailedInAScopeIsNotUncounted() throws InterruptedException {
        long before = settled(), storages = CpuMemory.stats().storages();
        try (MemoryScope ignored = MemoryScope.open()) {
            assertThrows(IllegalArgumentException.class, () -> new CpuStorage(DType.F32, new double[8]), "wrong array type");
            assertThrows(IllegalArgumentException.class, () -> new CpuStorage(DType.F32, 1L << 40), "over the array limit");
        }
        assertEquals(before, CpuMemory.stats().allocatedBytes(), "the scope freed storages that were never counted");
        assertEquals(storages, CpuMemory.stats().storages());
    }

    @Test
    void wrappedArraysCountToo() throws InterruptedException {
        long before = settled();
        Tensor t = Tensor.fromArray(new long[1000], 10, 100);
        assertEquals(before + 8000, CpuMemory.stats().allocatedBytes());
        t.release();
        assertEquals(before, CpuMemory.stats().allocatedBytes());
    }

    @Test
    void unreleasedStorageIsUncountedWhenCollected() throws InterruptedException {
        long before = settled();
        Tensor.zeros(DType.F32, Device.CPU, 64 * 1024 * 1024 / 4);           // 64 MiB, unscoped, unreferenced
        assertUncountedOnceCollected(before);
    }

    @Test
    void storageThatLeavesItsScopesIsUncountedWhenCollected() throws InterruptedException {
        long before = settled();
        try (MemoryScope outer = MemoryScope.open()) {
            try (MemoryScope inner = MemoryScope.open()) {
                inner.keep(Tensor.zeros(DType.F32, Device.CPU, 64 * 1024 * 1024 / 4));    // moves to outer
                MemoryScope.detach(Tensor.zeros(DType.F32, Device.CPU, 16));              // unscoped, unreferenced
            }
            assertEquals(before + 64 * MIB + 64, CpuMemory.stats().allocatedBytes(), "kept: still counted in outer");
            Tensor released = Tensor.zeros(DType.F32, Device.CPU, 1);
            released.release();
            outer.keep(released);                                   // past the outermost, already released: no recount
        }
        assertTrue(CpuMemory.stats().allocatedBytes() <= before + 64, "outer released the kept 64 MiB");
        long after = Long.MAX_VALUE;
        for (int i = 0; i < 100 && after != before; i++) after = collect();
        assertEquals(before, after, "the detached 64 bytes are uncounted once collected; the released one not twice");
    }

    private static void assertUncountedOnceCollected(long before) throws InterruptedException {
        assertTrue(CpuMemory.stats().allocatedBytes() >= before + 64 * MIB);
        long after = Long.MAX_VALUE;
        for (int i = 0; i < 100 && after >= before + 64 * MIB; i++) after = collect();
        assertTrue(after < before + 64 * MIB, "64 MiB unreferenced storage still counted after 100 collections: " + after + " vs " + before);
    }

    /**
     * allocatedBytes after collections stop changing it: earlier tests' garbage is uncounted first, so that a collection
     * during a test cannot uncount it and move the exact numbers the test expects.
     */
    private static long settled() throws InterruptedException {
        long last = collect(), now;
        for (int i = 0; i < 20 && (now = collect()) != last; i++) last = now;
        return last;
    }

    private static long collect() throws InterruptedException {
        System.gc();
        Thread.sleep(10);                                                    // the cleaner thread runs the uncount
        return CpuMemory.stats().allocatedBytes();
    }
}
