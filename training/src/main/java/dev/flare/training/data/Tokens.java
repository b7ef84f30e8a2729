package dev.flare.training.data;

/** A sequence of token ids: a memory-mapped {@link TokenFile} or an array in memory. */
public interface Tokens {
    long length();

    int vocabSize();

    /** Copies tokens [from, from + n) into dst[dstOff, dstOff + n). */
    void read(long from, long[] dst, int dstOff, int n);

    /** Tokens held in an int array (for text tokenized at start-up). */
    static Tokens of(int[] ids, int vocabSize) {
        for (int i = 0; i < ids.length; i++)
            if (ids[i] < 0 || ids[i] >= vocabSize)
                throw new IllegalArgumentException("ids: token " + ids[i] + " at position " + i + " is outside the vocabulary [0, " + vocabSize + ")");
        return new Tokens() {
            public long length() { return ids.length; }
            public int vocabSize() { return vocabSize; }
            public void read(long from, long[] dst, int dstOff, int n) {
                for (int k = 0; k < n; k++) dst[dstOff + k] = ids[(int) from + k];
            }
        };
    }
}
