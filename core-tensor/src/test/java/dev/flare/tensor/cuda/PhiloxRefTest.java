package dev.flare.tensor.cuda;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/** The test-side Philox reference reproduces the golden vectors of docs/random.md (seed 42, offset 0). No GPU. */
class PhiloxRefTest {
    @Test
    void goldenVectors() {
        assertArrayEquals(new int[]{0x9ceaf053, 0x77f5493b, 0x12bf50ad, 0x5742b3d7}, PhiloxRef.block(42, 0));
        assertArrayEquals(new int[]{0xfcdb2127, 0x53ba6cfd, 0x838f5a6e, 0x744e06fb}, PhiloxRef.block(42, 1));
        int[] uniform = {0x3f1ceaf0, 0x3eefea92, 0x3d95fa80, 0x3eae8566, 0x3f7cdb21, 0x3ea774d8, 0x3f038f5a, 0x3ee89c0c};
        int[] normal = {0xbf785e5a, 0x3e46acec, 0xbf9e28cd, 0x3ff6433e, 0xbd95e014, 0x3e0e79fe, 0xbf8da732, 0x3ea7430b};
        for (int i = 0; i < 8; i++) {
            assertEquals(uniform[i], Float.floatToRawIntBits(PhiloxRef.uniformF(42, 0, i, 0f, 1f)), "uniform " + i);
            assertEquals(normal[i], Float.floatToRawIntBits(PhiloxRef.normalF(42, 0, i, 0f, 1f)), "normal " + i);
        }
        long[] u64 = {0x3fe39d5e0a6efea9L, 0x3fb2bf50ad5742b0L, 0x3fef9b6424ea774dL, 0x3fe071eb4dce89c0L};
        long[] n64 = {0x3fec5e30047aa1d8L, 0x3fdc1e68eb623d70L, 0xbfc40bc8bc52b056L, 0xbf8c1889e75c5396L};
        for (int i = 0; i < 4; i++) {
            assertEquals(u64[i], Double.doubleToRawLongBits(PhiloxRef.uniformD(42, 0, i, 0, 1)), "f64 uniform " + i);
            assertEquals(n64[i], Double.doubleToRawLongBits(PhiloxRef.normalD(42, 0, i, 0, 1)), "f64 normal " + i);
        }
        // Random123 known answers.
        assertArrayEquals(new int[]{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}, PhiloxRef.block(0, 0));
    }
}
