package dev.flare.tensor.random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flare.tensor.TestSeeds;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class PhiloxStreamTest {

    private final long testSeed = TestSeeds.fresh();
    private final SplittableRandom rnd = new SplittableRandom(testSeed);

    private String why() {
        return TestSeeds.describe(testSeed);
    }

    /** Block {@code b} of the documented mapping, computed straight from Philox4x32.block. */
    private static int[] words(long seed, long b) {
        int[] w = new int[4];
        Philox4x32.block((int) b, (int) (b >>> 32), 0, 0, (int) seed, (int) (seed >>> 32), w);
        return w;
    }

    private static long u(int w) {
        return w & 0xFFFF_FFFFL;
    }

    /** Offsets worth testing: random, around the 2^32 carry into c1, and around the 2^64 wrap. */
    private long someOffset() {
        return switch (rnd.nextInt(4)) {
            case 0 -> 0L;
            case 1 -> (1L << 32) - 1 - rnd.nextInt(8);
            case 2 -> -1L - rnd.nextInt(8);
            default -> rnd.nextLong();
        };
    }

    @Test
    void blockCounts() {
        long[][] f = {{0, 0}, {1, 1}, {3, 1}, {4, 1}, {5, 2}, {8, 2}, {9, 3}};
        for (long[] c : f) {
            assertEquals(c[1], PhiloxStream.blocksForFloats(c[0]), "floats " + c[0]);
        }
        long[][] d = {{0, 0}, {1, 1}, {2, 1}, {3, 2}, {4, 2}, {5, 3}};
        for (long[] c : d) {
            assertEquals(c[1], PhiloxStream.blocksForDoubles(c[0]), "doubles " + c[0]);
        }
        assertEquals(1L << 61, PhiloxStream.blocksForFloats(Long.MAX_VALUE), "no overflow");
        assertEquals(1L << 62, PhiloxStream.blocksForDoubles(Long.MAX_VALUE), "no overflow");
        assertThrows(IllegalArgumentException.class, () -> PhiloxStream.blocksForFloats(-1));
    }

    /**
     * Pinned outputs for seed 42, offset 0 (also listed in docs/random.md as CUDA test vectors);
     * cross-checked against an independent Python implementation of the documented mapping.
     */
    @Test
    void goldenValuesSeed42() {
        int[] w = new int[4];
        Philox4x32.block(0, 0, 0, 0, 42, 0, w);
        assertEquals("9ceaf053 77f5493b 12bf50ad 5742b3d7", hex(w));
        Philox4x32.block(1, 0, 0, 0, 42, 0, w);
        assertEquals("fcdb2127 53ba6cfd 838f5a6e 744e06fb", hex(w));
        int[] uniformF32 = {0x3f1ceaf0, 0x3eefea92, 0x3d95fa80, 0x3eae8566, 0x3f7cdb21, 0x3ea774d8, 0x3f038f5a, 0x3ee89c0c};
        int[] normalF32 = {0xbf785e5a, 0x3e46acec, 0xbf9e28cd, 0x3ff6433e, 0xbd95e014, 0x3e0e79fe, 0xbf8da732, 0x3ea7430b};
        long[] uniformF64 = {0x3fe39d5e0a6efea9L, 0x3fb2bf50ad5742b0L, 0x3fef9b6424ea774dL, 0x3fe071eb4dce89c0L};
        long[] normalF64 = {0x3fec5e30047aa1d8L, 0x3fdc1e68eb623d70L, 0xbfc40bc8bc52b056L, 0xbf8c1889e75c5396L};
        float[] f = new float[8];
        PhiloxStream.fillUniform(f, 0, 8, 42, 0, 0f, 1f);
        for (int i = 0; i < 8; i++) {
            assertEquals(uniformF32[i], Float.floatToRawIntBits(f[i]), "uniform F32 " + i);
        }
        PhiloxStream.fillNormal(f, 0, 8, 42, 0, 0f, 1f);
        for (int i = 0; i < 8; i++) {
            assertEquals(normalF32[i], Float.floatToRawIntBits(f[i]), "normal F32 " + i);
        }
        double[] d = new double[4];
        PhiloxStream.fillUniform(d, 0, 4, 42, 0, 0, 1);
        for (int i = 0; i < 4; i++) {
            assertEquals(uniformF64[i], Double.doubleToRawLongBits(d[i]), "uniform F64 " + i);
        }
        PhiloxStream.fillNormal(d, 0, 4, 42, 0, 0, 1);
        for (int i = 0; i < 4; i++) {
            assertEquals(normalF64[i], Double.doubleToRawLongBits(d[i]), "normal F64 " + i);
        }
    }

    private static String hex(int[] w) {
        return String.format("%08x %08x %08x %08x", w[0], w[1], w[2], w[3]);
    }

    @Test
    void uniformFloatFollowsDocumentedMapping() {
        for (int t = 0; t < 50; t++) {
            long seed = rnd.nextLong(), offset = someOffset();
            int n = 1 + rnd.nextInt(40), off = rnd.nextInt(5);
            float lo = t == 0 ? 0f : (float) rnd.nextDouble(-3, 1), hi = t == 0 ? 1f : lo + (float) rnd.nextDouble(0.001, 4);
            float[] dst = new float[off + n + 3];
            Arrays.fill(dst, Float.NaN);
            PhiloxStream.fillUniform(dst, off, n, seed, offset, lo, hi);
            for (int i = 0; i < dst.length; i++) {
                if (i < off || i >= off + n) {
                    assertTrue(Float.isNaN(dst[i]), "wrote outside range " + why());
                    continue;
                }
                int e = i - off;
                int w = words(seed, offset + e / 4)[e % 4];
                float unit = (float) (u(w) >>> 8) / (1 << 24);
                float want = lo + unit * (hi - lo);
                if (want >= hi) {
                    want = Math.nextDown(hi);
                }
                assertEquals(want, dst[i], "element " + e + " " + why());
                assertTrue(dst[i] >= lo && dst[i] < hi, why());
                assertEquals(unit, PhiloxStream.uniformFloat(seed, offset, e), why());
            }
        }
    }

    @Test
    void uniformDoubleFollowsDocumentedMapping() {
        for (int t = 0; t < 50; t++) {
            long seed = rnd.nextLong(), offset = someOffset();
            int n = 1 + rnd.nextInt(40), off = rnd.nextInt(5);
            double lo = t == 0 ? 0 : rnd.nextDouble(-3, 1), hi = t == 0 ? 1 : lo + rnd.nextDouble(0.001, 4);
            double[] dst = new double[off + n + 3];
            Arrays.fill(dst, Double.NaN);
            PhiloxStream.fillUniform(dst, off, n, seed, offset, lo, hi);
            for (int i = 0; i < dst.length; i++) {
                if (i < off || i >= off + n) {
                    assertTrue(Double.isNaN(dst[i]), "wrote outside range " + why());
                    continue;
                }
                int e = i - off;
                int[] w = words(seed, offset + e / 2);
                long bits64 = (u(w[2 * (e % 2)]) << 32) | u(w[2 * (e % 2) + 1]);
                double unit = (double) (bits64 >>> 11) / (1L << 53);
                double want = lo + unit * (hi - lo);
                if (want >= hi) {
                    want = Math.nextDown(hi);
                }
                assertEquals(want, dst[i], "element " + e + " " + why());
                assertTrue(dst[i] >= lo && dst[i] < hi, why());
                assertEquals(unit, PhiloxStream.uniformDouble(seed, offset, e), why());
            }
        }
    }

    @Test
    void normalFloatFollowsDocumentedMapping() {
        // Reference in plain double Math, independent of the implementation's sinpi/cospi/StrictMath.
        int maxUlps = 0;
        for (int t = 0; t < 200; t++) {
            long seed = rnd.nextLong(), offset = someOffset();
            int n = 1 + rnd.nextInt(40), off = rnd.nextInt(3);
            float mean = t == 0 ? 0f : (float) rnd.nextDouble(-2, 2), std = t == 0 ? 1f : (float) rnd.nextDouble(0.1, 3);
            float[] dst = new float[off + n];
            PhiloxStream.fillNormal(dst, off, n, seed, offset, mean, std);
            for (int e = 0; e < n; e++) {
                int j = e / 2;
                int[] w = words(seed, offset + j / 2);
                int a = w[2 * (j % 2)], b = w[2 * (j % 2) + 1];
                double u1 = ((u(a) >>> 8) + 1) / (double) (1 << 24);
                double u2 = (u(b) >>> 8) / (double) (1 << 24);
                double r = Math.sqrt(-2 * Math.log(u1));
                double z = e % 2 == 0 ? r * Math.cos(2 * Math.PI * u2) : r * Math.sin(2 * Math.PI * u2);
                float std01 = PhiloxStream.normalFloat(seed, offset, e);
                // a few float ulps, measured relative to the radius (sin/cos near zero are absolute)
                double tol = 3 * Math.ulp((float) Math.max(r, 1e-3));
                assertEquals(z, std01, tol, "element " + e + " " + why());
                maxUlps = Math.max(maxUlps, (int) Math.round(Math.abs(z - std01) / Math.ulp((float) Math.max(r, 1e-3))));
                assertEquals(mean + std * std01, dst[off + e], "element " + e + " " + why());
            }
        }
        assertTrue(maxUlps <= 3, "max ulps " + maxUlps);
    }

    @Test
    void normalDoubleFollowsDocumentedMapping() {
        for (int t = 0; t < 200; t++) {
            long seed = rnd.nextLong(), offset = someOffset();
            int n = 1 + rnd.nextInt(40), off = rnd.nextInt(3);
            double mean = t == 0 ? 0 : rnd.nextDouble(-2, 2), std = t == 0 ? 1 : rnd.nextDouble(0.1, 3);
            double[] dst = new double[off + n];
            PhiloxStream.fillNormal(dst, off, n, seed, offset, mean, std);
            for (int e = 0; e < n; e++) {
                int[] w = words(seed, offset + e / 2);
                double u1 = (double) ((((u(w[0]) << 32) | u(w[1])) >>> 11) + 1) / (1L << 53);
                double u2 = (double) ((((u(w[2]) << 32) | u(w[3])) >>> 11)) / (1L << 53);
                double r = Math.sqrt(-2 * Math.log(u1));
                double z = e % 2 == 0 ? r * Math.cos(2 * Math.PI * u2) : r * Math.sin(2 * Math.PI * u2);
                double std01 = PhiloxStream.normalDouble(seed, offset, e);
                assertEquals(z, std01, 8 * Math.ulp(Math.max(r, 1e-3)), "element " + e + " " + why());
                assertEquals(mean + std * std01, dst[off + e], "element " + e + " " + why());
            }
        }
    }

    @Test
    void fillsAreSlicesOfOneStream() {
        long seed = rnd.nextLong(), offset = someOffset();
        float[] f12 = new float[12], f8 = new float[8];
        PhiloxStream.fillUniform(f12, 0, 12, seed, offset, 0f, 1f);
        PhiloxStream.fillUniform(f8, 0, 8, seed, offset + 1, 0f, 1f);
        assertEquals(Arrays.toString(Arrays.copyOfRange(f12, 4, 12)), Arrays.toString(f8), why());
        PhiloxStream.fillNormal(f12, 0, 12, seed, offset, 0f, 1f);
        PhiloxStream.fillNormal(f8, 0, 8, seed, offset + 1, 0f, 1f);
        assertEquals(Arrays.toString(Arrays.copyOfRange(f12, 4, 12)), Arrays.toString(f8), why());
        float[] f5 = new float[5];
        PhiloxStream.fillNormal(f5, 0, 5, seed, offset, 0f, 1f);
        assertEquals(Arrays.toString(Arrays.copyOf(f12, 5)), Arrays.toString(f5), "odd n " + why());

        double[] d6 = new double[6], d4 = new double[4], d3 = new double[3];
        PhiloxStream.fillUniform(d6, 0, 6, seed, offset, 0, 1);
        PhiloxStream.fillUniform(d4, 0, 4, seed, offset + 1, 0, 1);
        assertEquals(Arrays.toString(Arrays.copyOfRange(d6, 2, 6)), Arrays.toString(d4), why());
        PhiloxStream.fillNormal(d6, 0, 6, seed, offset, 0, 1);
        PhiloxStream.fillNormal(d4, 0, 4, seed, offset + 1, 0, 1);
        PhiloxStream.fillNormal(d3, 0, 3, seed, offset, 0, 1);
        assertEquals(Arrays.toString(Arrays.copyOfRange(d6, 2, 6)), Arrays.toString(d4), why());
        assertEquals(Arrays.toString(Arrays.copyOf(d6, 3)), Arrays.toString(d3), "odd n " + why());
    }

    @Test
    void largeParallelFillsMatchRandomAccess() {
        long seed = rnd.nextLong(), offset = someOffset();
        int n = 3 * PhiloxStream.PARALLEL_THRESHOLD + 3, off = 1;
        float[] f = new float[n + 2];
        PhiloxStream.fillUniform(f, off, n, seed, offset, 0f, 1f);
        for (int i = 0; i < n; i++) {
            if (f[off + i] != PhiloxStream.uniformFloat(seed, offset, i)) {
                throw new AssertionError("uniform F32 element " + i + " " + why());
            }
        }
        PhiloxStream.fillNormal(f, off, n, seed, offset, 0f, 1f);
        for (int i = 0; i < n; i++) {
            if (Float.compare(f[off + i], PhiloxStream.normalFloat(seed, offset, i)) != 0) {
                throw new AssertionError("normal F32 element " + i + " " + why());
            }
        }
        assertEquals(0f, f[0]);
        assertEquals(0f, f[n + 1]);
        double[] d = new double[n + 2];
        PhiloxStream.fillUniform(d, off, n, seed, offset, 0, 1);
        for (int i = 0; i < n; i++) {
            if (d[off + i] != PhiloxStream.uniformDouble(seed, offset, i)) {
                throw new AssertionError("uniform F64 element " + i + " " + why());
            }
        }
        PhiloxStream.fillNormal(d, off, n, seed, offset, 0, 1);
        for (int i = 0; i < n; i++) {
            if (Double.compare(d[off + i], PhiloxStream.normalDouble(seed, offset, i)) != 0) {
                throw new AssertionError("normal F64 element " + i + " " + why());
            }
        }
        assertEquals(0.0, d[0]);
        assertEquals(0.0, d[n + 1]);
    }

    @Test
    void uniformStaysBelowHi() {
        // u = 1 - 2^-24 on [1, 2): 1 + u rounds (tie to even) to 2, which the clamp brings back below.
        float u = PhiloxStream.unitFloat(-1);
        assertEquals(1f - 0x1p-24f, u);
        assertEquals(2f, 1f + u * (2f - 1f), "the unclamped formula reaches hi");
        assertEquals(Math.nextDown(2f), PhiloxStream.scaleUniform(u, 1f, 2f));
        double ud = PhiloxStream.unitDouble(-1, -1);
        assertEquals(1 - 0x1p-53, ud);
        assertEquals(2.0, 1.0 + ud * (2.0 - 1.0), "the unclamped formula reaches hi");
        assertEquals(Math.nextDown(2.0), PhiloxStream.scaleUniform(ud, 1.0, 2.0));
        assertEquals(0f, PhiloxStream.unitFloat(0));
        assertEquals(0.0, PhiloxStream.unitDouble(0, 0));
        // degenerate range
        float[] f = new float[9];
        PhiloxStream.fillUniform(f, 0, 9, 1, 0, 3f, 3f);
        for (float v : f) {
            assertEquals(3f, v);
        }
    }

    @Test
    void rejectsBadArguments() {
        float[] f = new float[4];
        double[] d = new double[4];
        assertThrows(IllegalArgumentException.class, () -> PhiloxStream.fillUniform(f, 0, 4, 0, 0, 1f, 0f));
        assertThrows(IllegalArgumentException.class, () -> PhiloxStream.fillUniform(f, 0, 4, 0, 0, Float.NaN, 1f));
        assertThrows(IllegalArgumentException.class, () -> PhiloxStream.fillUniform(f, 0, 4, 0, 0, -Float.MAX_VALUE, Float.MAX_VALUE));
        assertThrows(IllegalArgumentException.class, () -> PhiloxStream.fillUniform(d, 0, 4, 0, 0, 0, Double.POSITIVE_INFINITY));
        assertThrows(IndexOutOfBoundsException.class, () -> PhiloxStream.fillUniform(f, 1, 4, 0, 0, 0f, 1f));
        assertThrows(IndexOutOfBoundsException.class, () -> PhiloxStream.fillNormal(d, 0, 5, 0, 0, 0, 1));
        assertThrows(IndexOutOfBoundsException.class, () -> PhiloxStream.fillNormal(f, -1, 2, 0, 0, 0f, 1f));
        assertThrows(IllegalArgumentException.class, () -> PhiloxStream.uniformFloat(0, 0, -1));
        Generator g = new Generator(5);
        assertThrows(IndexOutOfBoundsException.class, () -> PhiloxStream.fillNormal(f, 0, 5, g, 0f, 1f));
        assertEquals(0, g.offset(), "a rejected fill reserves nothing");
    }

    @Test
    void sinPiCosPi() {
        assertEquals(0.0, PhiloxStream.sinPi(0.0));
        assertEquals(1.0, PhiloxStream.sinPi(0.5));
        assertEquals(0.0, PhiloxStream.sinPi(1.0)); // +0, like IEEE sinPi
        assertEquals(-1.0, PhiloxStream.sinPi(1.5));
        assertEquals(1.0, PhiloxStream.cosPi(0.0));
        assertEquals(0.0, PhiloxStream.cosPi(0.5));
        assertEquals(-1.0, PhiloxStream.cosPi(1.0));
        assertEquals(0.0, PhiloxStream.cosPi(1.5));
        assertEquals(Math.sqrt(0.5), PhiloxStream.sinPi(0.25), 2.5e-16);
        assertEquals(Math.sqrt(0.5), PhiloxStream.cosPi(0.25), 2.5e-16);
        for (int k = 0; k < 100_000; k++) {
            double t = (rnd.nextInt(1 << 24)) * 0x1p-23; // [0, 2) on the F32 grid
            assertEquals(Math.sin(Math.PI * t), PhiloxStream.sinPi(t), 1e-15, "t=" + t + " " + why());
            assertEquals(Math.cos(Math.PI * t), PhiloxStream.cosPi(t), 1e-15, "t=" + t + " " + why());
        }
    }

    @Test
    void generatorOverloadsReserveAndFill() {
        long seed = rnd.nextLong();
        Generator g = new Generator(seed, 10);
        float[] a = new float[7], b = new float[7];
        assertEquals(10, PhiloxStream.fillUniform(a, 0, 7, g, -1f, 1f));
        assertEquals(12, g.offset());
        PhiloxStream.fillUniform(b, 0, 7, seed, 10, -1f, 1f);
        assertEquals(Arrays.toString(b), Arrays.toString(a), why());
        assertEquals(12, PhiloxStream.fillNormal(a, 0, 7, g, 0f, 1f));
        assertEquals(14, g.offset());
        double[] c = new double[5], d = new double[5];
        assertEquals(14, PhiloxStream.fillUniform(c, 0, 5, g, 0, 1));
        assertEquals(17, g.offset());
        assertEquals(17, PhiloxStream.fillNormal(c, 0, 5, g, 0, 1));
        assertEquals(20, g.offset());
        PhiloxStream.fillNormal(d, 0, 5, seed, 17, 0, 1);
        assertEquals(Arrays.toString(d), Arrays.toString(c), why());
    }

    @Test
    void distributionMoments() {
        int n = 1 << 18;
        long seed = rnd.nextLong(), offset = rnd.nextLong();
        float[] f = new float[n];
        PhiloxStream.fillUniform(f, 0, n, seed, offset, 0f, 1f);
        double[] m = moments(f);
        assertEquals(0.5, m[0], 5 * Math.sqrt(1.0 / 12 / n), "uniform mean " + why());
        assertEquals(1.0 / 12, m[1], 5 * Math.sqrt(1.0 / 180 / n), "uniform var " + why());
        int[] bins = new int[16];
        for (float v : f) {
            bins[(int) (v * 16)]++;
        }
        double chi2 = 0, e = n / 16.0;
        for (int c : bins) {
            chi2 += (c - e) * (c - e) / e;
        }
        assertTrue(chi2 < 50, "uniform chi2(15 dof) " + chi2 + " " + why()); // p ~ 1e-5

        PhiloxStream.fillNormal(f, 0, n, seed, offset, 0f, 1f);
        m = moments(f);
        assertEquals(0, m[0], 5 / Math.sqrt(n), "normal mean " + why());
        assertEquals(1, m[1], 5 * Math.sqrt(2.0 / n), "normal var " + why());
        int within1 = 0;
        for (float v : f) {
            if (Math.abs(v) < 1) {
                within1++;
            }
        }
        double p = 0.6826894921370859;
        assertEquals(p, within1 / (double) n, 5 * Math.sqrt(p * (1 - p) / n), "P(|z|<1) " + why());

        double[] d = new double[n];
        PhiloxStream.fillNormal(d, 0, n, seed, offset, 2, 3);
        double s = 0, s2 = 0;
        for (double v : d) {
            s += v;
            s2 += v * v;
        }
        double mean = s / n;
        assertEquals(2, mean, 5 * 3 / Math.sqrt(n), "F64 normal mean " + why());
        assertEquals(9, s2 / n - mean * mean, 5 * 9 * Math.sqrt(2.0 / n), "F64 normal var " + why());
    }

    private static double[] moments(float[] f) {
        double s = 0, s2 = 0;
        for (float v : f) {
            s += v;
            s2 += (double) v * v;
        }
        double mean = s / f.length;
        return new double[] {mean, s2 / f.length - mean * mean};
    }
}
