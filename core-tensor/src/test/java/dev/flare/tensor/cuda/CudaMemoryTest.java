package dev.flare.tensor.cuda;

import dev.flare.tensor.DType;
import dev.flare.tensor.Device;
import dev.flare.tensor.MemoryScope;
import dev.flare.tensor.Tensor;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicReference;

import static dev.flare.tensor.cuda.CudaTestSupport.*;
import static org.junit.jupiter.api.Assertions.*;

/** The caching allocator on a real device, host copies, scopes, out-of-memory reporting, threads. */
@Tag("cuda")
class CudaMemoryTest {
    @Test
    void deviceInformation() {
        gpu();
        System.out.println(Cuda.describe());
        assertTrue(Cuda.deviceCount() >= 1);
        assertTrue(Cuda.computeCapability(0)[0] >= 8, "sm_80 or newer expected");
        assertTrue(Cuda.totalMemory(0) > 1L << 30);
    }

    @Test
    void allocateFreeLoopMakesNoNewDriverAllocations() {
        CudaBackend b = gpu();
        int[] sizes = {1, 100, 1000, 4096, 100_000, 1 << 20, 3 << 20, 25 << 20};
        for (int warm = 0; warm < 2; warm++) {
            List<Tensor> ts = new ArrayList<>();
            for (int n : sizes) ts.add(Tensor.empty(DType.F32, Device.cuda(0), n));
            for (Tensor t : ts) t.release();
        }
        MemoryStats before = b.memoryStats();
        for (int iter = 0; iter < 200; iter++) {
            List<Tensor> ts = new ArrayList<>();
            for (int n : sizes) ts.add(Tensor.empty(DType.F32, Device.cuda(0), n));
            for (Tensor t : ts) t.release();
        }
        MemoryStats after = b.memoryStats();
        assertEquals(before.driverAllocations(), after.driverAllocations(), "no cuMemAlloc in the loop: " + after);
        assertEquals(before.allocatedBytes(), after.allocatedBytes());
        System.out.println("allocator: " + after);
    }

    @Test
    void statsFollowAllocationsAndEmptyCache() {
        CudaBackend b = gpu();
        MemoryStats s0 = b.memoryStats();
        Tensor t = Tensor.empty(DType.BF16, Device.cuda(0), 3, 1000, 1000);    // 6 MB -> 6 MiB class
        MemoryStats s1 = b.memoryStats();
        assertEquals(CachingAllocator.roundSize(6_000_000), s1.allocatedBytes() - s0.allocatedBytes());
        assertTrue(s1.peakAllocatedBytes() >= s1.allocatedBytes());
        t.release();
        t.release();    // idempotent
        MemoryStats s2 = b.memoryStats();
        assertEquals(s0.allocatedBytes(), s2.allocatedBytes());
        b.emptyCache();
        MemoryStats s3 = b.memoryStats();
        assertEquals(s3.allocatedBytes(), s3.reservedBytes(), "nothing cached after emptyCache: " + s3);
        assertTrue(s3.driverFrees() > s2.driverFrees() || s2.cachedBytes() == 0);
    }

    @Test
    void outOfMemorySaysWhatWasAskedAndWhatToTry() {
        CudaBackend b = gpu();
        long total = Cuda.totalMemory(0);
        long numel = (total * 2) / 4;          // twice the device, in F32
        int[] shape = {(int) Math.min(numel / 1024, Integer.MAX_VALUE), 1024};
        CudaOutOfMemoryError e = assertThrows(CudaOutOfMemoryError.class, () -> Tensor.empty(DType.F32, Device.cuda(0), shape));
        String m = e.getMessage();
        System.out.println(m);
        assertTrue(m.contains("CUDA out of memory on cuda:0"), m);
        assertTrue(m.contains("tried to allocate"), m);
        assertTrue(m.contains("reserved"), m);
        assertTrue(m.contains("total"), m);
        assertTrue(m.contains("smaller batch"), m);
        // Still usable afterwards.
        Tensor ok = Tensor.empty(DType.F32, Device.cuda(0), 1000);
        b.fill(ok, 1);
        assertEquals(1.0, values(ok)[999]);
        ok.release();
    }

    @Test
    void hostCopiesEveryDtypeWithOffsetsAndBeyondTheStagingBuffer() {
        CudaBackend b = gpu();
        Random rnd = new Random(51);
        for (DType t : ALL) {
            int n = 1000;
            double[] v = random(rnd, t, n, -50, 50);
            Tensor x = tensor(b, t, v, n);
            assertArrayEquals(v, values(x));
            // Partial copies: array index 5, storage index 10, 100 elements.
            Object part = dev.flare.tensor.HostArrays.allocate(t, 200);
            x.storage().copyToHost(10, part, 5, 100);
            for (int i = 0; i < 100; i++) assertEquals(v[10 + i], get(t, part, 5 + i));
            x.storage().copyFromHost(part, 5, 500, 100);
            double[] after = values(x);
            for (int i = 0; i < 100; i++) assertEquals(v[10 + i], after[500 + i]);
            assertThrows(IndexOutOfBoundsException.class, () -> x.storage().copyToHost(950, part, 0, 100));
            assertThrows(IllegalArgumentException.class, () -> x.storage().copyToHost(0, new Object[]{}, 0, 0));
        }
        // 40 MB of floats: three chunks through the 16 MiB pinned buffer.
        int n = 10_000_000;
        float[] big = new float[n];
        for (int i = 0; i < n; i++) big[i] = i * 0.5f;
        Tensor t = Tensor.empty(DType.F32, Device.cuda(0), n);
        t.storage().copyFromHost(big, 0, 0, n);
        float[] back = new float[n];
        t.storage().copyToHost(0, back, 0, n);
        assertArrayEquals(big, back);
        t.release();
    }

    @Test
    void memoryScopeReleasesDeviceTensors() {
        CudaBackend b = gpu();
        long before = b.memoryStats().allocatedBytes();
        Tensor kept;
        try (MemoryScope scope = MemoryScope.open()) {
            Tensor a = Tensor.empty(DType.F32, Device.cuda(0), 1 << 20);
            Tensor c = Tensor.empty(DType.F32, Device.cuda(0), 1 << 10);
            b.fill(a, 2);
            b.fill(c, 3);
            assertTrue(b.memoryStats().allocatedBytes() > before);
            kept = scope.keep(c);
        }
        assertEquals(before + CachingAllocator.roundSize(4 << 10), b.memoryStats().allocatedBytes());
        assertEquals(3.0, values(kept)[0]);
        kept.release();
        assertEquals(before, b.memoryStats().allocatedBytes());
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> values(kept));
        assertTrue(e.getMessage().contains("already released"), e.getMessage());
    }

    @Test
    void otherThreadsBindTheContextThemselves() throws Exception {
        CudaBackend b = gpu();
        AtomicReference<Throwable> err = new AtomicReference<>();
        double[][] got = new double[1][];
        Thread th = new Thread(() -> {
            try {
                Tensor x = tensor(b, DType.F32, new double[]{1, 2, 3}, 3);
                b.unary(dev.flare.tensor.ops.UnaryOp.SQUARE, x, x);
                got[0] = values(x);
            } catch (Throwable t) {
                err.set(t);
            }
        });
        th.start();
        th.join();
        if (err.get() != null) throw new AssertionError(err.get());
        assertArrayEquals(new double[]{1, 4, 9}, got[0]);
        b.synchronize();
    }

    @Test
    void eventsTimeWork() {
        CudaBackend b = gpu();
        Tensor x = Tensor.empty(DType.F32, Device.cuda(0), 1 << 24);
        try (CudaEvent start = CudaEvent.timing(b.context()); CudaEvent end = CudaEvent.timing(b.context())) {
            start.record(b.stream());
            for (int i = 0; i < 10; i++) b.fill(x, i);
            end.record(b.stream());
            float ms = CudaEvent.elapsedMillis(start, end);
            assertTrue(ms > 0 && ms < 10_000, "elapsed " + ms);
            assertTrue(end.isComplete());
        }
        x.release();
    }
}
