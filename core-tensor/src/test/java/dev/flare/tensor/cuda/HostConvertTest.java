package dev.flare.tensor.cuda;

import dev.flare.tensor.DType;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class HostConvertTest {
    @Test
    void fillBitPatterns() {
        assertEquals(Float.floatToRawIntBits(1.5f) & 0xFFFFFFFFL, HostConvert.bits(DType.F32, 1.5));
        assertEquals(Double.doubleToRawLongBits(-2.25), HostConvert.bits(DType.F64, -2.25));
        assertEquals(0x3FC0, HostConvert.bits(DType.BF16, 1.5));
        assertEquals(0x3E00, HostConvert.bits(DType.F16, 1.5));
        assertEquals(0xFFFFFFFFL, HostConvert.bits(DType.I32, -1.9));      // toward zero: -1
        assertEquals(Integer.MAX_VALUE, HostConvert.bits(DType.I32, 1e20)); // saturates
        assertEquals(0, HostConvert.bits(DType.I32, Double.NaN));
        assertEquals(-7L, HostConvert.bits(DType.I64, -7.0));
        assertEquals(1, HostConvert.bits(DType.BOOL, 0.5));
        assertEquals(1, HostConvert.bits(DType.BOOL, Double.NaN));
        assertEquals(0, HostConvert.bits(DType.BOOL, -0.0));
    }

    @Test
    void bf16RoundsToNearestEven() {
        // 1 + 2^-8 is halfway between 1 and 1 + 2^-7: ties to even (1.0).
        assertEquals(0x3F80, HostConvert.floatToBf16(1f + 0x1p-8f) & 0xFFFF);
        assertEquals(0x3F81, HostConvert.floatToBf16(1f + 0x1p-8f + 0x1p-20f) & 0xFFFF);
        assertEquals(0x7F80, HostConvert.floatToBf16(Float.MAX_VALUE) & 0xFFFF);      // overflow to infinity
        assertTrue(Float.isNaN(HostConvert.bf16ToFloat(HostConvert.floatToBf16(Float.NaN))));
        for (int h = 0; h < 0x10000; h++) {
            float f = HostConvert.bf16ToFloat((short) h);
            if (!Float.isNaN(f)) assertEquals(h, HostConvert.floatToBf16(f) & 0xFFFF);
        }
    }

    @Test
    void f16RoundTrips() {
        for (int h = 0; h < 0x10000; h++) {
            float f = HostConvert.f16ToFloat((short) h);
            if (!Float.isNaN(f)) assertEquals(h, HostConvert.floatToF16(f) & 0xFFFF);
        }
    }
}
