package dev.flare.tensor;

import dev.flare.tensor.TestTensors.Kind;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Casts (Tensor.to(dtype)) between every pair of dtypes, rounding of BF16/F16, and the host-data paths built on copy. */
class CastTest {
    private final TestTensors r = new TestTensors();

    @Test
    void castBetweenEveryPairOfDtypesFollowsTheConversionRules() {
        for (DType src : DType.values()) {
            for (DType dst : DType.values()) {
                for (int trial = 0; trial < 4; trial++) {
                    int[] shape = r.shape(3, 6, 0.05);
                    int n = (int) TestTensors.numel(shape);
                    double[] x = r.values(src, n, src.isFloatingPoint() ? Kind.SPECIAL : Kind.NORMAL);
                    // Fractions and out-of-range magnitudes exercise truncation and saturation.
                    for (int i = 0; i < n; i++)
                        if (src.isFloatingPoint() && r.chance(0.2)) x[i] = TestTensors.representable(src, r.pick(new Double[]{2.75, -2.75, 0.5, -0.5, 3e9, -3e9, 1e20}));
                    Tensor t = r.tensor(x, shape, src);
                    Tensor y = t.to(dst);
                    if (src == dst) assertSame(t, y, r.at("a cast to the same dtype returns the tensor itself"));
                    assertEquals(dst, y.dtype(), r.at("cast result dtype"));
                    r.assertTensor(TestTensors.map(x, v -> TestTensors.convert(src, dst, v)), shape, y, false, "cast " + src + " -> " + dst);
                }
            }
        }
    }

    @Test
    void floatToIntegerTruncatesTowardZeroSaturatesAndMapsNaNToZero() {
        Tensor f = Tensor.fromArray(new double[]{2.9, -2.9, Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, 1e10, -0.0});
        assertArrayEquals(new int[]{2, -2, 0, Integer.MAX_VALUE, Integer.MIN_VALUE, Integer.MAX_VALUE, 0}, f.toIntArray(), r.at("F64 -> I32"));
        assertArrayEquals(new long[]{2, -2, 0, Long.MAX_VALUE, Long.MIN_VALUE, 10_000_000_000L, 0}, f.toLongArray(), r.at("F64 -> I64"));
        assertArrayEquals(new int[]{2, -2, 0, Integer.MAX_VALUE, Integer.MIN_VALUE, Integer.MAX_VALUE, 0},
                f.to(DType.BF16).toIntArray(), r.at("BF16 -> I32"));
    }

    @Test
    void integerNarrowingWrapsAndWideningIsExact() {
        long big = (1L << 32) + 5;
        Tensor l = Tensor.fromArray(new long[]{big, -1, (1L << 53) + 1});
        assertArrayEquals(new int[]{5, -1, 1}, l.to(DType.I32).toIntArray(), r.at("I64 -> I32 keeps the low 32 bits"));
        assertEquals((float) ((1L << 53) + 1), l.to(DType.F32).toFloatArray()[2], r.at("I64 -> F32 rounds once"));
        assertArrayEquals(new long[]{5, -1, 1}, l.to(DType.I32).to(DType.I64).toLongArray(), r.at("I32 -> I64"));
    }

    @Test
    void anythingToBoolIsNonZeroAndNaNIsTrue() {
        Tensor f = Tensor.fromArray(new float[]{0, -0f, 0.25f, Float.NaN, -3});
        r.assertExact(new double[]{0, 0, 1, 1, 1}, TestTensors.read(f.to(DType.BOOL)), "F32 -> BOOL");
        r.assertExact(new double[]{0, 0, 1, 1, 1}, TestTensors.read(f.to(DType.F16).to(DType.BOOL)), "F16 -> BOOL");
        r.assertExact(new double[]{0, 1, 1}, TestTensors.read(Tensor.fromArray(new long[]{0, 1L << 40, -1}).to(DType.BOOL)), "I64 -> BOOL");
        r.assertExact(new double[]{1, 0}, TestTensors.read(Tensor.fromArray(new boolean[]{true, false}).to(DType.BF16)), "BOOL -> BF16");
    }

    @Test
    void bf16RoundsToNearestEvenAndKeepsInfinityAndNaN() {
        float one = 1f, ulp = 0x1p-7f;
        float[] in = {one + ulp / 2, one + 3 * ulp / 2, one + ulp / 2 + 0x1p-20f, Float.MAX_VALUE,
                Float.intBitsToFloat(0x7F7F_7FFF), Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, -0f, 1e-40f, -2.5e-39f};
        float[] expected = {one, one + 2 * ulp, one + ulp, Float.POSITIVE_INFINITY,
                Float.intBitsToFloat(0x7F7F_0000), Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, -0f,
                TestTensors.refBf16(1e-40f), TestTensors.refBf16(-2.5e-39f)};
        Tensor b = Tensor.fromArray(in).to(DType.BF16);
        short[] bits = (short[]) TestTensors.raw(b);
        for (int i = 0; i < in.length; i++)
            assertEquals(Float.floatToRawIntBits(expected[i]) >>> 16, bits[i] & 0xFFFF, r.at("BF16 of " + in[i]));
        Tensor nan = Tensor.fromArray(new float[]{Float.NaN, Float.intBitsToFloat(0xFF80_0001)}).to(DType.BF16);
        for (short s : (short[]) TestTensors.raw(nan)) assertTrue(Float.isNaN(Float.intBitsToFloat(s << 16)), r.at("NaN stays NaN in BF16"));
        assertTrue(((short[]) TestTensors.raw(nan))[1] < 0, r.at("a negative NaN keeps its sign"));
    }

    @Test
    void f16RoundsToNearestEvenIncludingSubnormalsAndOverflow() {
        float[] in = {65504, 65519, 65520, 0x1p-24f, 0x1p-25f, 3 * 0x1p-25f, 1 + 0x1p-11f, 1 + 3 * 0x1p-11f, -0f, Float.NEGATIVE_INFINITY};
        double[] expected = {65504, 65504, Double.POSITIVE_INFINITY, 0x1p-24, 0, 0x1p-23, 1, 1 + 0x1p-9, -0.0, Double.NEGATIVE_INFINITY};
        Tensor h = Tensor.fromArray(in).to(DType.F16);
        r.assertExact(expected, TestTensors.read(h), "F16 rounding");
        assertEquals(Float.floatToRawIntBits(-0f), Float.floatToRawIntBits(h.to(DType.F32).toFloatArray()[8]), r.at("-0 keeps its sign"));
        Tensor nan = Tensor.fromArray(new double[]{Double.NaN}).to(DType.F16);
        assertTrue(Float.isNaN(Float.float16ToFloat(((short[]) TestTensors.raw(nan))[0])), r.at("NaN stays NaN in F16"));
    }

    @Test
    void randomFloatsRoundToBf16AndF16LikeTheReference() {
        int n = 20_000;
        float[] f = new float[n];
        for (int i = 0; i < n; i++) f[i] = Float.intBitsToFloat(r.rnd.nextInt());
        Tensor t = Tensor.fromArray(f);
        short[] bf = (short[]) TestTensors.raw(t.to(DType.BF16));
        short[] h = (short[]) TestTensors.raw(t.to(DType.F16));
        for (int i = 0; i < n; i++) {
            float e = TestTensors.refBf16(f[i]);
            float got = Float.intBitsToFloat(bf[i] << 16);
            if (Float.isNaN(e)) assertTrue(Float.isNaN(got), r.at("BF16 of NaN bits " + Integer.toHexString(Float.floatToRawIntBits(f[i]))));
            else assertEquals(Float.floatToRawIntBits(e), Float.floatToRawIntBits(got), r.at("BF16 of " + f[i]));
            float eh = Float.float16ToFloat(Float.floatToFloat16(f[i]));
            float gh = Float.float16ToFloat(h[i]);
            if (Float.isNaN(eh)) assertTrue(Float.isNaN(gh), r.at("F16 of NaN"));
            else assertEquals(Float.floatToRawIntBits(eh), Float.floatToRawIntBits(gh), r.at("F16 of " + f[i]));
        }
    }

    @Test
    void creationAndHostDataWorkThroughCopyAndFill() {
        r.assertExact(new double[]{0, 0, 0, 0}, TestTensors.read(Tensor.zeros(2, 2)), "zeros");
        r.assertExact(new double[]{1, 1, 1}, TestTensors.read(Tensor.ones(DType.I32, Device.CPU, 3)), "ones I32");
        r.assertExact(new double[]{2.5, 2.5}, TestTensors.read(Tensor.full(2.5, DType.BF16, Device.CPU, 2)), "full BF16");
        assertEquals(-4.0, Tensor.scalar(-4).item(), r.at("scalar item"));
        assertArrayEquals(new long[]{0, 1, 2, 3}, Tensor.arange(4).toLongArray(), r.at("arange"));
        r.assertExact(new double[]{5, 3, 1}, TestTensors.read(Tensor.arange(5, 0, -2, DType.F16, Device.CPU)), "arange F16 descending");
        Tensor m = Tensor.fromArray(new double[]{1, 2, 3, 4, 5, 6}, 2, 3);
        assertEquals(6.0, m.get(1, 2), r.at("get"));
        assertEquals(3.0, m.t().get(2, 0), r.at("get on a transposed view"));
        assertEquals(4.0, m.t().get(0, 1), r.at("get on a transposed view"));
        assertArrayEquals(new float[]{1, 4, 2, 5, 3, 6}, m.t().toFloatArray(), r.at("toFloatArray of a transposed view"));
        assertEquals("tensor(shape=[2, 3], F64, cpu) [[1.000, 2.000, 3.000], [4.000, 5.000, 6.000]]", m.toString(), r.at("toString"));
        assertEquals("tensor(shape=[3], I64, cpu) [0, 1, 2]", Tensor.arange(3).toString(), r.at("toString of integers"));
    }
}
