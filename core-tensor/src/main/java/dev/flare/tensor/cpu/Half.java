package dev.flare.tensor.cpu;

/**
 * BF16 / F16 conversions for the CPU kernels, with the same contract as {@code dev.flare.tensor.HalfFloats}
 * (round to nearest, ties to even; infinities kept; NaN becomes a quiet NaN of the same sign). Kept as a
 * package-private stand-in so the kernels can switch to {@code HalfFloats} by changing their one import.
 */
final class Half {
    private Half() {}

    /** Rounds {@code f} to the nearest bfloat16 (ties to even); overflow past the BF16 range gives infinity. */
    static short floatToBf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if ((bits & 0x7FFF_FFFF) > 0x7F80_0000) return (short) ((bits >>> 16) | 0x0040);   // quiet NaN
        // Round to nearest even on the 16 dropped bits; a carry into the exponent correctly gives infinity.
        return (short) ((bits + 0x7FFF + ((bits >>> 16) & 1)) >>> 16);
    }

    /** The exact float value of a bfloat16 bit pattern. */
    static float bf16ToFloat(short h) {
        return Float.intBitsToFloat((h & 0xFFFF) << 16);
    }

    /** Rounds {@code f} to the nearest IEEE binary16 (ties to even, subnormals included). */
    static short floatToF16(float f) {
        short h = Float.floatToFloat16(f);
        return f != f ? (short) (h | 0x0200) : h;
    }

    /** The exact float value of an IEEE binary16 bit pattern. */
    static float f16ToFloat(short h) {
        return Float.float16ToFloat(h);
    }
}
