package dev.flare.training.optim;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/** The vector AdamW loops (and the entry points that run them) against the scalar loops, bit for bit. */
class AdamWCpuUpdateTest {
    private final long seed = Long.getLong("flare.test.seed", new Random().nextLong());
    private static final int[] LENGTHS = {0, 1, 3, 7, 8, 9, 31, 64, 257, 4099, 100_003};
    private static final int W_OFFSET = 5, G_OFFSET = 11;   // the parameter and its gradient inside larger arrays

    private static AdamWCpuUpdate.Constants constants(Random r) {
        double lr = 1e-3 * (1 + r.nextInt(9)), wd = r.nextBoolean() ? 0.0 : 0.1, t = 1 + r.nextInt(50);
        double b1 = 0.9, b2 = r.nextBoolean() ? 0.95 : 0.999;
        return new AdamWCpuUpdate.Constants(b1, b2, 1e-8, 1 - lr * wd, lr / (1 - Math.pow(b1, t)), Math.sqrt(1 - Math.pow(b2, t)));
    }

    @Test
    void f32VectorLoopsEqualTheScalarLoopBitForBit() {
        Random r = new Random(seed);
        for (int n : LENGTHS) {
            var c = constants(r);
            float[] w = floats(r, n + W_OFFSET + 3, 1), g = floats(r, n + G_OFFSET, 0.1f);
            float[] m = floats(r, n, 0.01f), v = floats(r, n, 0.001f);
            for (int i = 0; i < n; i++) v[i] = Math.abs(v[i]);
            float[] wS = w.clone(), mS = m.clone(), vS = v.clone(), wV = w.clone(), mV = m.clone(), vV = v.clone();
            AdamWCpuUpdate.scalarF32(wS, W_OFFSET, g, G_OFFSET, mS, vS, 0, n, c);
            AdamWCpuUpdate.vectorF32(wV, W_OFFSET, g, G_OFFSET, mV, vV, 0, n, c);
            AdamWCpuUpdate.f32(w, W_OFFSET, g, G_OFFSET, m, v, n, c);
            String where = "n=" + n + " " + c + " seed=" + seed;
            for (float[][] pair : new float[][][]{{wS, wV}, {wS, w}, {mS, mV}, {mS, m}, {vS, vV}, {vS, v}})
                assertArrayEquals(bits(pair[0]), bits(pair[1]), where);
        }
    }

    @Test
    void f64VectorLoopsEqualTheScalarLoopBitForBit() {
        Random r = new Random(seed);
        for (int n : LENGTHS) {
            var c = constants(r);
            double[] w = doubles(r, n + W_OFFSET + 3, 1), g = doubles(r, n + G_OFFSET, 0.1);
            double[] m = doubles(r, n, 0.01), v = doubles(r, n, 0.001);
            for (int i = 0; i < n; i++) v[i] = Math.abs(v[i]);
            double[] wS = w.clone(), mS = m.clone(), vS = v.clone(), wV = w.clone(), mV = m.clone(), vV = v.clone();
            AdamWCpuUpdate.scalarF64(wS, W_OFFSET, g, G_OFFSET, mS, vS, 0, n, c);
            AdamWCpuUpdate.vectorF64(wV, W_OFFSET, g, G_OFFSET, mV, vV, 0, n, c);
            AdamWCpuUpdate.f64(w, W_OFFSET, g, G_OFFSET, m, v, n, c);
            String where = "n=" + n + " " + c + " seed=" + seed;
            for (double[][] pair : new double[][][]{{wS, wV}, {wS, w}, {mS, mV}, {mS, m}, {vS, vV}, {vS, v}})
                assertArrayEquals(pair[0], pair[1], 0.0, where);   // delta 0: equal doubles (NaN equals NaN)
        }
    }

    @Test
    void vectorLoopLeavesElementsOutsideItsRangeAlone() {
        Random r = new Random(seed);
        var c = constants(r);
        int n = 100;
        float[] w = floats(r, n, 1), g = floats(r, n, 0.1f), m = floats(r, n, 0.01f), v = new float[n];
        float[] w0 = w.clone(), m0 = m.clone();
        AdamWCpuUpdate.vectorF32(w, 0, g, 0, m, v, 13, 71, c);
        for (int i : new int[]{0, 12, 71, 99}) {
            assertArrayEquals(new float[]{w0[i], m0[i], 0f}, new float[]{w[i], m[i], v[i]}, "element " + i + " seed=" + seed);
        }
        assertFalse(Arrays.equals(w0, w), "range 13..71 updated, seed=" + seed);
    }

    private static float[] floats(Random r, int n, float scale) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (r.nextGaussian() * scale);
        return a;
    }

    private static double[] doubles(Random r, int n, double scale) {
        double[] a = new double[n];
        for (int i = 0; i < n; i++) a[i] = r.nextGaussian() * scale;
        return a;
    }

    private static int[] bits(float[] a) {
        int[] b = new int[a.length];
        for (int i = 0; i < a.length; i++) b[i] = Float.floatToRawIntBits(a[i]);
        return b;
    }
}
