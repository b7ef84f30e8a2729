package dev.flare.attention;

/**
 * THE attention dropout mask, shared bit for bit by every backend (MATH, FLASH_CPU, FLASH_CUDA).
 *
 * <p>Philox4x32-10 with key {@code (k0, k1) = (low 32 bits of seed, high 32 bits of seed)} and counter
 * {@code (c0, c1, c2, c3) = (col >>> 4, row, b * Hq + h, low 32 bits of offset)}: one call gives the random bytes of
 * 16 columns. Column {@code col}'s byte is byte {@code col & 3} (little end first) of output word
 * {@code (col >>> 2) & 3}. The element is dropped iff {@code byte < threshold}, {@code threshold = round(p * 256)}:
 * the drop probability is p rounded to a multiple of 1/256 ({@link #effectiveP}), and kept probabilities are scaled by
 * {@code 1 / (1 - effectiveP)}, so the expectation is exact. {@code row} is the query index, {@code col} the key index,
 * {@code h} the query head.
 *
 * <p>Why 8-bit: the GPU kernels spend most of dropout's cost in Philox, and 16 elements per call instead of 4 (the
 * 24-bit scheme before) is a quarter of it (FlashAttention-2 compares bytes as well). p is then a multiple of 1/256
 * (0.1 becomes 26/256 = 0.1015625); a p that would round to 0 or to 1 is rejected rather than silently changed.
 */
public final class AttentionDropout {
    public static final int M0 = 0xD2511F53;
    public static final int M1 = 0xCD9E8D57;
    public static final int W0 = 0x9E3779B9;
    public static final int W1 = 0xBB67AE85;
    /** Levels of an element's random number: the mask compares one byte per element. */
    public static final int LEVELS = 256;

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

    /**
     * The threshold for drop probability p: round(p * 256), in 0..255. p = 0 gives 0 (nothing dropped); a p in
     * (0, 1) that rounds to 0 or 256 is rejected, naming the nearest usable values.
     */
    public static int threshold(double p) {
        return threshold("dropoutP", p);
    }

    /** {@link #threshold(double)}, naming the caller's argument {@code name} in its errors. */
    public static int threshold(String name, double p) {
        if (!(p >= 0 && p < 1)) throw new IllegalArgumentException(name + ": expected 0 <= p < 1, got " + p);
        long t = Math.round(p * LEVELS);
        if ((p > 0 && t == 0) || t >= LEVELS)
            throw new IllegalArgumentException(name + ": attention's dropout mask compares 8-bit random numbers, so p is"
                    + " rounded to a multiple of 1/256; expected 0 or 1/512 <= p < 511/512 (0.001953125 to 0.998046875), got "
                    + p + " (would round to " + (t == 0 ? 0 : 1) + ")");
        return (int) t;
    }

    /** The drop probability the mask realizes for p: threshold(p) / 256. */
    public static double effectiveP(double p) {
        return threshold(p) / (double) LEVELS;
    }

    /** The factor of kept probabilities: 1 / (1 - effectiveP(p)). */
    public static double keepScale(double p) {
        return 1.0 / (1.0 - effectiveP(p));
    }

    /** The random byte (0..255) of column col in the output words w of its 16-column block. */
    static int byteOf(int[] w, int col) {
        return (w[(col >>> 2) & 3] >>> ((col & 3) << 3)) & 0xFF;
    }

    /** True when element (b, h, row, col) is kept. */
    public static boolean keep(long seed, long offset, int b, int h, int hq, int row, int col, int threshold) {
        int[] w = new int[4];
        philox(col >>> 4, row, b * hq + h, (int) offset, (int) seed, (int) (seed >>> 32), w);
        return byteOf(w, col) >= threshold;
    }

    /**
     * Fills keep[0, n) with the keep flags of columns [col0, col0 + n) of one row (one Philox call per sixteen
     * columns). {@code scratch} is an int[4] (or null).
     */
    public static void keepRow(long seed, long offset, int b, int h, int hq, int row, int col0, int n, int threshold,
                               boolean[] keep, int[] scratch) {
        int[] w = scratch == null ? new int[4] : scratch;
        int k0 = (int) seed, k1 = (int) (seed >>> 32), c2 = b * hq + h, c3 = (int) offset;
        int block = -1;
        for (int i = 0; i < n; i++) {
            int col = col0 + i;
            if ((col >>> 4) != block) {
                block = col >>> 4;
                philox(block, row, c2, c3, k0, k1, w);
            }
            keep[i] = byteOf(w, col) >= threshold;
        }
    }
}
