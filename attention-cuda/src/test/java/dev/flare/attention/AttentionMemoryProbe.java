package dev.flare.attention;

import dev.flare.tensor.Backend;
import dev.flare.tensor.DType;
import dev.flare.tensor.Device;
import dev.flare.tensor.MemoryScope;
import dev.flare.tensor.Tensor;
import dev.flare.tensor.random.Generator;

import java.lang.management.ManagementFactory;

/**
 * Measures what one attention call holds beyond its inputs and results: the device allocator's peak during the
 * forward and during forward + backward, minus what stays (the output, the three gradients). On the CPU it also
 * counts the Java heap allocated by every thread, which covers the CPU kernels' own arrays (the allocator only sees
 * tensor storage). A materialized score matrix would be B·H·S²·(dtype bytes); a flash kernel needs the
 * logsumexp (B·H·S floats) and, in the backward, delta (B·H·S floats) and fp32 dQ partial sums.
 */
final class AttentionMemoryProbe {
    /**
     * @param forwardExtraBytes  peak allocated during the forward, above the inputs, minus the output
     * @param backwardExtraBytes peak allocated during forward + backward, above the inputs (and the leaves' gradient
     *                           buffers, allocated beforehand), minus the output and the three gradients
     * @param heapBytes          Java heap allocated by all threads during forward + backward (CPU runs), else -1
     */
    record Result(int b, int h, int s, int d, DType dtype, long forwardExtraBytes, long backwardExtraBytes, long heapBytes) {
        long tensorBytes() { return (long) b * h * s * d * dtype.byteSize(); }

        long lseBytes() { return (long) b * h * s * 4; }

        long scoreMatrixBytes() { return (long) b * h * s * s * dtype.byteSize(); }
    }

    private AttentionMemoryProbe() {}

    /** Causal attention of (b, h, s, d) random inputs on device through backend, forward then backward. */
    static Result measure(Device device, AttentionBackend backend, DType dtype, int b, int h, int s, int d) {
        Generator gen = new Generator(17);
        Tensor q = input(gen, device, dtype, b, h, s, d), k = input(gen, device, dtype, b, h, s, d);
        Tensor v = input(gen, device, dtype, b, h, s, d), dO = input(gen, device, dtype, b, h, s, d);
        // Gradients that already exist are added to in place: the engine's copy of a first gradient into the leaf
        // (autograd's memory, not attention's) stays out of the measurement.
        for (Tensor t : new Tensor[]{q, k, v}) t.setGrad(MemoryScope.detach(Tensor.zeros(dtype, device, b, h, s, d)));
        Backend be = q.backend();
        AttentionOptions opts = AttentionOptions.causal().withBackend(backend);
        long outBytes = q.numel() * dtype.byteSize();
        try (MemoryScope call = MemoryScope.open()) {
            be.synchronize();
            long base = be.allocatedBytes();
            java.util.Map<Long, Long> heap0 = device.isCpu() ? heapByThread() : java.util.Map.of();
            be.resetPeakAllocatedBytes();
            Tensor o = Attention.scaledDotProductAttention(q, k, v, opts);
            be.synchronize();
            long forwardExtra = be.peakAllocatedBytes() - base - outBytes;
            o.backward(dO);
            be.synchronize();
            long backwardExtra = be.peakAllocatedBytes() - base - 4 * outBytes;
            long heap = device.isCpu() ? heapAllocatedSince(heap0) : -1;
            return new Result(b, h, s, d, dtype, forwardExtra, backwardExtra, heap);
        } finally {
            for (Tensor t : new Tensor[]{q, k, v, dO}) {
                if (t.grad() != null) t.grad().release();
                t.release();
            }
        }
    }

    private static Tensor input(Generator gen, Device device, DType dtype, int... shape) {
        try (MemoryScope ignored = MemoryScope.open()) {
            Tensor t = Tensor.randn(gen, shape).to(dtype).to(device);
            return MemoryScope.detach(t).requiresGrad(true);
        }
    }

    /** Java heap bytes allocated so far, by thread id. */
    static java.util.Map<Long, Long> heapByThread() {
        var mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long[] ids = mx.getAllThreadIds(), bytes = mx.getThreadAllocatedBytes(ids);
        java.util.Map<Long, Long> m = new java.util.HashMap<>();
        for (int i = 0; i < ids.length; i++) if (bytes[i] >= 0) m.put(ids[i], bytes[i]);
        return m;
    }

    /**
     * Java heap bytes that the threads alive now allocated since {@code before} (threads started since count from
     * zero). The CPU kernels run on a pool whose threads stay alive, so their arrays are counted.
     */
    static long heapAllocatedSince(java.util.Map<Long, Long> before) {
        long total = 0;
        for (var e : heapByThread().entrySet()) total += e.getValue() - before.getOrDefault(e.getKey(), 0L);
        return total;
    }
}
