package dev.flare.training.data;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** Token files in nanoGPT's layout, their validation, and reproducible random windows. */
class TokenDataTest {
    @TempDir Path dir;
    private final long seed = new Random().nextLong();

    private int[] randomTokens(int n, int vocab) {
        Random r = new Random(seed);
        int[] t = new int[n];
        for (int i = 0; i < n; i++) t[i] = r.nextInt(vocab);
        return t;
    }

    @Test
    void uint16AndUint32FilesRoundTripAndUseNanoGptsLayout() throws Exception {
        for (int vocab : new int[]{65, 50257, 65536, 100_000}) {
            int[] t = randomTokens(1000, vocab);
            Path f = dir.resolve("v" + vocab + ".bin");
            TokenFile.write(f, t, vocab);
            assertEquals(1000L * (vocab <= 65536 ? 2 : 4), Files.size(f));
            try (TokenFile tf = TokenFile.open(f, vocab)) {
                assertEquals(1000, tf.length());
                for (int i = 0; i < t.length; i++) assertEquals(t[i], tf.get(i), "seed " + seed);
            }
        }
        // A file written as numpy's uint16 array (little-endian) reads back the same.
        ByteBuffer b = ByteBuffer.allocate(6).order(ByteOrder.LITTLE_ENDIAN).putShort((short) 50256).putShort((short) 7).putShort((short) 0);
        Path np = dir.resolve("np.bin");
        Files.write(np, b.array());
        try (TokenFile tf = TokenFile.open(np, 50257)) {
            assertEquals(50256, tf.get(0));
            assertEquals(7, tf.get(1));
        }
    }

    @Test
    void truncatedAndOutOfVocabularyFilesAreRejected() throws Exception {
        Path odd = dir.resolve("odd.bin");
        Files.write(odd, new byte[5]);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TokenFile.open(odd, 50257));
        assertTrue(e.getMessage().contains("not a whole number of 2-byte tokens"), e.getMessage());
        Path big = dir.resolve("big.bin");
        Files.write(big, new byte[]{(byte) 0xff, (byte) 0xff});
        try (TokenFile tf = TokenFile.open(big, 65)) {
            IllegalStateException s = assertThrows(IllegalStateException.class, () -> tf.get(0));
            assertTrue(s.getMessage().contains("token 65535 at index 0"), s.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> TokenFile.write(dir.resolve("x"), new int[]{3, 65}, 65));
    }

    @Test
    void windowsAreShiftedByOneAndReproducibleFromAPosition() throws Exception {
        int[] t = new int[500];
        for (int i = 0; i < t.length; i++) t[i] = i % 300;
        Path f = dir.resolve("seq.bin");
        TokenFile.write(f, t, 300);
        try (TokenFile tf = TokenFile.open(f, 300)) {
            RandomWindows w = new RandomWindows(tf, 4, 16, seed);
            RandomWindows.Batch b0 = w.next(), b1 = w.next();
            long[] x = b0.inputs().toLongArray(), y = b0.targets().toLongArray();
            for (int i = 0; i < x.length; i++) assertEquals((x[i] + 1) % 300, y[i] % 300);
            RandomWindows again = new RandomWindows(tf, 4, 16, seed);
            again.seek(1);
            assertArrayEquals(b1.inputs().toLongArray(), again.next().inputs().toLongArray(), "seed " + seed);
            assertFalse(Arrays.equals(b0.inputs().toLongArray(), b1.inputs().toLongArray()));
        }
    }
}
