package dev.flare.training.data;

import dev.flare.tensor.Device;
import org.junit.jupiter.api.Test;

import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import static org.junit.jupiter.api.Assertions.*;

/** The prefetching source hands out exactly the direct source's batches, positions and errors, prepared on its own thread. */
class PrefetchTest {
    private final long seed = new Random().nextLong();
    private final Random rnd = new Random(seed);

    /** Random tokens that record which threads read them, and fail past failAt. */
    private static final class Recording implements Tokens {
        final int[] ids;
        final long failAt;
        final Set<String> threads = ConcurrentHashMap.newKeySet();

        Recording(int[] ids, long failAt) { this.ids = ids; this.failAt = failAt; }

        public long length() { return ids.length; }
        public int vocabSize() { return 50; }
        public void read(long from, long[] dst, int off, int n) {
            threads.add(Thread.currentThread().getName());
            if (from >= failAt) throw new IllegalStateException("token file: bad token at index " + from);
            for (int k = 0; k < n; k++) dst[off + k] = ids[(int) from + k];
        }
    }

    private int[] ids(int n) {
        int[] t = new int[n];
        for (int i = 0; i < n; i++) t[i] = rnd.nextInt(50);
        return t;
    }

    @Test
    void sameBatchesAndPositionsAsTheDirectPathPreparedInTheBackground() {
        Recording tokens = new Recording(ids(5000), Long.MAX_VALUE);
        int depth = 1 + rnd.nextInt(4), batch = 1 + rnd.nextInt(6), context = 1 + rnd.nextInt(40);
        String where = "depth " + depth + ", batch " + batch + ", context " + context + ", seed " + seed;
        try (BatchSource direct = BatchSource.of(new RandomWindows(tokens, batch, context, seed), Device.CPU, false, depth);
             BatchSource ahead = BatchSource.of(new RandomWindows(tokens, batch, context, seed), Device.CPU, true, depth)) {
            assertTrue(ahead.callerReleases());
            for (int i = 0; i < 12; i++) {
                if (i == 7) {                                    // a resume in the middle: both seek back
                    direct.seek(3);
                    ahead.seek(3);
                }
                RandomWindows.Batch a = direct.next(), b = ahead.next();
                assertArrayEquals(a.inputs().toLongArray(), b.inputs().toLongArray(), "batch " + i + ", " + where);
                assertArrayEquals(a.targets().toLongArray(), b.targets().toLongArray(), "batch " + i + ", " + where);
                assertEquals(direct.position(), ahead.position(), "handed-out count, not the prepared one; " + where);
                b.release();
            }
        }
        assertTrue(tokens.threads.contains("flare-prefetch"), "read on " + tokens.threads);
    }

    @Test
    void aBadTokenFileFailsTheSameWayOnBothPaths() {
        int context = 8;
        Recording tokens = new Recording(ids(64), 40);      // every window starting at 40 or later fails
        for (boolean prefetch : new boolean[]{false, true}) {
            try (BatchSource s = BatchSource.of(new RandomWindows(tokens, 16, context, seed), Device.CPU, prefetch, 2)) {
                IllegalStateException e = assertThrows(IllegalStateException.class, () -> {
                    for (int i = 0; i < 100; i++) s.next();
                }, "prefetch " + prefetch + ", seed " + seed);
                assertTrue(e.getMessage().startsWith("token file: bad token at index "), e.getMessage());
            }
        }
    }

    @Test
    void depthMustBePositive() {
        RandomWindows w = new RandomWindows(new Recording(ids(100), Long.MAX_VALUE), 2, 4, seed);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> BatchSource.of(w, Device.CPU, true, 0));
        assertTrue(e.getMessage().startsWith("depth: expected >= 1"), e.getMessage());
    }
}
