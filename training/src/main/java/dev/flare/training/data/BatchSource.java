package dev.flare.training.data;

import dev.flare.tensor.Device;

/**
 * The training batches of a run, in order, already on the training device. position() counts the batches handed
 * out (not those prepared ahead), so it is what a checkpoint saves and seek() restores.
 */
public interface BatchSource extends AutoCloseable {
    /** The next batch on the device. Tensors made off the caller's thread are unscoped: release them after use. */
    RandomWindows.Batch next();

    long position();

    void seek(long position);

    /** Whether next() hands out tensors the caller must release (they were made outside the caller's MemoryScope). */
    boolean callerReleases();

    @Override
    void close();

    /** Batches of windows moved to device: on the caller's thread, or prepared depth batches ahead on a background thread. */
    static BatchSource of(RandomWindows windows, Device device, boolean prefetch, int depth) {
        return prefetch ? new PrefetchingBatches(windows, device, depth) : new DirectBatches(windows, device);
    }
}
