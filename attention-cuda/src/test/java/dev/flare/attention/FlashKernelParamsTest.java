package dev.flare.attention;

import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** The structs land at the byte offsets FlashAttentionCommon.cuh asserts (docs/attention-kernels.md). */
class FlashKernelParamsTest {
    private final long seed = new Random().nextLong();
    private final Random rnd = new Random(seed);

    private static ByteBuffer bytes(long[] words) {
        ByteBuffer b = ByteBuffer.allocate(words.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        b.asLongBuffer().put(words);
        return b;
    }

    private FlashKernelParams.Operand operand() {
        return new FlashKernelParams.Operand(rnd.nextLong(), rnd.nextInt(1 << 20), rnd.nextInt(1 << 20), rnd.nextInt(1 << 20));
    }

    @Test
    void forwardStructHasTheHeaderLayout() {
        AttentionParams p = new AttentionParams(3, 8, 2, 77, 130, 64, 64, 0.125, true, 130 - 77, 0.1, rnd.nextLong(), 0x1_0000_0005L);
        FlashKernelParams.Operand q = operand(), k = operand(), v = operand(), o = operand();
        ByteBuffer b = bytes(FlashKernelParams.forward(p, q, k, v, o, 0xABCDL));
        assertEquals(192, b.capacity());
        assertEquals(q.address(), b.getLong(0));
        assertEquals(o.address(), b.getLong(24));
        assertEquals(0xABCDL, b.getLong(32));
        assertEquals(k.headStride(), b.getLong(64 + 8));
        assertEquals(o.seqStride(), b.getLong(112 + 16));
        assertEquals(3, b.getInt(136));
        assertEquals(130, b.getInt(152));
        assertEquals(0.125f, b.getFloat(156));
        assertEquals(2, b.getInt(160), "bottom-right causal");
        assertEquals(1, b.getInt(164));
        assertEquals(p.seed(), b.getLong(168), "seed " + seed);
        assertEquals(5, b.getInt(176), "low 32 bits of the offset");
        assertEquals(AttentionDropout.threshold(0.1), b.getInt(180));
        assertEquals((float) (256.0 / 230.0), b.getFloat(184), "1 / (1 - 26/256): p = 0.1 rounded to the 8-bit mask");
    }

    @Test
    void backwardStructHasTheHeaderLayout() {
        AttentionParams p = new AttentionParams(2, 4, 4, 65, 65, 128, 128, 0.5, true, 0, 0, 0, 0);
        FlashKernelParams.Operand[] ops = new FlashKernelParams.Operand[8];
        for (int i = 0; i < ops.length; i++) ops[i] = operand();
        ByteBuffer b = bytes(FlashKernelParams.backward(p, true, ops[0], ops[1], ops[2], ops[3], ops[4], 11, 22, 33,
                ops[5], ops[6], ops[7]));
        assertEquals(336, b.capacity());
        assertEquals(ops[4].address(), b.getLong(32), "dout");
        assertEquals(22, b.getLong(48), "delta");
        assertEquals(ops[7].address(), b.getLong(80), "dv");
        for (int i = 0; i < 8; i++) {
            assertEquals(ops[i].batchStride(), b.getLong(88 + 24 * i), "batch stride " + i);
            assertEquals(ops[i].seqStride(), b.getLong(88 + 24 * i + 16), "seq stride " + i);
        }
        assertEquals(65, b.getInt(296));
        assertEquals(0.5f, b.getFloat(300));
        assertEquals(1, b.getInt(304), "top-left causal");
        assertEquals(0, b.getInt(308), "no dropout");
        assertEquals(1f, b.getFloat(328));
        assertEquals(1, b.getInt(332), "deterministic");
    }

    @Test
    void aCausalShiftOtherThanTheTwoAlignmentsIsRejected() {
        AttentionParams p = new AttentionParams(1, 1, 1, 4, 9, 32, 32, 1, true, 3, 0, 0, 0);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> FlashKernelParams.causalMode(p));
        assertTrue(e.getMessage().contains("got 3"), e.getMessage());
    }
}
