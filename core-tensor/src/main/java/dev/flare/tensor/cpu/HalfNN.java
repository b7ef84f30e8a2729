package dev.flare.tensor.cpu;

/**
 * 16-bit float conversions used by the CPU NN kernels. Stop-gap: swap for {@code dev.flare.tensor.HalfFloats}
 * once it lands (same semantics: round-to-nearest-even, NaN and Inf kept).
 */
final class HalfNN {
    private HalfNN() {}

    static float bf16ToFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xffff) << 16);
    }

    /** Round-to-nearest-even; NaN stays a (quiet) NaN with its sign, overflow rounds to Inf. */
    static short floatToBf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if ((bits & 0x7fffffff) > 0x7f800000) return (short) ((bits >>> 16) | 0x0040);
        return (short) ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16);
    }

    static float f16ToFloat(short bits) { return Float.float16ToFloat(bits); }

    static short floatToF16(float f) { return Float.floatToFloat16(f); }
}
