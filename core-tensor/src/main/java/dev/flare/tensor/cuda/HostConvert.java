package dev.flare.tensor.cuda;

import dev.flare.tensor.DType;

/**
 * Host-side conversions with the CPU backend's rules: the bit pattern a double value has when stored as a dtype
 * (used by fill), and float <-> BF16/F16 (round to nearest even, NaN kept quiet).
 */
final class HostConvert {
    private HostConvert() {}

    /** The stored bit pattern of {@code value} converted to {@code dtype}, in the low bytes of a long. */
    static long bits(DType dtype, double value) {
        return switch (dtype) {
            case F32 -> Float.floatToRawIntBits((float) value) & 0xFFFF_FFFFL;
            case F64 -> Double.doubleToRawLongBits(value);
            case BF16 -> floatToBf16((float) value) & 0xFFFFL;
            case F16 -> floatToF16((float) value) & 0xFFFFL;
            case I32 -> ((int) value) & 0xFFFF_FFFFL;     // Java cast: toward zero, saturating, NaN -> 0
            case I64 -> (long) value;
            case BOOL -> value != 0 ? 1 : 0;             // NaN -> 1
        };
    }

    static short floatToBf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if ((bits & 0x7FFF_FFFF) > 0x7F80_0000) return (short) ((bits >>> 16) | 0x0040);
        return (short) ((bits + 0x7FFF + ((bits >>> 16) & 1)) >>> 16);
    }

    static float bf16ToFloat(short h) { return Float.intBitsToFloat((h & 0xFFFF) << 16); }

    static short floatToF16(float f) {
        short h = Float.floatToFloat16(f);
        return f != f ? (short) (h | 0x0200) : h;
    }

    static float f16ToFloat(short h) { return Float.float16ToFloat(h); }
}
