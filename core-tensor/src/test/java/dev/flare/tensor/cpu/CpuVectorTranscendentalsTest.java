package dev.flare.tensor.cpu;

import dev.flare.tensor.TestSeeds;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/**
 * CpuVector's exp, GELU and sigmoid: accurate over the float range (overflow and underflow included), and the same
 * bits for a value in a vector lane as in the scalar tail. They use one polynomial (not VectorOperators.EXP, whose
 * JIT-compiled and interpreted forms differ), so training results do not depend on what the JIT compiled yet.
 */
class CpuVectorTranscendentalsTest {
    private final long seed = TestSeeds.fresh();

    private interface Kernel { void run(float[] x, int xo, float[] o, int oo, int n); }

    /** Each value once in the vector part (a long row) and once as a scalar tail (a row of one): identical bits. */
    private void sameBitsInLanesAndTail(String what, Kernel k, float[] values) {
        float[] lanes = new float[values.length];
        k.run(values, 0, lanes, 0, values.length);
        for (int i = 0; i < values.length; i++) {
            float[] one = new float[1];
            k.run(values, i, one, 0, 1);
            assertEquals(Float.floatToRawIntBits(one[0]), Float.floatToRawIntBits(lanes[i]),
                    what + "(" + values[i] + "): tail " + one[0] + " vs lanes " + lanes[i] + "; " + TestSeeds.describe(seed));
        }
    }

    @Test
    void vectorLanesAndScalarTailAgreeBitForBit() {
        Random r = new Random(seed);
        float[] v = new float[1024 + 3];
        for (int i = 0; i < v.length; i++) v[i] = (float) (r.nextGaussian() * (i % 3 == 0 ? 40 : 4));
        v[0] = Float.NaN;
        v[1] = Float.POSITIVE_INFINITY;
        v[2] = Float.NEGATIVE_INFINITY;
        v[3] = 88.5f;
        v[4] = -0f;
        sameBitsInLanesAndTail("exp", CpuVector::exp, v);
        sameBitsInLanesAndTail("gelu", CpuVector::gelu, v);
        sameBitsInLanesAndTail("sigmoid", CpuVector::sigmoid, v);
        sameBitsInLanesAndTail("tanh", CpuVector::tanh, v);
    }

    @Test
    void expIsAccurateOverTheWholeFloatRange() {
        float[] x = new float[4001];
        for (int i = 0; i < x.length; i++) x[i] = -100f + i * 0.05f;
        float[] y = new float[x.length];
        CpuVector.exp(x, 0, y, 0, x.length);
        for (int i = 0; i < x.length; i++) {
            double want = Math.exp(x[i]);
            if (want > Float.MAX_VALUE) assertEquals(Float.POSITIVE_INFINITY, y[i], "exp(" + x[i] + ")");
            else if (want < 1.2e-38) assertTrue(y[i] >= 0 && y[i] < 1.2e-38, "exp(" + x[i] + ") = " + y[i]);
            else assertEquals(want, y[i], 4e-7 * want, "exp(" + x[i] + ")");
        }
        float[] special = {Float.NaN, Float.NEGATIVE_INFINITY, Float.POSITIVE_INFINITY};
        float[] out = new float[3];
        CpuVector.exp(special, 0, out, 0, 3);
        assertTrue(Float.isNaN(out[0]));
        assertEquals(0f, out[1]);
        assertEquals(Float.POSITIVE_INFINITY, out[2]);
    }
}
