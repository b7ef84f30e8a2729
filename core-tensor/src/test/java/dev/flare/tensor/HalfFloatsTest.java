package dev.flare.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class HalfFloatsTest {

    /** A 16-bit binary format: exponent bits, fraction bits (p - 1), bias = emax. */
    private record Format(String name, int expBits, int fracBits) {
        int emax() {
            return (1 << (expBits - 1)) - 1;
        }

        int emin() {
            return 1 - emax();
        }

        int infBits() {
            return ((1 << expBits) - 1) << fracBits;
        }

        int quietBit() {
            return 1 << (fracBits - 1);
        }
    }

    private static final Format BF16 = new Format("bf16", 8, 7);
    private static final Format F16 = new Format("f16", 5, 10);

    private final long testSeed = TestSeeds.fresh();
    private final SplittableRandom rnd = new SplittableRandom(testSeed);

    private String why() {
        return TestSeeds.describe(testSeed);
    }

    /** Reference decoding from the fields, in double arithmetic. */
    private static double refDecode(Format fmt, int h) {
        int sign = (h >>> (fmt.expBits + fmt.fracBits)) & 1;
        int ex = (h >>> fmt.fracBits) & ((1 << fmt.expBits) - 1);
        int fr = h & ((1 << fmt.fracBits) - 1);
        double mag;
        if (ex == (1 << fmt.expBits) - 1) {
            mag = fr == 0 ? Double.POSITIVE_INFINITY : Double.NaN;
        } else if (ex == 0) {
            mag = fr * Math.scalb(1.0, fmt.emin() - fmt.fracBits);
        } else {
            mag = ((1 << fmt.fracBits) | fr) * Math.scalb(1.0, ex - fmt.emax() - fmt.fracBits);
        }
        return sign == 1 ? -mag : mag;
    }

    /** Reference round-to-nearest-even of a non-NaN float, in double arithmetic (Math.rint is RNE). */
    private static int refEncode(Format fmt, float x) {
        int signBit = (Float.floatToRawIntBits(x) >>> 31) << (fmt.expBits + fmt.fracBits);
        double a = Math.abs((double) x);
        if (Double.isInfinite(a)) {
            return signBit | fmt.infBits();
        }
        if (a == 0) {
            return signBit;
        }
        int e = Math.max(Math.getExponent(a), fmt.emin());
        double ulp = Math.scalb(1.0, e - fmt.fracBits);
        double r = Math.rint(a / ulp) * ulp;
        if (r >= Math.scalb(1.0, fmt.emax() + 1)) {
            return signBit | fmt.infBits();
        }
        if (r < Math.scalb(1.0, fmt.emin())) {
            return signBit | (int) (r / Math.scalb(1.0, fmt.emin() - fmt.fracBits));
        }
        int ex = Math.getExponent(r);
        int frac = (int) (r / Math.scalb(1.0, ex - fmt.fracBits)) - (1 << fmt.fracBits);
        return signBit | ((ex + fmt.emax()) << fmt.fracBits) | frac;
    }

    private static int encode(Format fmt, float x) {
        return (fmt == BF16 ? HalfFloats.floatToBf16(x) : HalfFloats.floatToF16(x)) & 0xFFFF;
    }

    private static float decode(Format fmt, int h) {
        return fmt == BF16 ? HalfFloats.bf16ToFloat((short) h) : HalfFloats.f16ToFloat((short) h);
    }

    private static void checkAgainstReference(Format fmt, float x, String why) {
        if (Float.isNaN(x)) {
            int h = encode(fmt, x);
            int bits = Float.floatToRawIntBits(x);
            assertTrue(Float.isNaN(decode(fmt, h)), fmt.name + " NaN " + Integer.toHexString(bits) + " " + why);
            assertTrue((h & fmt.quietBit()) != 0, fmt.name + " quiet NaN " + Integer.toHexString(bits) + " " + why);
            assertEquals(bits >>> 31, h >>> 15, fmt.name + " NaN sign " + why);
            return;
        }
        int want = refEncode(fmt, x);
        int got = encode(fmt, x);
        if (want != got) {
            throw new AssertionError(String.format("%s(%s = 0x%08x): want 0x%04x got 0x%04x %s",
                    fmt.name, x, Float.floatToRawIntBits(x), want, got, why));
        }
    }

    @Test
    void exhaustiveDecodeAndRoundTrip() {
        for (Format fmt : new Format[] {BF16, F16}) {
            for (int h = 0; h < 65536; h++) {
                float f = decode(fmt, h);
                double ref = refDecode(fmt, h);
                assertEquals(0, Double.compare(ref, f), fmt.name + " decode 0x" + Integer.toHexString(h));
                int back = encode(fmt, f);
                if (Float.isNaN(f)) {
                    assertEquals(h | fmt.quietBit(), back, fmt.name + " NaN 0x" + Integer.toHexString(h));
                } else {
                    assertEquals(h, back, fmt.name + " round trip 0x" + Integer.toHexString(h));
                }
            }
        }
    }

    @Test
    void bf16AllTieStructures() {
        // every upper half, with the dropped 16 bits at zero, just below/at/above the tie, and random
        int[] lows = {0, 1, 0x7FFF, 0x8000, 0x8001, 0xFFFF, 0};
        for (int hi = 0; hi < 65536; hi++) {
            lows[6] = rnd.nextInt(65536);
            for (int lo : lows) {
                checkAgainstReference(BF16, Float.intBitsToFloat(hi << 16 | lo), why());
            }
        }
    }

    @Test
    void f16AllTieStructures() {
        // every (sign, exponent, top 10 fraction bits), with the dropped 13 bits around the tie
        int[] lows = {0, 1, 0x0FFF, 0x1000, 0x1001, 0x1FFF, 0};
        for (int top = 0; top < 1 << 19; top++) {
            lows[6] = rnd.nextInt(1 << 13);
            for (int lo : lows) {
                checkAgainstReference(F16, Float.intBitsToFloat(top << 13 | lo), why());
            }
        }
    }

    @Test
    void f16SubnormalTies() {
        for (int k = 0; k < 1024; k++) {
            float mid = (k + 0.5f) * 0x1p-24f; // exact: 12 significant bits at most
            int even = (k & 1) == 0 ? k : k + 1;
            assertEquals(even, HalfFloats.floatToF16(mid), "tie above " + k);
            assertEquals(k, HalfFloats.floatToF16(Math.nextDown(mid)), "below tie " + k);
            assertEquals(k + 1, HalfFloats.floatToF16(Math.nextUp(mid)), "above tie " + k);
            assertEquals(0x8000 | even, HalfFloats.floatToF16(-mid) & 0xFFFF, "negative tie " + k);
            checkAgainstReference(F16, mid, "");
        }
    }

    @Test
    void randomFloats() {
        for (int i = 0; i < 1_000_000; i++) {
            float x = switch (i % 3) {
                case 0 -> Float.intBitsToFloat(rnd.nextInt()); // anything, NaNs included
                case 1 -> (float) Math.scalb(rnd.nextDouble(-2, 2), rnd.nextInt(-30, 18)); // around f16's range
                default -> Float.intBitsToFloat(rnd.nextInt() & 0x807F_FFFF); // float subnormals
            };
            checkAgainstReference(BF16, x, why());
            checkAgainstReference(F16, x, why());
        }
    }

    @Test
    void corners() {
        // bf16
        assertEquals(0x7F7F, HalfFloats.floatToBf16(Float.intBitsToFloat(0x7F7F7FFF)));
        assertEquals(0x7F80, HalfFloats.floatToBf16(Float.intBitsToFloat(0x7F7F8000)), "tie to even rounds to Inf");
        assertEquals(0x7F80, HalfFloats.floatToBf16(Float.MAX_VALUE));
        assertEquals((short) 0xFF80, HalfFloats.floatToBf16(-Float.MAX_VALUE));
        assertEquals(0x7F80, HalfFloats.floatToBf16(Float.POSITIVE_INFINITY));
        assertEquals((short) 0xFF80, HalfFloats.floatToBf16(Float.NEGATIVE_INFINITY));
        assertEquals(0x7FC0, HalfFloats.floatToBf16(Float.NaN));
        assertEquals(0x7FC0, HalfFloats.floatToBf16(Float.intBitsToFloat(0x7F800001)), "signalling NaN -> quiet");
        assertEquals((short) 0xFFC0, HalfFloats.floatToBf16(Float.intBitsToFloat(0xFF800001)));
        assertEquals(0x7FC1, HalfFloats.floatToBf16(Float.intBitsToFloat(0x7F810000)), "payload kept");
        assertEquals((short) 0x8000, HalfFloats.floatToBf16(-0f));
        assertEquals(0x0000, HalfFloats.floatToBf16(Float.MIN_VALUE), "smallest subnormal rounds to 0");
        assertEquals(0x0000, HalfFloats.floatToBf16(Float.intBitsToFloat(0x00008000)), "subnormal tie to even (down)");
        assertEquals(0x0002, HalfFloats.floatToBf16(Float.intBitsToFloat(0x00018000)), "subnormal tie to even (up)");
        assertEquals(0x0001, HalfFloats.floatToBf16(Float.intBitsToFloat(0x00017FFF)));
        assertEquals(0x0080, HalfFloats.floatToBf16(Float.intBitsToFloat(0x007FFFFF)), "largest subnormal rounds up to MIN_NORMAL");
        assertEquals(0x3F80, HalfFloats.floatToBf16(Float.intBitsToFloat(0x3F808000)), "tie to even down");
        assertEquals(0x3F82, HalfFloats.floatToBf16(Float.intBitsToFloat(0x3F818000)), "tie to even up");
        assertEquals(1f, HalfFloats.bf16ToFloat((short) 0x3F80));
        // f16
        assertEquals(0x7BFF, HalfFloats.floatToF16(65504f));
        assertEquals(0x7BFF, HalfFloats.floatToF16(Math.nextDown(65520f)));
        assertEquals(0x7C00, HalfFloats.floatToF16(65520f), "tie to even rounds to Inf");
        assertEquals((short) 0xFC00, HalfFloats.floatToF16(-65520f));
        assertEquals(0x7C00, HalfFloats.floatToF16(Float.POSITIVE_INFINITY));
        assertEquals(0x0001, HalfFloats.floatToF16(0x1p-24f));
        assertEquals(0x0000, HalfFloats.floatToF16(0x1p-25f), "half the smallest subnormal ties to 0");
        assertEquals(0x0001, HalfFloats.floatToF16(Math.nextUp(0x1p-25f)));
        assertEquals(0x0002, HalfFloats.floatToF16(3 * 0x1p-25f));
        assertEquals(0x0400, HalfFloats.floatToF16(0x1p-14f), "smallest normal");
        assertEquals(0x0400, HalfFloats.floatToF16(Math.nextDown(0x1p-14f)), "rounds up into the normals");
        assertEquals((short) 0x8000, HalfFloats.floatToF16(-0f));
        assertEquals((short) 0x8000, HalfFloats.floatToF16(-Float.MIN_VALUE));
        assertEquals(0x3C00, HalfFloats.floatToF16(1f));
        assertEquals(0x7E00, HalfFloats.floatToF16(Float.NaN));
        short s = HalfFloats.floatToF16(Float.intBitsToFloat(0x7F800001));
        assertTrue(Float.isNaN(HalfFloats.f16ToFloat(s)) && (s & 0x0200) != 0, "signalling NaN -> quiet");
        assertEquals((short) 0xFE00, HalfFloats.floatToF16(Float.intBitsToFloat(0xFFC00000)));
        assertEquals(0x1p-24f, HalfFloats.f16ToFloat((short) 1));
        assertEquals(65504f, HalfFloats.f16ToFloat((short) 0x7BFF));
    }

    @Test
    void bulkMatchesScalar() {
        int n = 1000;
        float[] src = new float[n + 5];
        for (int i = 0; i < src.length; i++) {
            src[i] = Float.intBitsToFloat(rnd.nextInt());
        }
        short[] b = new short[n + 7], h = new short[n + 7];
        HalfFloats.toBf16(src, 2, b, 3, n);
        HalfFloats.toF16(src, 2, h, 3, n);
        float[] back = new float[n + 4], backH = new float[n + 4];
        HalfFloats.fromBf16(b, 3, back, 1, n);
        HalfFloats.fromF16(h, 3, backH, 1, n);
        for (int i = 0; i < n; i++) {
            assertEquals(HalfFloats.floatToBf16(src[2 + i]), b[3 + i], why());
            assertEquals(HalfFloats.floatToF16(src[2 + i]), h[3 + i], why());
            assertEquals(Float.floatToRawIntBits(HalfFloats.bf16ToFloat(b[3 + i])), Float.floatToRawIntBits(back[1 + i]));
            assertEquals(Float.floatToRawIntBits(HalfFloats.f16ToFloat(h[3 + i])), Float.floatToRawIntBits(backH[1 + i]));
        }
        assertEquals(0, b[2]);
        assertEquals(0, b[3 + n]);
        assertEquals(0f, back[0]);
        assertEquals(0f, back[1 + n]);
        assertThrows(IndexOutOfBoundsException.class, () -> HalfFloats.toBf16(src, 6, b, 0, n));
        assertThrows(IndexOutOfBoundsException.class, () -> HalfFloats.toF16(src, 0, h, 8, n));
        assertThrows(IndexOutOfBoundsException.class, () -> HalfFloats.fromF16(h, 0, back, 5, n));
        assertThrows(IndexOutOfBoundsException.class, () -> HalfFloats.fromBf16(b, -1, back, 0, 1));
    }
}
