package dev.flare.training;

import dev.flare.models.gpt.GPT;
import dev.flare.models.gpt.GPTConfig;
import dev.flare.tensor.random.Generator;
import dev.flare.training.data.RandomWindows;
import dev.flare.training.data.Tokens;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** A tiny GPT's loss falls on patterned data; metrics land in the CSV; a diverging run stops naming the step. */
class TrainerTest {
    @TempDir Path dir;
    private final long seed = new Random().nextLong();

    private static Tokens pattern(int n, int vocab) {
        int[] t = new int[n];
        for (int i = 0; i < n; i++) t[i] = (i * 7 + (i / 13)) % vocab;     // learnable, not constant
        return Tokens.of(t, vocab);
    }

    @Test
    void aTinyGptLearnsAndWritesMetrics() throws Exception {
        GPTConfig model = GPTConfig.preset("nano").withVocabSize(16).withBlockSize(32);
        TrainConfig cfg = TrainConfig.small(model, dir).withMaxSteps(60).withBatch(8, 2).withEval(30, 2).withLr(1e-2, 1e-3);
        GPT gpt = new GPT(model, new Generator(seed));
        Tokens data = pattern(4000, 16);
        Trainer t = new Trainer(cfg, gpt, new RandomWindows(data, 8, 32, seed), new RandomWindows(data, 8, 32, seed + 1));
        double[] first = {Double.NaN};
        StepMetrics last = t.run(m -> { if (m.step() == 1) first[0] = m.loss(); });
        assertEquals(60, t.step());
        assertTrue(last.loss() < 0.5 * first[0], "loss " + first[0] + " -> " + last.loss() + " (seed " + seed + ")");
        assertFalse(Double.isNaN(last.valLoss()));
        assertEquals(61, Files.readAllLines(dir.resolve("metrics.csv")).size());
    }

    @Test
    void aDivergingRunStopsAtTheStepThatWentNonFinite() {
        GPTConfig model = GPTConfig.preset("nano").withVocabSize(16).withBlockSize(16);
        TrainConfig cfg = TrainConfig.small(model, dir).withMaxSteps(5).withBatch(2, 1).withLr(1e30, 1e29);
        GPT gpt = new GPT(model, new Generator(seed));
        Tokens data = pattern(500, 16);
        Trainer t = new Trainer(cfg, gpt, new RandomWindows(data, 2, 16, seed), new RandomWindows(data, 2, 16, seed));
        NonFiniteLossException e = assertThrows(NonFiniteLossException.class, () -> t.run(null));
        assertTrue(e.getMessage().startsWith("step "), e.getMessage());
    }
}
