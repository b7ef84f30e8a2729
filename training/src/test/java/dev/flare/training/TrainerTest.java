package dev.flare.training;

import dev.flare.models.gpt.GPTConfig;
import dev.flare.training.checkpoint.CheckpointStore;
import dev.flare.training.data.Tokens;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/**
 * A tiny GPT's loss falls on patterned data; metrics and the plot land in the output folder; a diverging run stops
 * naming the step; checkpoints keep the last K plus the best and never follow a non-finite step.
 */
class TrainerTest {
    @TempDir Path dir;
    private final long seed = new Random().nextLong();

    @Test
    void aTinyGptLearnsAndWritesMetricsAndThePlot() throws Exception {
        GPTConfig model = GPTConfig.preset("nano").withVocabSize(16).withBlockSize(32);
        TrainConfig cfg = TrainConfig.small(model, dir).withMaxSteps(60).withBatch(8, 2).withEval(30, 2).withLr(1e-2, 1e-3)
                .toBuilder().seed(seed).build();
        Tokens data = TinyRuns.pattern(4000);
        try (Trainer t = Trainer.create(cfg, data, data)) {
            double[] first = {Double.NaN};
            StepMetrics last = t.run(m -> { if (m.step() == 1) first[0] = m.loss(); });
            assertEquals(60, t.step());
            assertTrue(last.loss() < 0.5 * first[0], "loss " + first[0] + " -> " + last.loss() + " (seed " + seed + ")");
            assertFalse(Double.isNaN(last.valLoss()));
            assertTrue(Double.isNaN(last.mfu()), "no MFU on the CPU without a configured peak");
        }
        assertEquals(61, Files.readAllLines(dir.resolve("metrics.csv")).size());
        assertTrue(Files.size(dir.resolve("loss.png")) > 1000);
        assertEquals(List.of(60L), new CheckpointStore(dir, 2).steps(), "the end of the run is checkpointed");
    }

    @Test
    void aDivergingRunStopsAtTheStepThatWentNonFiniteWithoutACheckpoint() throws Exception {
        TrainConfig cfg = TinyRuns.config(TinyRuns.model(0), dir, 5, seed).withLr(1e30, 1e29).withCheckpoints(1, 5);
        try (Trainer t = Trainer.create(cfg, TinyRuns.pattern(500), TinyRuns.pattern(500))) {
            NonFiniteLossException e = assertThrows(NonFiniteLossException.class, () -> t.run(null));
            assertTrue(e.getMessage().startsWith("step "), e.getMessage());
            List<Long> saved = new CheckpointStore(dir, 5).steps();
            assertFalse(saved.contains(t.step() + 1), "the non-finite step " + (t.step() + 1) + " was saved: " + saved + " (seed " + seed + ")");
        }
    }

    @Test
    void skippedNonFiniteStepsAreNeverCheckpointed() throws Exception {
        TrainConfig cfg = TinyRuns.config(TinyRuns.model(0), dir, 4, seed).withLr(1e30, 1e29).withCheckpoints(1, 5)
                .toBuilder().skipNonFinite(true).build();
        try (Trainer t = Trainer.create(cfg, TinyRuns.pattern(500), TinyRuns.pattern(500))) {
            List<StepMetrics> steps = new java.util.ArrayList<>();
            t.run(steps::add);
            List<Long> finite = steps.stream().filter(StepMetrics::finite).map(StepMetrics::step).toList();
            assertTrue(t.skippedSteps() > 0, "lr 1e30 should make some step non-finite (seed " + seed + ")");
            assertEquals(finite, new CheckpointStore(dir, 5).steps(), "seed " + seed);
        }
    }

    @Test
    void keepsTheLastKCheckpointsAndTheBestByValidationLoss() throws Exception {
        TrainConfig cfg = TinyRuns.config(TinyRuns.model(0), dir, 6, seed).withEval(1, 1).withCheckpoints(1, 2);
        double[] val = new double[7];
        try (Trainer t = Trainer.create(cfg, TinyRuns.pattern(2000), TinyRuns.pattern(2000))) {
            t.run(m -> val[(int) m.step()] = m.valLoss());
        }
        CheckpointStore store = new CheckpointStore(dir, 2);
        long best = 1;
        for (int s = 2; s <= 6; s++) if (val[s] < val[(int) best]) best = s;
        assertEquals(best, store.best().orElseThrow().step(), "seed " + seed);
        List<Long> want = new java.util.ArrayList<>(List.of(5L, 6L));
        if (best < 5) want.addFirst(best);
        assertEquals(want, store.steps(), "seed " + seed);
    }

    @Test
    void aFreshRunRefusesAFolderThatHoldsCheckpoints() throws Exception {
        TrainConfig cfg = TinyRuns.config(TinyRuns.model(0), dir, 2, seed);
        try (Trainer t = Trainer.create(cfg, TinyRuns.pattern(500), TinyRuns.pattern(500))) {
            t.run(null);
        }
        try (Trainer again = Trainer.create(cfg, TinyRuns.pattern(500), TinyRuns.pattern(500))) {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> again.run(null));
            assertTrue(e.getMessage().contains("already holds checkpoints [2]"), e.getMessage());
        }
    }
}
