package dev.flare.tensor;

import java.util.Objects;

/**
 * Conversions between {@code float} and the 16-bit formats, with the 16 bits held in a
 * {@code short}.
 *
 * <ul>
 *   <li><b>BF16</b> (bfloat16): the top 16 bits of an IEEE binary32 (1 sign, 8 exponent, 7 fraction
 *       bits). {@code float -> bf16} rounds to nearest, ties to even; values at or beyond the
 *       midpoint between the largest finite bf16 ({@code 0x7F7F}, about 3.39e38) and 2^128 become
 *       infinity; subnormals round like normals; infinities are kept; NaN becomes a quiet NaN of
 *       the same sign keeping the top payload bits.</li>
 *   <li><b>F16</b> (IEEE binary16: 1 sign, 5 exponent, 10 fraction bits). {@code float -> f16}
 *       rounds to nearest, ties to even, including into the subnormal range (down to 2^-24);
 *       magnitudes {@code >= 65520} become infinity; NaN becomes a quiet NaN of the same sign.
 *       Implemented with {@link Float#floatToFloat16} (which is round-to-nearest-even), forcing the
 *       quiet bit on NaN.</li>
 * </ul>
 * Conversions to {@code float} are exact.
 */
public final class HalfFloats {

    private HalfFloats() {}

    /** Rounds {@code f} to the nearest bfloat16 (ties to even); NaN gives a quiet NaN. */
    public static short floatToBf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if ((bits & 0x7FFF_FFFF) > 0x7F80_0000) { // NaN: keep sign and top payload, set quiet bit
            return (short) ((bits >>> 16) | 0x0040);
        }
        // Round to nearest even on the 16 dropped bits; a carry propagates into the exponent,
        // which correctly turns the largest values into infinity.
        int rounded = bits + 0x7FFF + ((bits >>> 16) & 1);
        return (short) (rounded >>> 16);
    }

    /** The exact float value of a bfloat16. */
    public static float bf16ToFloat(short h) {
        return Float.intBitsToFloat((h & 0xFFFF) << 16);
    }

    /** Rounds {@code f} to the nearest IEEE binary16 (ties to even); NaN gives a quiet NaN. */
    public static short floatToF16(float f) {
        short h = Float.floatToFloat16(f);
        return f != f ? (short) (h | 0x0200) : h;
    }

    /** The exact float value of an IEEE binary16. */
    public static float f16ToFloat(short h) {
        return Float.float16ToFloat(h);
    }

    /** {@code dst[dstOff + i] = floatToBf16(src[srcOff + i])} for {@code i < n}. */
    public static void toBf16(float[] src, int srcOff, short[] dst, int dstOff, int n) {
        Objects.checkFromIndexSize(srcOff, n, src.length);
        Objects.checkFromIndexSize(dstOff, n, dst.length);
        for (int i = 0; i < n; i++) {
            dst[dstOff + i] = floatToBf16(src[srcOff + i]);
        }
    }

    /** {@code dst[dstOff + i] = bf16ToFloat(src[srcOff + i])} for {@code i < n}. */
    public static void fromBf16(short[] src, int srcOff, float[] dst, int dstOff, int n) {
        Objects.checkFromIndexSize(srcOff, n, src.length);
        Objects.checkFromIndexSize(dstOff, n, dst.length);
        for (int i = 0; i < n; i++) {
            dst[dstOff + i] = bf16ToFloat(src[srcOff + i]);
        }
    }

    /** {@code dst[dstOff + i] = floatToF16(src[srcOff + i])} for {@code i < n}. */
    public static void toF16(float[] src, int srcOff, short[] dst, int dstOff, int n) {
        Objects.checkFromIndexSize(srcOff, n, src.length);
        Objects.checkFromIndexSize(dstOff, n, dst.length);
        for (int i = 0; i < n; i++) {
            dst[dstOff + i] = floatToF16(src[srcOff + i]);
        }
    }

    /** {@code dst[dstOff + i] = f16ToFloat(src[srcOff + i])} for {@code i < n}. */
    public static void fromF16(short[] src, int srcOff, float[] dst, int dstOff, int n) {
        Objects.checkFromIndexSize(srcOff, n, src.length);
        Objects.checkFromIndexSize(dstOff, n, dst.length);
        for (int i = 0; i < n; i++) {
            dst[dstOff + i] = f16ToFloat(src[srcOff + i]);
        }
    }
}
