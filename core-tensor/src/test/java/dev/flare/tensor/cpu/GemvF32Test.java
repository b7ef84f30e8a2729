package dev.flare.tensor.cpu;

import dev.flare.tensor.TestSeeds;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/**
 * One row of A takes GemvF32, which must give the GEMM's bits exactly (a cached decoding step equals the full
 * forward's row): both layouts of B, sizes around the KC block, strided A and C, accumulate, batches, and sizes
 * that split over threads.
 */
class GemvF32Test {
    private final long seed = TestSeeds.fresh();
    private final Random r = new Random(seed);

    @AfterEach
    void restore() { GemvF32.enabled = true; }

    private float[] random(int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) r.nextGaussian();
        return v;
    }

    /** C (batch, 1, N) = A (batch, 1, K) B (batch, K, N) with the given layout, through CpuGemm, path on or off. */
    private float[] product(boolean gemv, int batch, int n, int k, float[] a, int aCS, float[] b, boolean bAlongK,
                            float[] c0, int cCS, boolean accumulate) {
        GemvF32.enabled = gemv;
        float[] c = c0.clone();
        long bRS = bAlongK ? 1 : n, bCS = bAlongK ? k : 1;
        CpuGemm.sgemm(batch, 1, n, k, a, 1, (long) k * aCS, 0, aCS, b, 0, (long) n * k, bRS, bCS,
                c, 2, (long) n * cCS, 0, cCS, accumulate);
        return c;
    }

    @Test
    void sameBitsAsTheGemm() {
        int[] ks = {1, 7, 255, 256, 257, 600, 1000}, ns = {1, 5, 17, 64, 130, 1000};
        for (int k : ks)
            for (int n : ns)
                for (boolean alongK : new boolean[]{false, true}) {
                    int batch = 1 + r.nextInt(2) * 2, aCS = 1 + r.nextInt(2), cCS = 1 + r.nextInt(3);
                    boolean accumulate = r.nextBoolean();
                    float[] a = random(1 + batch * k * aCS), b = random(batch * n * k), c0 = random(2 + batch * n * cCS);
                    long before = GemvF32.CALLS.get();
                    float[] fast = product(true, batch, n, k, a, aCS, b, alongK, c0, cCS, accumulate);
                    boolean taken = GemvF32.CALLS.get() > before;
                    float[] gemm = product(false, batch, n, k, a, aCS, b, alongK, c0, cCS, accumulate);
                    String what = "K " + k + ", N " + n + (alongK ? ", B along k" : ", B along n") + ", batch " + batch
                            + ", aCS " + aCS + ", cCS " + cCS + ", accumulate " + accumulate + "; " + TestSeeds.describe(seed);
                    assertTrue(taken || (long) n * k <= CpuGemm.TINY, "the one-row path must take " + what);
                    assertArrayEquals(gemm, fast, what);
                }
    }

    @Test
    void largeProductsSplitOverThreadsWithTheSameBits() {
        int k = 768, n = 50304 / 8;
        for (boolean alongK : new boolean[]{false, true}) {
            float[] a = random(1 + k), b = random(n * k), c0 = new float[2 + n];
            float[] fast = product(true, 1, n, k, a, 1, b, alongK, c0, 1, false);
            float[] gemm = product(false, 1, n, k, a, 1, b, alongK, c0, 1, false);
            assertTrue(Arrays.equals(gemm, fast), (alongK ? "B along k" : "B along n") + "; " + TestSeeds.describe(seed));
        }
    }
}
