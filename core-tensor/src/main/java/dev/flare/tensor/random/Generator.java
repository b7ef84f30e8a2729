package dev.flare.tensor.random;

/** PLACEHOLDER until the philox branch lands. */
public final class Generator {
    private final long seed;
    private long offset;
    public Generator(long seed) { this.seed = seed; }
    public long seed() { return seed; }
    public synchronized long reserve(long blocks) { long o = offset; offset += blocks; return o; }
}
