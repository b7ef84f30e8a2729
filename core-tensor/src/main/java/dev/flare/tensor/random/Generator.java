package dev.flare.tensor.random;

import java.util.concurrent.atomic.AtomicLong;

/**
 * A Philox random stream: a fixed 64-bit seed (the Philox key) and an offset, the index of the
 * next unused 128-bit block. Every random operation {@linkplain #reserve reserves} the blocks it
 * needs and computes its numbers from {@code (seed, starting offset, element index)} alone (see
 * {@link PhiloxStream}), so results do not depend on threads, devices or chunking, and
 * {@code (seed, offset)} is the complete state to checkpoint.
 *
 * <p><b>Default seed policy.</b> {@link #defaultGenerator()} is seeded with {@code 0} unless the
 * system property {@code flare.seed} is set (decimal, or hex with {@code 0x}), so a program is
 * reproducible by default; {@link #manualSeed(long)} replaces it. Offsets count blocks as an
 * unsigned 64-bit value that wraps (2^64 blocks are never reached in practice).
 *
 * <p>Thread-safe.
 */
public final class Generator {

    /** System property that overrides the default generator's seed. */
    public static final String SEED_PROPERTY = "flare.seed";
    /** Seed of the default generator when {@value #SEED_PROPERTY} is not set. */
    public static final long DEFAULT_SEED = 0L;

    private static volatile Generator defaultGenerator;

    private final long seed;
    private final AtomicLong offset;

    /** A generator with the given seed at offset 0. */
    public Generator(long seed) {
        this(seed, 0L);
    }

    /** A generator with the given seed and offset, e.g. to resume from a checkpoint. */
    public Generator(long seed, long offset) {
        this.seed = seed;
        this.offset = new AtomicLong(offset);
    }

    /** The seed; the Philox key is {@code (k0 = (int) seed, k1 = (int) (seed >>> 32))}. */
    public long seed() {
        return seed;
    }

    /** The next unused block. */
    public long offset() {
        return offset.get();
    }

    /**
     * Atomically reserves {@code numBlocks} consecutive blocks.
     *
     * @return the first reserved block; the offset is advanced by {@code numBlocks}
     * @throws IllegalArgumentException if {@code numBlocks} is negative
     */
    public long reserve(long numBlocks) {
        if (numBlocks < 0) {
            throw new IllegalArgumentException("numBlocks < 0: " + numBlocks);
        }
        return offset.getAndAdd(numBlocks);
    }

    /**
     * The process-wide default generator: seed {@value #DEFAULT_SEED}, or the value of the system
     * property {@value #SEED_PROPERTY} when set, read on first use.
     */
    public static Generator defaultGenerator() {
        Generator g = defaultGenerator;
        if (g == null) {
            synchronized (Generator.class) {
                g = defaultGenerator;
                if (g == null) {
                    g = new Generator(seedFromProperty());
                    defaultGenerator = g;
                }
            }
        }
        return g;
    }

    /** Replaces the default generator with a fresh one of the given seed (offset 0) and returns it. */
    public static Generator manualSeed(long seed) {
        Generator g = new Generator(seed);
        synchronized (Generator.class) {
            defaultGenerator = g;
        }
        return g;
    }

    static long seedFromProperty() {
        String s = System.getProperty(SEED_PROPERTY);
        if (s == null || s.isBlank()) {
            return DEFAULT_SEED;
        }
        try {
            String t = s.strip();
            if (t.startsWith("0x") || t.startsWith("0X")) {
                return Long.parseUnsignedLong(t.substring(2), 16);
            }
            return Long.parseLong(t);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("bad -D" + SEED_PROPERTY + "=" + s, e);
        }
    }

    @Override
    public String toString() {
        return "Generator[seed=" + seed + ", offset=" + Long.toUnsignedString(offset.get()) + "]";
    }
}
