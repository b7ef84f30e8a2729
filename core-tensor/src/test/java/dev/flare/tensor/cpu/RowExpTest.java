package dev.flare.tensor.cpu;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static dev.flare.tensor.cpu.NNFixtures.replay;
import static dev.flare.tensor.cpu.NNFixtures.seed;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** RowExp against Math.exp on random rows: odd lengths (vector body and scalar tail), offsets, in place, the sum. */
class RowExpTest {
    private final long seed = seed();
    private final Random rnd = new Random(seed);

    @Test
    void floatRowsMatchMathExpWithinTwoUlpsAndReturnTheirSum() {
        for (int trial = 0; trial < 200; trial++) {
            int n = rnd.nextInt(150), xo = rnd.nextInt(5), yo = rnd.nextInt(5);
            float scale = (float) (0.05 + rnd.nextDouble()), shift = (float) (rnd.nextGaussian() * 10);
            float[] x = new float[xo + n + 3], y = new float[yo + n + 3];
            // arguments x * scale - shift in [-100, 5]: softmax's range (at most a little above 0), underflow included
            for (int i = 0; i < x.length; i++) x[i] = (float) ((rnd.nextDouble() * 105 - 100 + shift) / scale);
            float[] before = y.clone();
            double sum = RowExp.expScaledShifted(x, xo, scale, shift, y, yo, n), ref = 0;
            String why = "n=" + n + " scale=" + scale + " shift=" + shift + "; " + replay(seed);
            for (int i = 0; i < n; i++) {
                float arg = x[xo + i] * scale - shift, got = y[yo + i];
                double e = Math.exp(arg);
                ref += got;
                if (arg < -87.33f) assertEquals(0f, got, "exp(" + arg + ") flushes to 0; " + why);
                else if (arg < -87f) assertTrue(got >= 0 && got < 2e-38f, "exp(" + arg + ") = " + got + "; " + why);
                else assertTrue(Math.abs(got - e) <= 2 * Math.ulp((float) e), "exp(" + arg + ") = " + got + " vs " + e + "; " + why);
            }
            assertEquals(ref, sum, 1e-6 * Math.abs(ref), "the returned sum; " + why);
            for (int i = 0; i < yo; i++) assertEquals(before[i], y[i], "wrote before the row; " + why);
            for (int i = yo + n; i < y.length; i++) assertEquals(before[i], y[i], "wrote past the row; " + why);
        }
    }

    @Test
    void inPlaceGivesTheSameValuesAsASeparateOutput() {
        int n = 37 + rnd.nextInt(40);
        float[] x = new float[n + 2], copy;
        for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
        copy = x.clone();
        float[] y = new float[n + 2];
        double apart = RowExp.expScaledShifted(x, 2, 0.125f, 1f, y, 2, n);
        double inPlace = RowExp.expScaledShifted(copy, 2, 0.125f, 1f, copy, 2, n);
        assertEquals(apart, inPlace, "; " + replay(seed));
        for (int i = 2; i < n + 2; i++) assertEquals(y[i], copy[i], "element " + i + "; " + replay(seed));
    }

    @Test
    void doubleRowsAreMathExpSummedInOrder() {
        int n = 1 + rnd.nextInt(100);
        double[] x = new double[n], y = new double[n];
        for (int i = 0; i < n; i++) x[i] = rnd.nextGaussian() * 20;
        double sum = RowExp.expScaledShifted(x, 0, 0.3, -2.5, y, 0, n), ref = 0;
        for (int i = 0; i < n; i++) {
            assertEquals(Math.exp(x[i] * 0.3 + 2.5), y[i], "element " + i + "; " + replay(seed));
            ref += y[i];
        }
        assertEquals(ref, sum, "summed in order; " + replay(seed));
    }
}
