package dev.flare.training.data;

import dev.flare.tensor.Device;

/** Batches drawn and moved to the device on the caller's thread, inside its MemoryScope. */
final class DirectBatches implements BatchSource {
    private final RandomWindows windows;
    private final Device device;

    DirectBatches(RandomWindows windows, Device device) {
        this.windows = windows;
        this.device = device;
    }

    @Override
    public RandomWindows.Batch next() { return windows.next().to(device); }

    @Override
    public long position() { return windows.position(); }

    @Override
    public void seek(long position) { windows.seek(position); }

    @Override
    public boolean callerReleases() { return false; }

    @Override
    public void close() {}
}
