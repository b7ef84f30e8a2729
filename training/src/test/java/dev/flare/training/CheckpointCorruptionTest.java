package dev.flare.training;

import dev.flare.training.checkpoint.CheckpointFormatException;
import dev.flare.training.checkpoint.TrainerCheckpoint;
import dev.flare.training.data.Tokens;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** A truncated, corrupt or incomplete checkpoint is refused with an error naming the folder and the file. */
class CheckpointCorruptionTest {
    @TempDir Path dir;
    private final long seed = new Random().nextLong();
    private final Random rnd = new Random(seed);
    private final Tokens data = TinyRuns.pattern(800);
    private Path ck;

    @BeforeEach
    void saveOne() throws Exception {
        try (Trainer t = Trainer.create(TinyRuns.config(TinyRuns.model(0.1), dir, 2, seed), data, data)) {
            t.run(null);
        }
        ck = dir.resolve("step-00000002");
    }

    private String refusal() {
        CheckpointFormatException e = assertThrows(CheckpointFormatException.class, () -> Trainer.resume(ck, data, data));
        assertTrue(e.getMessage().startsWith("checkpoint " + ck + ": "), e.getMessage());
        return e.getMessage();
    }

    @Test
    void aTruncatedWeightsFileIsNamed() throws Exception {
        Path f = ck.resolve(TrainerCheckpoint.MODEL);
        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
            raf.setLength(raf.length() - 1 - rnd.nextInt(100));
        }
        String m = refusal();
        assertTrue(m.contains("model.safetensors has ") && m.contains("(truncated)"), m);
    }

    @Test
    void aFlippedByteIsCaughtByTheChecksum() throws Exception {
        Path f = ck.resolve(TrainerCheckpoint.OPTIMIZER);
        byte[] b = Files.readAllBytes(f);
        int at = b.length - 1 - rnd.nextInt(b.length / 2);         // inside the tensor data, which no parser checks
        b[at] ^= (byte) (1 << rnd.nextInt(8));
        Files.write(f, b);
        String m = refusal();
        assertTrue(m.contains("optimizer.safetensors is corrupt: CRC-32C"), m + " (seed " + seed + ")");
    }

    /**
     * Loading for inference reads and checks trainer.json and the weights only: a damaged optimizer file does not stop
     * sampling (resuming still refuses it, above), a damaged weights file does.
     */
    @Test
    void inferenceNeedsOnlyTheWeightsFile() throws Exception {
        Files.write(ck.resolve(TrainerCheckpoint.OPTIMIZER), new byte[]{1, 2, 3});
        TrainerCheckpoint.Weights w = TrainerCheckpoint.readWeights(ck);
        assertEquals(2, w.state().step());
        assertEquals(TrainerCheckpoint.read(saveAnother()).weights().keySet(), w.weights().keySet());
        Path f = ck.resolve(TrainerCheckpoint.MODEL);
        byte[] b = Files.readAllBytes(f);
        b[b.length - 1 - rnd.nextInt(b.length / 2)] ^= 1;
        Files.write(f, b);
        CheckpointFormatException e = assertThrows(CheckpointFormatException.class, () -> TrainerCheckpoint.readWeights(ck));
        assertTrue(e.getMessage().contains("model.safetensors is corrupt: CRC-32C"), e.getMessage() + " (seed " + seed + ")");
    }

    private Path saveAnother() throws Exception {
        Path other = dir.resolve("other");
        try (Trainer t = Trainer.create(TinyRuns.config(TinyRuns.model(0.1), other, 2, seed), data, data)) {
            t.run(null);
        }
        return other.resolve("step-00000002");
    }

    @Test
    void aTruncatedStateFileIsNotParsedAsDefaults() throws Exception {
        Path f = ck.resolve(TrainerCheckpoint.STATE);
        String s = Files.readString(f);
        Files.writeString(f, s.substring(0, s.length() / 2));
        assertTrue(refusal().contains("trainer.json is not a valid trainer state"));
        Files.writeString(f, s.replace("\"skippedSteps\"", "\"skipped\""));
        assertTrue(refusal().contains("trainer.json is not a valid trainer state"));
    }

    @Test
    void missingFilesAndFoldersAreNamed() throws Exception {
        Files.delete(ck.resolve(TrainerCheckpoint.OPTIMIZER));
        assertTrue(refusal().contains("optimizer.safetensors is missing"));
        Files.delete(ck.resolve(TrainerCheckpoint.STATE));
        assertTrue(refusal().contains("trainer.json is missing"));
        ck = dir.resolve("step-99999999");
        assertTrue(refusal().contains("not a folder"));
    }
}
