package dev.flare.attention;

import dev.flare.tensor.Tensor;

/**
 * Where FLASH_CPU finds row s of head h of batch b of a (B, H, S, W) operand in its array: at
 * {@code offset + b * batch + h * head + s * seq}, the W values of a row adjacent. A strided view of a tensor's own
 * storage (q, k, v as views of a packed qkv, dO as a transposed gradient) or a contiguous copy.
 */
record HeadRows(int offset, int batch, int head, int seq) {
    /** The first element of row s of head h of batch b. */
    int at(int b, int h, int s) {
        return offset + b * batch + h * head + s * seq;
    }

    /** A contiguous (B, H, S, W) array. */
    static HeadRows contiguous(int heads, int seqLen, int width) {
        return new HeadRows(0, heads * seqLen * width, seqLen * width, width);
    }

    /** The layout of operand `name` (q, k, v or dO): a 4-D view whose last dimension is unit-stride (or of size 1). */
    static HeadRows of(String name, Tensor t) {
        if (t.dim() != 4 || (t.size(3) > 1 && t.stride(3) != 1))
            throw new IllegalArgumentException(name + ": expected a 4-D view with unit last stride, got shape "
                    + java.util.Arrays.toString(t.shape()) + " strides " + java.util.Arrays.toString(t.strides()));
        return new HeadRows(Math.toIntExact(t.offset()), Math.toIntExact(t.stride(0)), Math.toIntExact(t.stride(1)),
                Math.toIntExact(t.stride(2)));
    }
}
