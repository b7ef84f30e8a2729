package dev.flare.training.data;

import dev.flare.tensor.Tensor;
import dev.flare.tensor.random.Philox4x32;

/**
 * Batches of random windows from a token sequence, as nanoGPT's get_batch: inputs x = tokens[i, i + T) and targets
 * y = tokens[i + 1, i + T + 1) for B random starts i. Starts come from Philox keyed by the seed and counted by
 * (batch number, row), so batch k is the same whenever it is drawn: a resumed run continues exactly.
 */
public final class RandomWindows {
    private final Tokens tokens;
    private final int batch, context;
    private final long seed;
    private long next;                    // the number of the next batch

    public RandomWindows(Tokens tokens, int batch, int context, long seed) {
        if (batch <= 0) throw new IllegalArgumentException("batch: expected > 0, got " + batch);
        if (context <= 0) throw new IllegalArgumentException("context: expected > 0, got " + context);
        if (tokens.length() < context + 1L)
            throw new IllegalArgumentException("tokens: need at least context + 1 = " + (context + 1) + " tokens, the file has " + tokens.length());
        this.tokens = tokens;
        this.batch = batch;
        this.context = context;
        this.seed = seed;
    }

    public long seed() { return seed; }

    /** Rows per batch (B). */
    public int batchSize() { return batch; }

    /** Tokens per row (T). */
    public int context() { return context; }

    /** The position in the stream (batches drawn so far), for checkpoints. */
    public long position() { return next; }

    public void seek(long position) {
        if (position < 0) throw new IllegalArgumentException("position: expected >= 0, got " + position);
        next = position;
    }

    /** Inputs and targets, each I64 (B, T) on the CPU. */
    public record Batch(Tensor inputs, Tensor targets) {
        /** Both tensors on a device (the same batch when it is already there). */
        public Batch to(dev.flare.tensor.Device device) {
            return new Batch(inputs.to(device), targets.to(device));
        }

        /** Frees both tensors' memory now (for batches made outside any MemoryScope, e.g. by a prefetch thread). */
        public void release() {
            inputs.release();
            targets.release();
        }
    }

    public Batch next() {
        long k = next++;
        long starts = tokens.length() - context;          // valid starts: [0, starts)
        long[] x = new long[batch * context], y = new long[batch * context];
        int[] out = new int[4];
        long[] row = new long[context + 1];
        for (int b = 0; b < batch; b++) {
            Philox4x32.block((int) k, (int) (k >>> 32), b, 0x57A27, (int) seed, (int) (seed >>> 32), out);
            long r = ((Integer.toUnsignedLong(out[0]) << 32) | Integer.toUnsignedLong(out[1])) >>> 1;
            long start = r % starts;
            tokens.read(start, row, 0, context + 1);
            System.arraycopy(row, 0, x, b * context, context);
            System.arraycopy(row, 1, y, b * context, context);
        }
        return new Batch(Tensor.fromArray(x, batch, context), Tensor.fromArray(y, batch, context));
    }
}
