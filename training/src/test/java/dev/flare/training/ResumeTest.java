package dev.flare.training;

import dev.flare.models.gpt.GPTConfig;
import dev.flare.tensor.Tensor;
import dev.flare.training.checkpoint.TrainerCheckpoint;
import dev.flare.training.data.Tokens;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/**
 * N steps in one go equal N/2 steps, a checkpoint, a trainer rebuilt from it (fresh model, optimizer, data windows
 * and dropout generator) and N/2 more steps: bit for bit, per step, with dropout on, gradient accumulation, the
 * validation stream, and the first half prefetching while the reference does not.
 */
class ResumeTest {
    @TempDir Path dir;
    private final long seed = new Random().nextLong();
    private static final int N = 6;
    private final Tokens train = TinyRuns.pattern(3000), val = TinyRuns.pattern(1200);

    private TrainConfig config(Precision precision, String out) {
        GPTConfig model = TinyRuns.model(0.1);       // dropout > 0: the generator's position matters
        return TinyRuns.config(model, dir.resolve(out), N, seed).toBuilder().gradAccum(2).precision(precision)
                .checkpointInterval(N / 2).build();
    }

    private static Map<String, float[]> weights(Trainer t) {
        Map<String, float[]> out = new LinkedHashMap<>();
        t.masterWeights().named().forEach((k, v) -> out.put(k, v.toFloatArray()));
        return out;
    }

    @ParameterizedTest
    @EnumSource(Precision.class)
    void aResumedRunContinuesBitForBit(Precision precision) throws Exception {
        List<StepMetrics> whole = new ArrayList<>(), split = new ArrayList<>();
        Map<String, float[]> wantWeights;
        try (Trainer t = Trainer.create(config(precision, "whole"), train, val)) {
            t.run(whole::add);
            wantWeights = weights(t);
        }
        TrainConfig first = config(precision, "split").toBuilder().prefetch(true).build();
        try (Trainer t = Trainer.create(first, train, val)) {
            t.runUntil(N / 2, split::add);
        }
        try (Trainer t = Trainer.resume(dir.resolve("split/step-00000003"), train, val)) {
            assertEquals(N / 2, t.step());
            t.run(split::add);
            assertEquals(wantWeights.keySet(), weights(t).keySet());
            weights(t).forEach((k, w) -> assertArrayEquals(wantWeights.get(k), w, k + ", seed " + seed));
        }
        assertEquals(N, split.size());
        for (int i = 0; i < N; i++) {
            StepMetrics a = whole.get(i), b = split.get(i);
            String where = precision + " step " + a.step() + ", seed " + seed;
            assertEquals(a.step(), b.step(), where);
            assertEquals(Double.doubleToLongBits(a.loss()), Double.doubleToLongBits(b.loss()), where + ": loss " + a.loss() + " vs " + b.loss());
            assertEquals(Double.doubleToLongBits(a.gradNorm()), Double.doubleToLongBits(b.gradNorm()), where + ": grad norm");
            assertEquals(Double.doubleToLongBits(a.valLoss()), Double.doubleToLongBits(b.valLoss()), where + ": val loss");
            assertEquals(a.lr(), b.lr(), where);
        }
        assertEquals(N + 1, Files.readAllLines(dir.resolve("split/metrics.csv")).size(), "one row per step after resuming");
    }

    /** The control: the same resume with the dropout generator moved on gives different losses, so the test above can fail. */
    @Test
    void theDropoutGeneratorPositionMatters() throws Exception {
        List<StepMetrics> exact = new ArrayList<>(), shifted = new ArrayList<>();
        try (Trainer t = Trainer.create(config(Precision.FP32, "a"), train, val)) {
            t.runUntil(N / 2, null);
        }
        Path ck = dir.resolve("a/step-00000003");
        try (Trainer t = Trainer.resume(ck, train, val, c -> c.withOutDir(dir.resolve("b")))) {
            t.run(exact::add);
        }
        Path json = ck.resolve(TrainerCheckpoint.STATE);
        String s = Files.readString(json);
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("\"dropoutOffset\" : (\\d+)").matcher(s);
        assertTrue(m.find(), s);
        Files.writeString(json, m.replaceFirst("\"dropoutOffset\" : " + (Long.parseLong(m.group(1)) + 4096)));
        try (Trainer t = Trainer.resume(ck, train, val, c -> c.withOutDir(dir.resolve("c")))) {
            t.run(shifted::add);
        }
        assertNotEquals(exact.getFirst().loss(), shifted.getFirst().loss(), "seed " + seed);
    }

    @Test
    void resumingMayExtendTheRunButNotChangeTheModel() throws Exception {
        try (Trainer t = Trainer.create(config(Precision.FP32, "a"), train, val)) {
            t.runUntil(2, null);
        }
        Path ck = dir.resolve("a/step-00000002");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Trainer.resume(ck, train, val, c -> c.toBuilder().model(c.model().withDropout(0.2)).build()));
        assertTrue(e.getMessage().contains("the model cannot change"), e.getMessage());
        try (Trainer t = Trainer.resume(ck, train, val, c -> c.toBuilder().maxSteps(N + 2).build())) {
            t.run(null);
            assertEquals(N + 2, t.step());
            Tensor w = t.masterWeights().named().values().iterator().next();
            assertTrue(Double.isFinite(w.sum().item()));
        }
    }
}
