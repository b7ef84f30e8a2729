package dev.flare.attention;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The by-value parameter structs of the CUDA flash kernels ({@code FlashFwdParams}, 192 bytes, and
 * {@code FlashBwdParams}, 336 bytes, in {@code FlashAttentionCommon.cuh}), written byte by byte at the offsets
 * the header {@code static_assert}s and returned as the {@code long[]} that {@code CudaModule.launch} passes as
 * one argument. Strides are in elements, in (batch, head, seq) order.
 */
final class FlashKernelParams {
    static final int FWD_BYTES = 192, BWD_BYTES = 336;

    private FlashKernelParams() {}

    /** A device tensor as the kernels see it: address of element 0 and its (batch, head, seq) strides. */
    record Operand(long address, long batchStride, long headStride, long seqStride) {}

    /** Kernel causal mode: 0 none, 1 top-left (j &lt;= i), 2 bottom-right (j &lt;= i + Sk - Sq). */
    static int causalMode(AttentionParams p) {
        if (!p.causal()) return 0;
        if (p.shift() == 0) return 1;
        if (p.shift() == p.sk() - p.sq()) return 2;
        throw new IllegalArgumentException("causal shift: expected 0 or Sk - Sq = " + (p.sk() - p.sq()) + ", got " + p.shift());
    }

    static long[] forward(AttentionParams p, Operand q, Operand k, Operand v, Operand o, long lseAddress) {
        ByteBuffer b = ByteBuffer.allocate(FWD_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(0, q.address()).putLong(8, k.address()).putLong(16, v.address()).putLong(24, o.address())
                .putLong(32, lseAddress);
        strides(b, 40, q, k, v, o);
        settings(b, 136, p);
        b.putInt(188, 0);
        return longs(b);
    }

    /** dqAccumAddress is ignored (may be 0) when deterministic. */
    static long[] backward(AttentionParams p, boolean deterministic, Operand q, Operand k, Operand v, Operand o,
                           Operand dOut, long lseAddress, long deltaAddress, long dqAccumAddress,
                           Operand dq, Operand dk, Operand dv) {
        ByteBuffer b = ByteBuffer.allocate(BWD_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        long[] pointers = {q.address(), k.address(), v.address(), o.address(), dOut.address(), lseAddress, deltaAddress,
                dqAccumAddress, dq.address(), dk.address(), dv.address()};
        for (int i = 0; i < pointers.length; i++) b.putLong(8 * i, pointers[i]);
        strides(b, 88, q, k, v, o, dOut, dq, dk, dv);
        settings(b, 280, p);
        b.putInt(332, deterministic ? 1 : 0);
        return longs(b);
    }

    private static void strides(ByteBuffer b, int at, Operand... ops) {
        for (Operand t : ops) {
            b.putLong(at, t.batchStride()).putLong(at + 8, t.headStride()).putLong(at + 16, t.seqStride());
            at += 24;
        }
    }

    /** B, Hq, Hkv, Sq, Sk, scale, causal, dropout, seed, offset_lo, drop_threshold, keep_scale from {@code at}. */
    private static void settings(ByteBuffer b, int at, AttentionParams p) {
        b.putInt(at, p.b()).putInt(at + 4, p.hq()).putInt(at + 8, p.hkv()).putInt(at + 12, p.sq()).putInt(at + 16, p.sk());
        b.putFloat(at + 20, (float) p.scale());
        b.putInt(at + 24, causalMode(p));
        b.putInt(at + 28, p.dropout() ? 1 : 0);
        b.putLong(at + 32, p.dropout() ? p.seed() : 0);
        b.putInt(at + 40, p.dropout() ? (int) p.offset() : 0);
        b.putInt(at + 44, p.dropout() ? p.threshold() : 0);
        b.putFloat(at + 48, p.dropout() ? (float) p.keepScale() : 1f);
    }

    private static long[] longs(ByteBuffer b) {
        long[] out = new long[b.capacity() / 8];
        b.asLongBuffer().get(out);
        return out;
    }
}
