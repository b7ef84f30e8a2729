package dev.flare.tensor.cpu;

import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static dev.flare.tensor.cpu.NNFixtures.replay;
import static dev.flare.tensor.cpu.NNFixtures.seed;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class NNVectorExpTest {
    private final long seed = seed();
    private final Random rnd = new Random(seed);

    private static float vexp1(float x) {
        float[] a = new float[NNVector.S.length()];
        java.util.Arrays.fill(a, x);
        NNVector.exp(FloatVector.fromArray(NNVector.S, a, 0)).intoArray(a, 0);
        return a[0];
    }

    @Test
    void polynomialExpIsWithinTwoUlpsAndVectorAndScalarFormsAgreeBitwise() {
        float[] xs = new float[20_000];
        for (int i = 0; i < xs.length; i++) xs[i] = (float) (rnd.nextDouble() * 175 - 87);   // [-87, 88]
        xs[0] = 0; xs[1] = -87f; xs[2] = 88f; xs[3] = 1e-30f; xs[4] = -1e-7f;
        float[] v = new float[xs.length];
        NNVector.expSum(xs, 0, 0f, v, 0, xs.length);                 // vector body plus scalar tail
        for (int i = 0; i < xs.length; i++) {
            double ref = Math.exp(xs[i]);
            float got = NNVector.exp(xs[i]);
            assertTrue(Math.abs(got - ref) <= 2 * Math.ulp((float) ref), "exp(" + xs[i] + ") = " + got + ", expected " + ref + "; " + replay(seed));
            assertEquals(got, v[i], "vector vs scalar exp(" + xs[i] + "); " + replay(seed));
        }
    }

    @Test
    void polynomialExpFlushesDeepUnderflowToZeroAndPropagatesNaN() {
        for (float x : new float[]{-87.5f, -100f, -2000f, Float.NEGATIVE_INFINITY, -Float.MAX_VALUE}) {
            assertEquals(0f, NNVector.exp(x), "scalar exp(" + x + ")");
            assertEquals(0f, vexp1(x), "vector exp(" + x + ")");
        }
        assertTrue(Float.isNaN(NNVector.exp(Float.NaN)));
        assertTrue(Float.isNaN(vexp1(Float.NaN)));
        assertEquals(1f, NNVector.exp(0f));
        assertEquals(1f, vexp1(0f));
    }
}
