package dev.flare.tensor.random;

/**
 * Philox4x32-10, the counter-based random number generator of Salmon, Moraes, Dror and Shaw,
 * "Parallel random numbers: as easy as 1, 2, 3" (SC'11), as implemented in D. E. Shaw Research's
 * Random123 library ({@code philox4x32_R(10, ctr, key)}).
 *
 * <p>A block maps a 128-bit counter {@code (c0, c1, c2, c3)} and a 64-bit key {@code (k0, k1)}
 * to four 32-bit words. All words are treated as unsigned 32-bit integers stored in Java
 * {@code int}s. One round is
 * <pre>
 *   (hi0, lo0) = M0 * c0        (full 64-bit product, M0 = 0xD2511F53)
 *   (hi1, lo1) = M1 * c2        (M1 = 0xCD9E8D57)
 *   c = (hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0)
 * </pre>
 * and between consecutive rounds the key is bumped by the Weyl constants
 * {@code k0 += 0x9E3779B9, k1 += 0xBB67AE85} (mod 2^32). Ten rounds are applied.
 *
 * <p>Everything here is static, stateless and allocation-free; the class is verified against
 * the Random123 known-answer vectors ({@code tests/kat_vectors}).
 */
public final class Philox4x32 {

    /** Round multiplier applied to counter word 0. */
    public static final int M0 = 0xD2511F53;
    /** Round multiplier applied to counter word 2. */
    public static final int M1 = 0xCD9E8D57;
    /** Weyl increment of key word 0 (golden ratio). */
    public static final int W0 = 0x9E3779B9;
    /** Weyl increment of key word 1 (sqrt(3) - 1). */
    public static final int W1 = 0xBB67AE85;
    /** Number of rounds of the Philox4x32-10 variant. */
    public static final int ROUNDS = 10;

    private static final long MASK32 = 0xFFFF_FFFFL;
    private static final long M0L = M0 & MASK32;
    private static final long M1L = M1 & MASK32;

    private Philox4x32() {}

    /**
     * Computes one Philox4x32-10 block.
     *
     * @param c0 counter word 0 (least significant)
     * @param c1 counter word 1
     * @param c2 counter word 2
     * @param c3 counter word 3 (most significant)
     * @param k0 key word 0
     * @param k1 key word 1
     * @param out4 receives the four output words in {@code out4[0..3]}
     */
    public static void block(int c0, int c1, int c2, int c3, int k0, int k1, int[] out4) {
        blockRounds(ROUNDS, c0, c1, c2, c3, k0, k1, out4);
    }

    /** Philox4x32 with an arbitrary number of rounds (for the 7-round known-answer tests). */
    static void blockRounds(int rounds, int c0, int c1, int c2, int c3, int k0, int k1, int[] out4) {
        for (int r = 0; r < rounds; r++) {
            if (r > 0) {
                k0 += W0;
                k1 += W1;
            }
            long p0 = (c0 & MASK32) * M0L; // < 2^64: the unsigned product's bits are exact
            long p1 = (c2 & MASK32) * M1L;
            int n0 = (int) (p1 >>> 32) ^ c1 ^ k0;
            int n2 = (int) (p0 >>> 32) ^ c3 ^ k1;
            c1 = (int) p1;
            c3 = (int) p0;
            c0 = n0;
            c2 = n2;
        }
        out4[0] = c0;
        out4[1] = c1;
        out4[2] = c2;
        out4[3] = c3;
    }

    /**
     * Returns one word of a Philox4x32-10 block without allocating.
     *
     * @param counterLo64 counter words 0 (low 32 bits) and 1 (high 32 bits)
     * @param counterHi64 counter words 2 (low 32 bits) and 3 (high 32 bits)
     * @param key key words 0 (low 32 bits) and 1 (high 32 bits)
     * @param which which output word, 0..3
     * @return output word {@code which}
     */
    public static int word(long counterLo64, long counterHi64, long key, int which) {
        if ((which & ~3) != 0) {
            throw new IllegalArgumentException("which must be in 0..3: " + which);
        }
        int c0 = (int) counterLo64, c1 = (int) (counterLo64 >>> 32);
        int c2 = (int) counterHi64, c3 = (int) (counterHi64 >>> 32);
        int k0 = (int) key, k1 = (int) (key >>> 32);
        for (int r = 0; r < ROUNDS; r++) {
            if (r > 0) {
                k0 += W0;
                k1 += W1;
            }
            long p0 = (c0 & MASK32) * M0L;
            long p1 = (c2 & MASK32) * M1L;
            int n0 = (int) (p1 >>> 32) ^ c1 ^ k0;
            int n2 = (int) (p0 >>> 32) ^ c3 ^ k1;
            c1 = (int) p1;
            c3 = (int) p0;
            c0 = n0;
            c2 = n2;
        }
        return switch (which) {
            case 0 -> c0;
            case 1 -> c1;
            case 2 -> c2;
            default -> c3;
        };
    }
}
