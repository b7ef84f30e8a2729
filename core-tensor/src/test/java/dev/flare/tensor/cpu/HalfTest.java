package dev.flare.tensor.cpu;

import dev.flare.tensor.HalfFloats;
import dev.flare.tensor.TestTensors;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The kernels' BF16/F16 conversions against independent references, on random and special bit patterns. */
class HalfTest {
    private final TestTensors r = new TestTensors();

    private static final float[] SPECIAL = {0f, -0f, Float.MIN_VALUE, -Float.MIN_VALUE, Float.MIN_NORMAL, Float.MAX_VALUE,
            -Float.MAX_VALUE, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 1f, 1 + 0x1p-8f, 1 + 3 * 0x1p-8f,
            65504f, 65519.99f, 65520f, 0x1p-24f, 0x1p-25f, 0x1.8p-25f, Float.intBitsToFloat(0x7F7F_8000),
            Float.intBitsToFloat(0x7F7F_7FFF)};

    private void checkBf16(float f) {
        short h = HalfFloats.floatToBf16(f);
        float back = HalfFloats.bf16ToFloat(h);
        float expected = TestTensors.refBf16(f);
        String what = r.at("bf16 of " + f + " (bits " + Integer.toHexString(Float.floatToRawIntBits(f)) + ")");
        if (Float.isNaN(f)) {
            assertTrue(Float.isNaN(back), what);
            assertTrue((h & 0x0040) != 0, what + ": quiet NaN");
            assertEquals(f < 0 || Float.floatToRawIntBits(f) < 0, h < 0, what + ": sign kept");
        } else {
            assertEquals(Float.floatToRawIntBits(expected), Float.floatToRawIntBits(back), what);
        }
    }

    private void checkF16(float f) {
        short h = HalfFloats.floatToF16(f);
        float back = HalfFloats.f16ToFloat(h);
        String what = r.at("f16 of " + f);
        if (Float.isNaN(f)) {
            assertTrue(Float.isNaN(back) && (h & 0x0200) != 0, what + ": quiet NaN");
            return;
        }
        if (Math.abs(f) >= 65520) {        // at or past the midpoint between 65504 and 2^16: infinity
            assertTrue(back == Math.copySign(Float.POSITIVE_INFINITY, f), what + ": overflow gives infinity, got " + back);
            return;
        }
        // Reference: the nearest of the representable neighbours, ties to an even mantissa, by exhaustive search.
        double best = Double.NaN;
        int bestBits = -1;
        for (int bits = 0; bits < 0x10000; bits += 1) {
            if ((bits & 0x7C00) == 0x7C00 && (bits & 0x03FF) != 0) continue;      // NaNs
            double v = Float.float16ToFloat((short) bits);
            if (Math.signum(v) != Math.signum(f) && v != 0 && f != 0) continue;
            double vv = Double.isInfinite(v) ? Math.copySign(65536, v) : v;      // Inf stands at 2^16 for rounding
            double d = Math.abs(vv - f), bd = Double.isNaN(best) ? Double.POSITIVE_INFINITY : Math.abs(best - f);
            if (d < bd || (d == bd && (bits & 1) == 0 && (bestBits & 1) == 1)) {
                best = vv;
                bestBits = bits;
            }
        }
        double expected = Math.abs(best) == 65536 ? Math.copySign(Double.POSITIVE_INFINITY, best) : best;
        if (Float.isInfinite(f)) expected = f;
        assertTrue(expected == back, what + ": expected " + expected + ", got " + back);
        if (f == 0) assertEquals(Float.floatToRawIntBits(f) < 0, h < 0, what + ": sign of zero");
    }

    @Test
    void bf16MatchesTheNearestEvenReferenceOnRandomAndSpecialValues() {
        for (float f : SPECIAL) {
            checkBf16(f);
            checkBf16(-f);
        }
        checkBf16(Float.NaN);
        checkBf16(Float.intBitsToFloat(0xFF80_0001));
        checkBf16(Float.intBitsToFloat(0x7F80_0001));
        for (int i = 0; i < 200_000; i++) checkBf16(Float.intBitsToFloat(r.rnd.nextInt()));
        for (int i = 0; i < 0x10000; i++) {
            short h = (short) i;
            float f = HalfFloats.bf16ToFloat(h);
            if (!Float.isNaN(f)) assertEquals(h, HalfFloats.floatToBf16(f), r.at("bf16 round trip of " + Integer.toHexString(i)));
        }
    }

    @Test
    void f16MatchesAnExhaustiveNearestEvenSearch() {
        for (float f : SPECIAL) {
            checkF16(f);
            checkF16(-f);
        }
        checkF16(Float.NaN);
        for (int i = 0; i < 150; i++) {
            // Values in and around the F16 range, including subnormals and exact ties.
            float f = switch (i % 3) {
                case 0 -> (float) (r.rnd.nextGaussian() * Math.pow(2, r.nextInt(-26, 17)));
                case 1 -> Float.float16ToFloat((short) r.nextInt(0, 0x7C00)) + Math.ulp(Float.float16ToFloat((short) r.nextInt(0, 0x7C00))) / 2;
                default -> Float.intBitsToFloat(r.rnd.nextInt());
            };
            checkF16(f);
        }
    }
}
