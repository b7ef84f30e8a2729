package dev.flare.tensor.random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.flare.tensor.TestSeeds;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class Philox4x32Test {

    /**
     * Random123 {@code tests/kat_vectors}, the philox4x32 lines: rounds, counter[4], key[2],
     * expected[4] (all hex uint32).
     */
    private static final String[] KAT = {
        "7  00000000 00000000 00000000 00000000 00000000 00000000  5f6fb709 0d893f64 4f121f81 4f730a48",
        "7  ffffffff ffffffff ffffffff ffffffff ffffffff ffffffff  5207ddc2 45165e59 4d8ee751 8c52f662",
        "7  243f6a88 85a308d3 13198a2e 03707344 a4093822 299f31d0  4dfccaba 190a87f0 c47362ba b6b5242a",
        "10 00000000 00000000 00000000 00000000 00000000 00000000  6627e8d5 e169c58d bc57ac4c 9b00dbd8",
        "10 ffffffff ffffffff ffffffff ffffffff ffffffff ffffffff  408f276d 41c83b0e a20bc7c6 6d5451fd",
        "10 243f6a88 85a308d3 13198a2e 03707344 a4093822 299f31d0  d16cfe09 94fdcceb 5001e420 24126ea1",
    };

    private static int[] parse(String line) {
        String[] f = line.trim().split("\\s+");
        int[] v = new int[f.length];
        for (int i = 0; i < f.length; i++) {
            v[i] = i == 0 ? Integer.parseInt(f[i]) : Integer.parseUnsignedInt(f[i], 16);
        }
        return v;
    }

    @Test
    void knownAnswerVectors() {
        int tested10 = 0;
        for (String line : KAT) {
            int[] v = parse(line);
            int[] want = {v[7], v[8], v[9], v[10]};
            int[] out = new int[4];
            Philox4x32.blockRounds(v[0], v[1], v[2], v[3], v[4], v[5], v[6], out);
            assertArrayEquals(want, out, line);
            if (v[0] == 10) {
                tested10++;
                int[] out10 = new int[4];
                Philox4x32.block(v[1], v[2], v[3], v[4], v[5], v[6], out10);
                assertArrayEquals(want, out10, line);
                long lo = (v[1] & 0xFFFF_FFFFL) | ((long) v[2] << 32);
                long hi = (v[3] & 0xFFFF_FFFFL) | ((long) v[4] << 32);
                long key = (v[5] & 0xFFFF_FFFFL) | ((long) v[6] << 32);
                for (int w = 0; w < 4; w++) {
                    assertEquals(want[w], Philox4x32.word(lo, hi, key, w), line + " word " + w);
                }
            }
        }
        assertEquals(3, tested10);
    }

    @Test
    void wordAgreesWithBlock() {
        long seed = TestSeeds.fresh();
        SplittableRandom rnd = new SplittableRandom(seed);
        int[] out = new int[4];
        for (int t = 0; t < 2000; t++) {
            long lo = rnd.nextLong(), hi = rnd.nextLong(), key = rnd.nextLong();
            Philox4x32.block((int) lo, (int) (lo >>> 32), (int) hi, (int) (hi >>> 32), (int) key, (int) (key >>> 32), out);
            for (int w = 0; w < 4; w++) {
                assertEquals(out[w], Philox4x32.word(lo, hi, key, w), TestSeeds.describe(seed));
            }
        }
    }

    @Test
    void wordRejectsBadIndex() {
        assertThrows(IllegalArgumentException.class, () -> Philox4x32.word(0, 0, 0, 4));
        assertThrows(IllegalArgumentException.class, () -> Philox4x32.word(0, 0, 0, -1));
    }
}
