package dev.flare.tensor.random;

/** PLACEHOLDER until the philox branch lands. */
public final class PhiloxStream {
    private PhiloxStream() {}
    public static long blocksForUniform(boolean f64, long n) { return Math.ceilDiv(n, f64 ? 2 : 4); }
    public static long blocksForNormal(boolean f64, long n) { return Math.ceilDiv(n, f64 ? 2 : 4); }
}
