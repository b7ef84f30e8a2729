package dev.flare.training;

import dev.flare.models.gpt.GPTConfig;
import dev.flare.training.data.Tokens;

import java.nio.file.Path;

/** Small models, configs and data shared by the trainer tests (each test runs in well under a second per step). */
final class TinyRuns {
    private TinyRuns() {}

    static final int VOCAB = 16, CONTEXT = 16;

    /** A learnable, non-constant token pattern. */
    static Tokens pattern(int n) {
        int[] t = new int[n];
        for (int i = 0; i < n; i++) t[i] = (i * 7 + (i / 13)) % VOCAB;
        return Tokens.of(t, VOCAB);
    }

    static GPTConfig model(double dropout) {
        return GPTConfig.preset("nano").withVocabSize(VOCAB).withBlockSize(CONTEXT).withDropout(dropout);
    }

    /** steps steps of batch 4, warmup 2, eval every 2 steps on 2 batches, seeded by seed. */
    static TrainConfig config(GPTConfig model, Path out, int steps, long seed) {
        return TrainConfig.small(model, out).toBuilder().maxSteps(steps).warmupSteps(2).batchSize(4).gradAccum(1)
                .evalInterval(2).evalIters(2).logInterval(1000).seed(seed).lr(1e-2).minLr(1e-3).build();
    }
}
