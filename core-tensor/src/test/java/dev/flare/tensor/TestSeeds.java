package dev.flare.tensor;

import java.util.SplittableRandom;

/**
 * Fresh random seeds for randomized tests: a new one per run unless {@code -Dflare.test.seed=N}
 * pins it. Tests put {@link #describe(long)} into their failure messages.
 */
public final class TestSeeds {

    private TestSeeds() {}

    /** A fresh seed, or the value of {@code flare.test.seed} when set. */
    public static long fresh() {
        String pinned = System.getProperty("flare.test.seed");
        return pinned != null && !pinned.isBlank() ? Long.decode(pinned.strip()) : new SplittableRandom().nextLong();
    }

    /** Text for failure messages: the seed and how to rerun with it. */
    public static String describe(long seed) {
        return "test seed " + seed + " (rerun with -Dflare.test.seed=" + seed + ")";
    }
}
