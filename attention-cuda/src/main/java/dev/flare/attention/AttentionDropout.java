package dev.flare.attention;

/**
 * THE attention dropout mask, shared bit for bit by every backend (MATH, FLASH_CPU, FLASH_CUDA).
 *
 * <p>Philox4x32-10 with key {@code (k0, k1) = (low 32 bits of seed, high 32 bits of seed)} and counter
 * {@code (c0, c1, c2, c3) = (col >>> 2, row, b * Hq + h, low 32 bits of offset)}; the element's word is
 * output word {@code col & 3}. The element is dropped iff {@code (word >>> 8) < threshold} with
 * {@code threshold = (int) floor(p * 2^24)} (unsigned shift, 24 random bits); kept probabilities are scaled by
 * {@code 1 / (1 - p)}. {@code row} is the query index, {@code col} the key index, {@code h} the query head.
 */
public final class AttentionDropout {
    public static final int M0 = 0xD2511F53;
    public static final int M1 = 0xCD9E8D57;
    public static final int W0 = 0x9E3779B9;
    public static final int W1 = 0xBB67AE85;

    private AttentionDropout() {}

    /** Philox4x32-10 of counter (c0..c3) under key (k0, k1), written to out[0..3]. */
    public static void philox(int c0, int c1, int c2, int c3, int k0, int k1, int[] out) {
        for (int r = 0; r < 10; r++) {
            long p0 = (c0 & 0xFFFFFFFFL) * (M0 & 0xFFFFFFFFL);
            long p1 = (c2 & 0xFFFFFFFFL) * (M1 & 0xFFFFFFFFL);
            int hi0 = (int) (p0 >>> 32), lo0 = (int) p0;
            int hi1 = (int) (p1 >>> 32), lo1 = (int) p1;
            c0 = hi1 ^ c1 ^ k0;
            c1 = lo1;
            c2 = hi0 ^ c3 ^ k1;
            c3 = lo0;
            k0 += W0;
            k1 += W1;
        }
        out[0] = c0;
        out[1] = c1;
        out[2] = c2;
        out[3] = c3;
    }

    /** The threshold for drop probability p in [0, 1): floor(p * 2^24). */
    public static int threshold(double p) {
        if (!(p >= 0 && p < 1)) throw new IllegalArgumentException("dropoutP: expected 0 <= p < 1, got " + p);
        return (int) Math.floor(p * (1 << 24));
    }

    /** True when element (b, h, row, col) is kept. */
    public static boolean keep(long seed, long offset, int b, int h, int hq, int row, int col, int threshold) {
        int[] w = new int[4];
        philox(col >>> 2, row, b * hq + h, (int) offset, (int) seed, (int) (seed >>> 32), w);
        return (w[col & 3] >>> 8) >= threshold;
    }

    /**
     * Fills keep[0, n) with the keep flags of columns [col0, col0 + n) of one row (one Philox call per four
     * columns). {@code scratch} is an int[4] (or null).
     */
    public static void keepRow(long seed, long offset, int b, int h, int hq, int row, int col0, int n, int threshold,
                               boolean[] keep, int[] scratch) {
        int[] w = scratch == null ? new int[4] : scratch;
        int k0 = (int) seed, k1 = (int) (seed >>> 32), c2 = b * hq + h, c3 = (int) offset;
        int block = -1;
        for (int i = 0; i < n; i++) {
            int col = col0 + i;
            if ((col >>> 2) != block) {
                block = col >>> 2;
                philox(block, row, c2, c3, k0, k1, w);
            }
            keep[i] = (w[col & 3] >>> 8) >= threshold;
        }
    }
}
