package dev.flare.training.data;

import java.io.IOException;
import java.io.OutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A flat file of token ids, little-endian, as nanoGPT's {@code train.bin}/{@code val.bin}: uint16 when the
 * vocabulary fits (at most 65536 tokens), else uint32. The file is memory-mapped; the element width is given
 * by the vocabulary size, so a nanoGPT file opens with {@code open(path, 50257)}.
 */
public final class TokenFile implements Tokens, AutoCloseable {
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Arena arena;
    private final MemorySegment data;
    private final int bytesPerToken;
    private final int vocabSize;
    private final long length;

    private TokenFile(Arena arena, MemorySegment data, int bytesPerToken, int vocabSize) {
        this.arena = arena;
        this.data = data;
        this.bytesPerToken = bytesPerToken;
        this.vocabSize = vocabSize;
        this.length = data.byteSize() / bytesPerToken;
    }

    /** Bytes per token for a vocabulary: 2 (uint16) up to 65536 tokens, else 4 (uint32). */
    public static int bytesPerToken(int vocabSize) {
        if (vocabSize <= 0) throw new IllegalArgumentException("vocabSize: expected > 0, got " + vocabSize);
        return vocabSize <= 65536 ? 2 : 4;
    }

    public static TokenFile open(Path path, int vocabSize) throws IOException {
        int width = bytesPerToken(vocabSize);
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size % width != 0)
                throw new IllegalArgumentException(path + ": " + size + " bytes is not a whole number of " + width
                        + "-byte tokens (vocabulary " + vocabSize + "); the file is truncated or of another vocabulary");
            Arena arena = Arena.ofShared();
            return new TokenFile(arena, ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena), width, vocabSize);
        }
    }

    /** Writes tokens (each checked against the vocabulary) in the width the vocabulary needs. */
    public static void write(Path path, int[] tokens, int vocabSize) throws IOException {
        int width = bytesPerToken(vocabSize);
        ByteBuffer buf = ByteBuffer.allocate(tokens.length * width).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < tokens.length; i++) {
            int t = tokens[i];
            if (t < 0 || t >= vocabSize)
                throw new IllegalArgumentException("tokens: token " + t + " at position " + i + " is outside the vocabulary [0, " + vocabSize + ")");
            if (width == 2) buf.putShort((short) t);
            else buf.putInt(t);
        }
        try (OutputStream out = Files.newOutputStream(path)) {
            out.write(buf.array());
        }
    }

    @Override
    public long length() { return length; }

    @Override
    public int vocabSize() { return vocabSize; }

    /** Token at index i, checked against the vocabulary (a corrupt file is reported, not passed on). */
    public int get(long i) {
        if (i < 0 || i >= length) throw new IndexOutOfBoundsException("index: " + i + " is outside [0, " + length + ")");
        int t = bytesPerToken == 2 ? Short.toUnsignedInt(data.get(U16, i * 2)) : data.get(U32, i * 4);
        if (t < 0 || t >= vocabSize)
            throw new IllegalStateException("token file: token " + Integer.toUnsignedString(t) + " at index " + i
                    + " is outside the vocabulary [0, " + vocabSize + ")");
        return t;
    }

    @Override
    public void read(long from, long[] dst, int dstOff, int n) {
        for (int k = 0; k < n; k++) dst[dstOff + k] = get(from + k);
    }

    @Override
    public void close() { arena.close(); }
}
