package dev.flare.tensor.cuda;

/**
 * An independent test-side implementation of Flare's Philox mapping (docs/random.md), used to check the CUDA
 * kernels without depending on the CPU backend's random code. Verified against the published golden vectors.
 */
final class PhiloxRef {
    private PhiloxRef() {}

    static int[] block(long seed, long blockIndex) {
        int c0 = (int) blockIndex, c1 = (int) (blockIndex >>> 32), c2 = 0, c3 = 0;
        int k0 = (int) seed, k1 = (int) (seed >>> 32);
        for (int r = 0; r < 10; r++) {
            if (r > 0) {
                k0 += 0x9E3779B9;
                k1 += 0xBB67AE85;
            }
            long p0 = (c0 & 0xFFFFFFFFL) * 0xD2511F53L;
            long p1 = (c2 & 0xFFFFFFFFL) * 0xCD9E8D57L;
            int n0 = (int) (p1 >>> 32) ^ c1 ^ k0;
            int n2 = (int) (p0 >>> 32) ^ c3 ^ k1;
            c1 = (int) p1;
            c3 = (int) p0;
            c0 = n0;
            c2 = n2;
        }
        return new int[]{c0, c1, c2, c3};
    }

    static float unitF(int w) { return (w >>> 8) * 0x1.0p-24f; }

    static long bits53(int hi, int lo) { return (((long) hi << 32) | (lo & 0xFFFFFFFFL)) >>> 11; }

    static float uniformF(long seed, long offset, long i, float lo, float hi) {
        int w = block(seed, offset + (i >>> 2))[(int) (i & 3)];
        float v = lo + unitF(w) * (hi - lo);
        return v >= hi && lo < hi ? Math.nextDown(hi) : v;
    }

    static double uniformD(long seed, long offset, long i, double lo, double hi) {
        int[] w = block(seed, offset + (i >>> 1));
        int h = (int) (i & 1) * 2;
        double v = lo + bits53(w[h], w[h + 1]) * 0x1.0p-53 * (hi - lo);
        return v >= hi && lo < hi ? Math.nextDown(hi) : v;
    }

    static double sinPi(double t) {
        double sign = 1.0;
        if (t >= 1.0) {
            t -= 1.0;
            sign = -1.0;
        }
        if (t > 0.5) t = 1.0 - t;
        double v = t <= 0.25 ? StrictMath.sin(Math.PI * t) : StrictMath.cos(Math.PI * (0.5 - t));
        return v == 0.0 ? 0.0 : sign * v;
    }

    static double cosPi(double t) { return sinPi(t >= 1.5 ? t - 1.5 : t + 0.5); }

    static float normalF(long seed, long offset, long i, float mean, float std) {
        int[] w = block(seed, offset + (i >>> 2));
        int p = (int) (i & 2);
        float u1 = ((w[p] >>> 8) + 1) * 0x1.0p-24f;
        float l = (float) StrictMath.log(u1);
        float r = (float) Math.sqrt(-2f * l);
        double t = 2f * unitF(w[p + 1]);
        float z = (i & 1) == 0 ? r * (float) cosPi(t) : r * (float) sinPi(t);
        return mean + std * z;
    }

    static double normalD(long seed, long offset, long i, double mean, double std) {
        int[] w = block(seed, offset + (i >>> 1));
        double r = Math.sqrt(-2.0 * StrictMath.log((bits53(w[0], w[1]) + 1) * 0x1.0p-53));
        double t = 2.0 * (bits53(w[2], w[3]) * 0x1.0p-53);
        double z = (i & 1) == 0 ? r * cosPi(t) : r * sinPi(t);
        return mean + std * z;
    }
}
