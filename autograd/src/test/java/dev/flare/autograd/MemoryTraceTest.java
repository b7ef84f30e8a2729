package dev.flare.autograd;

import dev.flare.tensor.DType;
import dev.flare.tensor.Device;
import dev.flare.tensor.MemoryScope;
import dev.flare.tensor.Tensor;
import dev.flare.tensor.cpu.CpuMemory;
import dev.flare.tensor.random.Generator;
import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.Random;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The memory trace attributes what the forward leaves allocated to the op that allocated it, and reports the
 * backward's start, peak and end (on the CPU, whose byte counts are exact).
 */
class MemoryTraceTest {

    @Test
    void forwardGrowthIsAttributedByOpAndTheBackwardIsBracketed() throws InterruptedException {
        long seed = new Random().nextLong();
        Generator gen = new Generator(seed);
        Tensor x = Tensor.randn(gen, 64, 256).requiresGrad(true);                  // 64 KiB
        Tensor w1 = Tensor.randn(gen, 256, 1024).requiresGrad(true);               // 1 MiB
        Tensor w2 = Tensor.randn(gen, 1024, 8).requiresGrad(true);                 // 32 KiB
        // other tests' garbage uncounted first (until the count settles), so no collection moves the exact numbers
        long last = -1;
        for (int i = 0; i < 20 && last != CpuMemory.stats().allocatedBytes(); i++) {
            last = CpuMemory.stats().allocatedBytes();
            System.gc();
            Thread.sleep(10);
        }
        MemoryTrace.setOn(true);
        try (MemoryScope ignored = MemoryScope.open()) {
            MemoryTrace.startForward(Device.CPU);
            Tensor h = x.matmul(w1);                                                    // 256 KiB
            Tensor y = h.gelu().matmul(w2);                                             // 256 KiB, then 2 KiB
            y.sum().backward();
        } finally {
            MemoryTrace.setOn(false);
        }
        MemoryTrace.Report r = MemoryTrace.lastReport();
        assertNotNull(r);
        Map<String, long[]> byOp = r.forwardByOp().stream()
                .collect(Collectors.toMap(MemoryTrace.Report.OpGrowth::op, g -> new long[]{g.bytes(), g.calls()}));
        assertArrayEquals(new long[]{(64 * 1024 + 64 * 8) * 4, 2}, byOp.get("Matmul"), "seed " + seed + ": " + r);
        assertArrayEquals(new long[]{64 * 1024 * 4, 1}, byOp.get("Unary GELU"), r.toString());
        assertEquals(3, byOp.size(), "Matmul, GELU, the sum: " + r);
        assertEquals(4, r.nodes(), r.toString());
        long leafGrads = (64 * 256 + 256 * 1024 + 1024 * 8) * 4;
        assertEquals(leafGrads, r.backwardEndBytes() - r.backwardStartBytes(), "only the leaves' .grad outlive the backward: " + r);
        assertTrue(r.backwardPeakBytes() >= r.backwardEndBytes(), r.toString());
        assertTrue(r.toString().contains("Unary GELU 256.0 KiB (1)"), r.toString());
        assertEquals(Device.CPU.toString(), r.device());
        assertEquals(DType.F32, x.grad().dtype());
    }

    @Test
    void offByDefaultAndNoReportWhileOff() throws InterruptedException {
        org.junit.jupiter.api.Assumptions.assumeFalse(Boolean.getBoolean("flare.debug.memory"), "tracing asked for on this JVM");
        assertFalse(MemoryTrace.isOn(), "tracing costs a sample per op: it must be asked for");
        Thread other = new Thread(() -> {                 // a thread that never traced: no report from its backward
            Tensor w = Tensor.ones(3).requiresGrad(true);
            w.mul(2.0).sum().backward();
            assertNull(MemoryTrace.lastReport());
        });
        Throwable[] failed = {null};
        other.setUncaughtExceptionHandler((t, e) -> failed[0] = e);
        other.start();
        other.join();
        assertNull(failed[0], () -> "a backward with tracing off left a report: " + failed[0]);
    }
}
