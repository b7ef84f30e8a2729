package dev.flare.examples.library;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** SampleFromCheckpoint reloads a run exactly: it reproduces the trained model's own sample for the same seed. */
class SampleFromCheckpointTest {

    @Test
    void reproducesTheInMemorySampleFromTheSavedRun(@TempDir Path dir) throws Exception {
        TrainTinyGpt.Result trained = TrainTinyGpt.train(TrainTinyGpt.TEXT, 20, dir.resolve("run"), 20);
        Path checkpoint = dir.resolve("run/step-00000020");
        String fromCheckpoint = SampleFromCheckpoint.sample(checkpoint, TrainTinyGpt.PROMPT, 60, TrainTinyGpt.SAMPLE_SEED);
        assertEquals(trained.sample(), fromCheckpoint, "same weights, tokenizer and seed give the same text");
        // the run folder means its newest checkpoint
        assertEquals(fromCheckpoint, SampleFromCheckpoint.sample(dir.resolve("run"), TrainTinyGpt.PROMPT, 60, TrainTinyGpt.SAMPLE_SEED));
    }

    @Test
    void aCheckpointWithoutTokenizerIsAnError(@TempDir Path dir) throws Exception {
        TrainTinyGpt.train(TrainTinyGpt.TEXT, 2, dir.resolve("run"), 20);
        Files.delete(dir.resolve("run/tokenizer.json"));
        var e = assertThrows(IllegalArgumentException.class,
                () -> SampleFromCheckpoint.sample(dir.resolve("run/step-00000002"), "the ", 5, 1));
        assertTrue(e.getMessage().contains("no tokenizer.json"), e.getMessage());
    }
}
