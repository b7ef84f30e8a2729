package dev.flare.training;

import dev.flare.models.gpt.GPTConfig;
import dev.flare.tensor.Device;

import java.nio.file.Path;

/**
 * Everything a training run needs, saved with its checkpoints. Defaults follow nanoGPT where they apply
 * (AdamW betas 0.9/0.95, weight decay 0.1, clip 1.0, warmup then cosine decay to lr/10).
 */
public record TrainConfig(GPTConfig model, int batchSize, int gradAccum, int maxSteps, double lr, double minLr,
                          int warmupSteps, double weightDecay, double beta1, double beta2, double gradClip,
                          int evalInterval, int evalIters, int logInterval, long seed, Device device,
                          Path outDir, int keepLast, boolean skipNonFinite) {
    public TrainConfig {
        positive("batchSize", batchSize);
        positive("gradAccum", gradAccum);
        positive("maxSteps", maxSteps);
        positive("evalInterval", evalInterval);
        positive("evalIters", evalIters);
        positive("logInterval", logInterval);
        positive("keepLast", keepLast);
        if (!(lr > 0)) throw new IllegalArgumentException("lr: expected > 0, got " + lr);
        if (!(minLr >= 0 && minLr <= lr)) throw new IllegalArgumentException("minLr: expected in [0, lr], got " + minLr);
        if (warmupSteps < 0 || warmupSteps > maxSteps)
            throw new IllegalArgumentException("warmupSteps: expected in [0, maxSteps=" + maxSteps + "], got " + warmupSteps);
        if (!(gradClip >= 0)) throw new IllegalArgumentException("gradClip: expected >= 0 (0 = off), got " + gradClip);
    }

    private static void positive(String name, int v) {
        if (v <= 0) throw new IllegalArgumentException(name + ": expected > 0, got " + v);
    }

    /** A small run for the CPU with the given model. */
    public static TrainConfig small(GPTConfig model, Path outDir) {
        return new TrainConfig(model, 16, 1, 300, 3e-3, 3e-4, 20, 0.1, 0.9, 0.95, 1.0,
                100, 10, 10, 1337, Device.CPU, outDir, 2, false);
    }

    public TrainConfig withMaxSteps(int steps) {
        return new TrainConfig(model, batchSize, gradAccum, steps, lr, minLr, Math.min(warmupSteps, steps), weightDecay, beta1, beta2,
                gradClip, evalInterval, evalIters, logInterval, seed, device, outDir, keepLast, skipNonFinite);
    }

    public TrainConfig withBatch(int batch, int accum) {
        return new TrainConfig(model, batch, accum, maxSteps, lr, minLr, warmupSteps, weightDecay, beta1, beta2,
                gradClip, evalInterval, evalIters, logInterval, seed, device, outDir, keepLast, skipNonFinite);
    }

    public TrainConfig withEval(int interval, int iters) {
        return new TrainConfig(model, batchSize, gradAccum, maxSteps, lr, minLr, warmupSteps, weightDecay, beta1, beta2,
                gradClip, interval, iters, logInterval, seed, device, outDir, keepLast, skipNonFinite);
    }

    public TrainConfig withLr(double maxLr, double min) {
        return new TrainConfig(model, batchSize, gradAccum, maxSteps, maxLr, min, warmupSteps, weightDecay, beta1, beta2,
                gradClip, evalInterval, evalIters, logInterval, seed, device, outDir, keepLast, skipNonFinite);
    }
}
