package dev.flare.attention;

/**
 * The resolved geometry and settings of one attention call (after validation), shared by the backends.
 * {@code shift}: key j is visible to query i iff j &lt;= i + shift (only when causal).
 */
record AttentionParams(int b, int hq, int hkv, int sq, int sk, int d, int dv, double scale, boolean causal, int shift,
                       double dropoutP, long seed, long offset) {
    int group() { return hq / hkv; }
    boolean dropout() { return dropoutP > 0; }
    int threshold() { return AttentionDropout.threshold(dropoutP); }
    double keepScale() { return dropout() ? AttentionDropout.keepScale(dropoutP) : 1.0; }
}
