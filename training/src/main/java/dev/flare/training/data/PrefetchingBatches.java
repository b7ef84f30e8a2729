package dev.flare.training.data;

import dev.flare.tensor.Device;

import java.util.ArrayDeque;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Prepares the next {@code depth} batches (gathered from the token source and copied to the device) on one
 * background thread while the caller trains on the current one. One thread drawing in submission order gives
 * exactly the sequence of the direct path; position() counts batches handed out, so a checkpoint is unaffected
 * by the batches prepared ahead. Batches come from outside any MemoryScope: the caller releases them.
 */
final class PrefetchingBatches implements BatchSource {
    private final RandomWindows windows;
    private final Device device;
    private final int depth;
    private final ExecutorService worker;
    private final ArrayDeque<Future<RandomWindows.Batch>> ahead = new ArrayDeque<>();
    private long handedOut;

    PrefetchingBatches(RandomWindows windows, Device device, int depth) {
        if (depth < 1) throw new IllegalArgumentException("depth: expected >= 1 batch to prepare ahead, got " + depth);
        this.windows = windows;
        this.device = device;
        this.depth = depth;
        this.handedOut = windows.position();
        this.worker = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "flare-prefetch");
            t.setDaemon(true);                 // never keeps the JVM alive
            return t;
        });
    }

    @Override
    public RandomWindows.Batch next() {
        fill();
        RandomWindows.Batch b = await(ahead.poll());
        handedOut++;
        fill();                                // the next batches get ready while the caller trains on this one
        return b;
    }

    private void fill() {
        while (ahead.size() < depth) ahead.add(worker.submit(() -> windows.next().to(device)));
    }

    private static RandomWindows.Batch await(Future<RandomWindows.Batch> f) {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for the next batch", e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) throw r;       // e.g. a corrupt token file, as on the direct path
            if (e.getCause() instanceof Error err) throw err;
            throw new IllegalStateException("preparing a batch failed: " + e.getCause(), e.getCause());
        }
    }

    @Override
    public long position() { return handedOut; }

    @Override
    public void seek(long position) {
        drop();
        windows.seek(position);
        handedOut = position;
    }

    /** Waits for the batches prepared ahead and frees them. */
    private void drop() {
        while (!ahead.isEmpty()) {
            try {
                await(ahead.poll()).release();
            } catch (RuntimeException e) {
                // a batch that failed to prepare has nothing to free; the error resurfaces if it is drawn again
            }
        }
    }

    @Override
    public boolean callerReleases() { return true; }

    @Override
    public void close() {
        drop();
        worker.shutdownNow();
    }
}
