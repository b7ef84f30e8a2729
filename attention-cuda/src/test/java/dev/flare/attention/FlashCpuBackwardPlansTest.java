package dev.flare.attention;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * FLASH_CPU's two backward plans (one pass over (batch, kv head) tasks, or a key-block pass and a query-tile pass)
 * give the same bits, in F64 and F32, on random shapes: several key and query tiles, odd lengths, causal with both
 * alignments, GQA, dropout. Which plan the API runs depends on the head count and the thread count, and the
 * FLASH_CPU-against-MATH tests run whichever it picks, so this test is what covers the other.
 */
class FlashCpuBackwardPlansTest {
    private final long seed = Long.getLong("flare.test.seed", new Random().nextLong());
    private final Random rnd = new Random(seed);

    private AttentionParams randomParams() {
        int hkv = 1 + rnd.nextInt(3), hq = hkv * (1 + rnd.nextInt(2));
        int sq = 1 + rnd.nextInt(150), sk = 1 + rnd.nextInt(150);
        int d = 8 * (1 + rnd.nextInt(6)), dv = rnd.nextBoolean() ? d : 4 + rnd.nextInt(30);
        boolean causal = rnd.nextBoolean();
        CausalAlignment align = rnd.nextBoolean() ? CausalAlignment.TOP_LEFT : CausalAlignment.BOTTOM_RIGHT;
        double dropoutP = rnd.nextBoolean() ? 0.2 : 0;
        return new AttentionParams(1 + rnd.nextInt(3), hq, hkv, sq, sk, d, dv, 1 / Math.sqrt(d), causal,
                align.shift(sq, sk), dropoutP, rnd.nextLong(), rnd.nextInt(1000));
    }

    private double[] randn(int n) {
        double[] a = new double[n];
        for (int i = 0; i < n; i++) a[i] = rnd.nextGaussian();
        return a;
    }

    private static float[] floats(double[] a) {
        float[] f = new float[a.length];
        for (int i = 0; i < a.length; i++) f[i] = (float) a[i];
        return f;
    }

    @Test
    void onePassAndTwoPassBackwardsGiveTheSameBits() {
        for (int n = 0; n < 12; n++) {
            AttentionParams p = randomParams();
            String why = p + " seed " + seed;
            int qn = p.b() * p.hq() * p.sq(), kn = p.b() * p.hkv() * p.sk();
            double[] q = randn(qn * p.d()), k = randn(kn * p.d()), v = randn(kn * p.dv()), dO = randn(qn * p.dv());
            HeadRows ql = HeadRows.contiguous(p.hq(), p.sq(), p.d()), kl = HeadRows.contiguous(p.hkv(), p.sk(), p.d());
            HeadRows vl = HeadRows.contiguous(p.hkv(), p.sk(), p.dv()), dOl = HeadRows.contiguous(p.hq(), p.sq(), p.dv());

            var k64 = new FlashCpuKernelF64(p, q, ql, k, kl, v, vl, new double[qn * p.dv()]);
            k64.forward();
            double[][][] g64 = new double[2][][];
            for (int plan = 0; plan < 2; plan++) {
                g64[plan] = new double[][]{new double[qn * p.d()], new double[kn * p.d()], new double[kn * p.dv()]};
                k64.backward(dO, dOl, g64[plan][0], g64[plan][1], g64[plan][2], plan == 0);
            }
            var k32 = new FlashCpuKernelF32(p, floats(q), ql, floats(k), kl, floats(v), vl, new float[qn * p.dv()]);
            k32.forward();
            float[][][] g32 = new float[2][][];
            for (int plan = 0; plan < 2; plan++) {
                g32[plan] = new float[][]{new float[qn * p.d()], new float[kn * p.d()], new float[kn * p.dv()]};
                k32.backward(floats(dO), dOl, g32[plan][0], g32[plan][1], g32[plan][2], plan == 0);
            }
            String[] names = {"dq", "dk", "dv"};
            for (int i = 0; i < 3; i++) {
                assertArrayEquals(bits(g64[1][i]), bits(g64[0][i]), "F64 " + names[i] + ": " + why);
                assertArrayEquals(bits(g32[1][i]), bits(g32[0][i]), "F32 " + names[i] + ": " + why);
            }
        }
    }

    private static long[] bits(double[] a) {
        long[] b = new long[a.length];
        for (int i = 0; i < a.length; i++) b[i] = Double.doubleToRawLongBits(a[i]);
        return b;
    }

    private static int[] bits(float[] a) {
        int[] b = new int[a.length];
        for (int i = 0; i < a.length; i++) b[i] = Float.floatToRawIntBits(a[i]);
        return b;
    }

    /**
     * F64 gradients {dq, dk, dv} of one head (causal, D = 8) under both plans, with k's row kInfRow (if >= 0) and dO's
     * row dOInfRow (if >= 0) set to +inf.
     */
    private double[][][] gradientsWithInfinities(int sq, int sk, CausalAlignment align, int kInfRow, int dOInfRow) {
        int d = 8;
        var p = new AttentionParams(1, 1, 1, sq, sk, d, d, 1 / Math.sqrt(d), true, align.shift(sq, sk), 0, 0, 0);
        double[] q = randn(sq * d), k = randn(sk * d), v = randn(sk * d), dO = randn(sq * d);
        if (kInfRow >= 0) java.util.Arrays.fill(k, kInfRow * d, kInfRow * d + d, Double.POSITIVE_INFINITY);
        if (dOInfRow >= 0) java.util.Arrays.fill(dO, dOInfRow * d, dOInfRow * d + d, Double.POSITIVE_INFINITY);
        HeadRows qRows = HeadRows.contiguous(1, sq, d), kRows = HeadRows.contiguous(1, sk, d);
        var kernel = new FlashCpuKernelF64(p, q, qRows, k, kRows, v, kRows, new double[sq * d]);
        kernel.forward();
        double[][][] g = new double[2][][];
        for (int plan = 0; plan < 2; plan++) {
            g[plan] = new double[][]{new double[sq * d], new double[sk * d], new double[sk * d]};
            kernel.backward(dO, qRows, g[plan][0], g[plan][1], g[plan][2], plan == 0);
        }
        return g;
    }

    private static void assertFinite(double[] a, int from, int to, String what) {
        for (int i = from; i < to; i++)
            assertTrue(Double.isFinite(a[i]), what + ": element " + i + " is " + a[i]);
    }

    @Test
    void valuesNoQueryTileSeesStayOutOfTheGradients() {
        // Key 20 lies beyond what rows 0-9 can see: its +inf must not reach dq through 0 * inf (it did while dQ took
        // whole key blocks), nor dk and dv.
        double[][][] g = gradientsWithInfinities(10, 70, CausalAlignment.TOP_LEFT, 20, -1);
        for (int plan = 0; plan < 2; plan++)
            for (int i = 0; i < 3; i++) assertFinite(g[plan][i], 0, g[plan][i].length, "plan " + plan + " gradient " + i);
        // Bottom-right, Sq 130 > Sk 85: row 70 sees keys 0-25 and shares query tile 64-127 with the rows that see
        // keys 64-84, but it is above all of them (the first is row 109): its +inf dO stays out of their dk and dv.
        g = gradientsWithInfinities(130, 85, CausalAlignment.BOTTOM_RIGHT, -1, 70);
        for (int plan = 0; plan < 2; plan++)
            for (int i = 1; i < 3; i++) assertFinite(g[plan][i], 64 * 8, 85 * 8, "plan " + plan + " gradient " + i + ", keys 64-84");
    }

    @Test
    void onePassNeedsAllThreeGradients() {
        AttentionParams p = new AttentionParams(1, 1, 1, 4, 4, 8, 8, 0.35, false, 0, 0, 0, 0);
        HeadRows rows = HeadRows.contiguous(1, 4, 8);
        var kernel = new FlashCpuKernelF64(p, randn(32), rows, randn(32), rows, randn(32), rows, new double[32]);
        kernel.forward();
        var e = assertThrows(IllegalArgumentException.class,
                () -> kernel.backward(randn(32), rows, null, new double[32], new double[32], true));
        assertTrue(e.getMessage().startsWith("onePass: expected dq, dk and dv all wanted"), e.getMessage());
    }
}
