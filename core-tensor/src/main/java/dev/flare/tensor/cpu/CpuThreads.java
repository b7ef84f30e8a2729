package dev.flare.tensor.cpu;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinWorkerThread;
import java.util.stream.IntStream;

/**
 * The CPU backend's worker pool: one daemon thread per core (or {@code -Dflare.cpu.threads=N}). Work is split
 * only when it is large enough to pay for the hand-off.
 */
public final class CpuThreads {
    private static final int THREADS = Integer.getInteger("flare.cpu.threads", Runtime.getRuntime().availableProcessors());
    private static final ForkJoinPool POOL = new ForkJoinPool(Math.max(1, THREADS), pool -> {
        ForkJoinWorkerThread t = ForkJoinPool.defaultForkJoinWorkerThreadFactory.newThread(pool);
        t.setName("flare-cpu-" + t.getPoolIndex());
        t.setDaemon(true);
        return t;
    }, null, false);

    private CpuThreads() {}

    public static int threads() { return Math.max(1, THREADS); }

    public static ForkJoinPool pool() { return POOL; }

    private static boolean inPool() {
        return Thread.currentThread() instanceof ForkJoinWorkerThread w && w.getPool() == POOL;
    }

    /** A range [from, to) of work items. */
    @FunctionalInterface
    public interface RangeBody {
        void run(int from, int to);
    }

    /**
     * Runs body over [0, n) split into at most threads() chunks, in parallel when n * costPerItem exceeds
     * about 32k operations (a rough break-even for a fork-join hand-off); otherwise on the calling thread.
     */
    public static void parallelFor(int n, long costPerItem, RangeBody body) {
        int parts = threads();
        if (n <= 1 || parts == 1 || (long) n * Math.max(1, costPerItem) < 32_768 || inPool()) {
            // Nested calls from a worker run inline: the pool is already busy with the outer split.
            if (n > 0) body.run(0, n);
            return;
        }
        int chunks = Math.min(parts, n);
        POOL.submit(() -> IntStream.range(0, chunks).parallel().forEach(c -> {
            int from = (int) ((long) n * c / chunks), to = (int) ((long) n * (c + 1) / chunks);
            if (from < to) body.run(from, to);
        })).join();
    }
}
