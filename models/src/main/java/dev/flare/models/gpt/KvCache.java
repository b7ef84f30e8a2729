package dev.flare.models.gpt;

import dev.flare.tensor.DType;
import dev.flare.tensor.Device;
import dev.flare.tensor.MemoryScope;
import dev.flare.tensor.Tensor;

/**
 * Keys and values of past positions for each layer, preallocated as (B, H, maxLength, D) so decoding appends
 * by copying one step into place and attends over a narrowed view (no re-concatenation).
 */
public final class KvCache {
    private final Tensor[] keys, values;
    private final int maxLength;
    private int length;

    public KvCache(GPTConfig cfg, int batch, int maxLength, DType dtype, Device device) {
        if (maxLength <= 0 || maxLength > cfg.blockSize())
            throw new IllegalArgumentException("maxLength: expected in [1, blockSize=" + cfg.blockSize() + "], got " + maxLength);
        this.maxLength = maxLength;
        keys = new Tensor[cfg.nLayer()];
        values = new Tensor[cfg.nLayer()];
        for (int l = 0; l < cfg.nLayer(); l++) {
            keys[l] = MemoryScope.detach(Tensor.zeros(dtype, device, batch, cfg.nHead(), maxLength, cfg.headDim()));
            values[l] = MemoryScope.detach(Tensor.zeros(dtype, device, batch, cfg.nHead(), maxLength, cfg.headDim()));
        }
    }

    /** Positions stored so far. */
    public int length() { return length; }

    public int maxLength() { return maxLength; }

    /** Stores layer l's new keys/values (B, H, t, D) after the current length; returns all of them so far. */
    Tensor[] append(int layer, Tensor k, Tensor v) {
        int t = k.size(2);
        if (length + t > maxLength)
            throw new IllegalStateException("KvCache: " + (length + t) + " positions exceed its capacity of " + maxLength);
        keys[layer].narrow(2, length, t).copyFrom(k);
        values[layer].narrow(2, length, t).copyFrom(v);
        return new Tensor[]{keys[layer].narrow(2, 0, length + t), values[layer].narrow(2, 0, length + t)};
    }

    /** Called by the model once every layer has appended a step of t positions. */
    void advance(int t) { length += t; }

    /** Releases the cache's memory. */
    public void release() {
        for (Tensor t : keys) t.release();
        for (Tensor t : values) t.release();
    }
}
