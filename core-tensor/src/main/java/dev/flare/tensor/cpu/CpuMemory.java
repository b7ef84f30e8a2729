package dev.flare.tensor.cpu;

import dev.flare.tensor.Bytes;

import java.lang.ref.Cleaner;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Bytes of CPU tensor storage in use, the host counterpart of the CUDA allocator's statistics: a storage counts
 * from its creation until it is released (its {@link dev.flare.tensor.MemoryScope} closes, or
 * {@link dev.flare.tensor.Tensor#release()}) or, for unscoped storage nobody released, until the garbage collector
 * reclaims it. The peak shows what a training step really holds at once (activations saved for the backward,
 * gradients in flight), which the JVM's heap numbers blur with garbage not yet collected.
 */
public final class CpuMemory {
    private static final AtomicLong ALLOCATED = new AtomicLong(), PEAK = new AtomicLong(), STORAGES = new AtomicLong();
    private static final Cleaner CLEANER = Cleaner.create();

    private CpuMemory() {}

    /**
     * A snapshot.
     *
     * @param allocatedBytes     bytes of CPU storage live now
     * @param peakAllocatedBytes the highest allocatedBytes since start or {@link #resetPeak()}
     * @param storages           number of CPU storages live now
     */
    public record Stats(long allocatedBytes, long peakAllocatedBytes, long storages) {
        @Override
        public String toString() {
            return String.format("allocated %s in %d storages, peak %s", Bytes.human(allocatedBytes), storages, Bytes.human(peakAllocatedBytes));
        }
    }

    public static Stats stats() { return new Stats(ALLOCATED.get(), PEAK.get(), STORAGES.get()); }

    /** Sets the peak to the bytes allocated now (to measure the peak of one phase, such as a training step). */
    public static void resetPeak() { PEAK.set(ALLOCATED.get()); }

    static void count(long bytes) {
        long now = ALLOCATED.addAndGet(bytes);
        STORAGES.incrementAndGet();
        PEAK.accumulateAndGet(now, Math::max);
    }

    static void uncount(long bytes) {
        ALLOCATED.addAndGet(-bytes);
        STORAGES.decrementAndGet();
    }

    /**
     * Uncounts {@code bytes} when owner becomes unreachable, or when the returned handle is cleaned (on release),
     * whichever comes first: once either way.
     */
    static Cleaner.Cleanable uncountWhenCollected(Object owner, long bytes) {
        return CLEANER.register(owner, new Uncount(bytes));
    }

    /** Must not refer to the storage (it would never become unreachable). */
    private record Uncount(long bytes) implements Runnable {
        @Override
        public void run() { uncount(bytes); }
    }
}
