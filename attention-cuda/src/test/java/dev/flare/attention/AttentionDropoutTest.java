package dev.flare.attention;

import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

class AttentionDropoutTest {
    private static int[] philox(int c0, int c1, int c2, int c3, int k0, int k1) {
        int[] out = new int[4];
        AttentionDropout.philox(c0, c1, c2, c3, k0, k1, out);
        return out;
    }

    @Test
    void philoxMatchesRandom123KnownAnswers() {
        assertArrayEquals(new int[]{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}, philox(0, 0, 0, 0, 0, 0));
        assertArrayEquals(new int[]{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd},
                philox(-1, -1, -1, -1, -1, -1));
        assertArrayEquals(new int[]{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1},
                philox(0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0));
    }

    @Test
    void keepFollowsTheDocumentedCounterLayout() {
        long seed = 0x0123456789ABCDEFL, offset = 0x1_0000_0007L;
        int b = 1, h = 2, hq = 3, row = 5;
        // The 16 bytes of the block's four output words, little end first, are columns 16m .. 16m + 15.
        int[] w = philox(3, row, b * hq + h, 7, 0x89ABCDEF, 0x01234567);
        ByteBuffer bytes = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
        for (int x : w) bytes.putInt(x);
        for (int col = 48; col < 64; col++) {
            int u = bytes.get(col - 48) & 0xFF;
            for (int th : new int[]{u, u + 1})   // kept at threshold u, dropped at u + 1
                assertEquals(u >= th, AttentionDropout.keep(seed, offset, b, h, hq, row, col, th), "col " + col + ", th " + th);
        }
        assertEquals(128, AttentionDropout.threshold(0.5));
        assertEquals(0, AttentionDropout.threshold(0.0));
    }

    @Test
    void bulkRowMatchesElementwiseKeep() {
        long seed = new Random().nextLong();
        int th = AttentionDropout.threshold(0.37);
        boolean[] keep = new boolean[23];
        AttentionDropout.keepRow(seed, 9, 1, 3, 4, 17, 5, 23, th, keep, null);
        for (int i = 0; i < 23; i++)
            assertEquals(AttentionDropout.keep(seed, 9, 1, 3, 4, 17, 5 + i, th), keep[i], "col " + (5 + i) + ", seed " + seed);
    }

    @Test
    void keepRateIsOneMinusPWithinStatisticalBounds() {
        long seed = new Random().nextLong();
        for (double p : new double[]{0.1, 0.5, 0.9}) {
            int th = AttentionDropout.threshold(p);
            double pe = AttentionDropout.effectiveP(p);
            int rows = 200, cols = 1000, kept = 0;
            boolean[] keep = new boolean[cols];
            for (int r = 0; r < rows; r++) {
                AttentionDropout.keepRow(seed, 3, 0, r % 7, 7, r, 0, cols, th, keep, null);
                for (boolean k : keep) if (k) kept++;
            }
            double n = rows * cols, rate = kept / n, sigma = Math.sqrt(pe * (1 - pe) / n);
            assertEquals(1 - pe, rate, 6 * sigma, "p " + p + ", seed " + seed);
        }
    }

    @Test
    void pIsRoundedToAMultipleOf1Over256AndScaledByItsKeepRate() {
        assertEquals(26, AttentionDropout.threshold(0.1));
        assertEquals(26 / 256.0, AttentionDropout.effectiveP(0.1));
        assertEquals(256.0 / 230.0, AttentionDropout.keepScale(0.1), 1e-15);
        assertEquals(1, AttentionDropout.threshold(1 / 512.0));
        assertEquals(255, AttentionDropout.threshold(0.996));
        assertEquals(256.0 / 230.0, new AttentionParams(1, 1, 1, 1, 1, 1, 1, 1, false, 0, 0.1, 0, 0).keepScale(), 1e-15);
        assertEquals(1.0, new AttentionParams(1, 1, 1, 1, 1, 1, 1, 1, false, 0, 0.0, 0, 0).keepScale());
    }

    @Test
    void thresholdRejectsOutOfRangeOrUnrepresentableP() {
        assertThrows(IllegalArgumentException.class, () -> AttentionDropout.threshold(1.0));
        assertThrows(IllegalArgumentException.class, () -> AttentionDropout.threshold(-0.1));
        IllegalArgumentException small = assertThrows(IllegalArgumentException.class, () -> AttentionDropout.threshold(0.001));
        assertTrue(small.getMessage().startsWith("dropoutP:") && small.getMessage().contains("0.001953125"), small.getMessage());
        IllegalArgumentException large = assertThrows(IllegalArgumentException.class, () -> AttentionDropout.threshold(0.999));
        assertTrue(large.getMessage().contains("would round to 1"), large.getMessage());
        assertThrows(IllegalArgumentException.class, () -> AttentionOptions.DEFAULT.withDropout(0.0005));
    }
}
