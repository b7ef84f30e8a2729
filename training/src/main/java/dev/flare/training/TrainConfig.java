package dev.flare.training;

import dev.flare.models.gpt.GPTConfig;
import dev.flare.tensor.Device;

import java.nio.file.Path;

/**
 * Everything a training run needs, saved as JSON with its checkpoints. Defaults follow nanoGPT where they apply
 * (AdamW betas 0.9/0.95, weight decay 0.1, clip 1.0, warmup then cosine decay to lr/10).
 *
 * <p>checkpointInterval: save every so many steps (0: only at the end of a run); keepLast: how many of the newest
 * checkpoints to keep (the best by validation loss is kept besides). peakFlops: the device's peak FLOP/s for the
 * chosen precision, for MFU in the log (0: look it up by GPU name, or omit MFU). prefetch: prepare the next
 * step's batches on a background thread.
 */
public record TrainConfig(GPTConfig model, int batchSize, int gradAccum, int maxSteps, double lr, double minLr,
                          int warmupSteps, double weightDecay, double beta1, double beta2, double gradClip,
                          int evalInterval, int evalIters, int logInterval, long seed, Device device,
                          Path outDir, int keepLast, boolean skipNonFinite,
                          int checkpointInterval, Precision precision, double peakFlops, boolean prefetch) {
    public TrainConfig {
        if (model == null) throw new IllegalArgumentException("model: expected a GPTConfig, got null");
        if (device == null) throw new IllegalArgumentException("device: expected a device, got null");
        if (outDir == null) throw new IllegalArgumentException("outDir: expected a folder, got null");
        if (precision == null) throw new IllegalArgumentException("precision: expected fp32, bf16 or fp16, got null");
        positive("batchSize", batchSize);
        positive("gradAccum", gradAccum);
        positive("maxSteps", maxSteps);
        positive("evalInterval", evalInterval);
        positive("evalIters", evalIters);
        positive("logInterval", logInterval);
        positive("keepLast", keepLast);
        if (checkpointInterval < 0)
            throw new IllegalArgumentException("checkpointInterval: expected >= 0 (0 = only at the end), got " + checkpointInterval);
        if (!(lr > 0)) throw new IllegalArgumentException("lr: expected > 0, got " + lr);
        if (!(minLr >= 0 && minLr <= lr)) throw new IllegalArgumentException("minLr: expected in [0, lr], got " + minLr);
        if (warmupSteps < 0 || warmupSteps > maxSteps)
            throw new IllegalArgumentException("warmupSteps: expected in [0, maxSteps=" + maxSteps + "], got " + warmupSteps);
        if (!(gradClip >= 0)) throw new IllegalArgumentException("gradClip: expected >= 0 (0 = off), got " + gradClip);
        if (!(peakFlops >= 0 && peakFlops < Double.POSITIVE_INFINITY))
            throw new IllegalArgumentException("peakFlops: expected a finite FLOP/s >= 0 (0 = unknown), got " + peakFlops);
    }

    private static void positive(String name, int v) {
        if (v <= 0) throw new IllegalArgumentException(name + ": expected > 0, got " + v);
    }

    /** A small run for the CPU with the given model. */
    public static TrainConfig small(GPTConfig model, Path outDir) {
        return new TrainConfig(model, 16, 1, 300, 3e-3, 3e-4, 20, 0.1, 0.9, 0.95, 1.0,
                100, 10, 10, 1337, Device.CPU, outDir, 2, false, 0, Precision.FP32, 0, false);
    }

    public Builder toBuilder() { return new Builder(this); }

    /** maxSteps, with the warmup shortened when it would exceed it. */
    public TrainConfig withMaxSteps(int steps) { return toBuilder().maxSteps(steps).warmupSteps(Math.min(warmupSteps, steps)).build(); }

    public TrainConfig withBatch(int batch, int accum) { return toBuilder().batchSize(batch).gradAccum(accum).build(); }

    public TrainConfig withEval(int interval, int iters) { return toBuilder().evalInterval(interval).evalIters(iters).build(); }

    public TrainConfig withLr(double maxLr, double min) { return toBuilder().lr(maxLr).minLr(min).build(); }

    public TrainConfig withCheckpoints(int interval, int keep) { return toBuilder().checkpointInterval(interval).keepLast(keep).build(); }

    public TrainConfig withOutDir(Path dir) { return toBuilder().outDir(dir).build(); }

    /** A copy with some fields changed; build() validates the result. */
    public static final class Builder {
        private GPTConfig model;
        private int batchSize, gradAccum, maxSteps, warmupSteps, evalInterval, evalIters, logInterval, keepLast, checkpointInterval;
        private double lr, minLr, weightDecay, beta1, beta2, gradClip, peakFlops;
        private long seed;
        private Device device;
        private Path outDir;
        private boolean skipNonFinite, prefetch;
        private Precision precision;

        private Builder(TrainConfig c) {
            model = c.model; batchSize = c.batchSize; gradAccum = c.gradAccum; maxSteps = c.maxSteps; lr = c.lr; minLr = c.minLr;
            warmupSteps = c.warmupSteps; weightDecay = c.weightDecay; beta1 = c.beta1; beta2 = c.beta2; gradClip = c.gradClip;
            evalInterval = c.evalInterval; evalIters = c.evalIters; logInterval = c.logInterval; seed = c.seed; device = c.device;
            outDir = c.outDir; keepLast = c.keepLast; skipNonFinite = c.skipNonFinite; checkpointInterval = c.checkpointInterval;
            precision = c.precision; peakFlops = c.peakFlops; prefetch = c.prefetch;
        }

        public Builder model(GPTConfig v) { model = v; return this; }
        public Builder batchSize(int v) { batchSize = v; return this; }
        public Builder gradAccum(int v) { gradAccum = v; return this; }
        public Builder maxSteps(int v) { maxSteps = v; return this; }
        public Builder lr(double v) { lr = v; return this; }
        public Builder minLr(double v) { minLr = v; return this; }
        public Builder warmupSteps(int v) { warmupSteps = v; return this; }
        public Builder weightDecay(double v) { weightDecay = v; return this; }
        public Builder betas(double b1, double b2) { beta1 = b1; beta2 = b2; return this; }
        public Builder gradClip(double v) { gradClip = v; return this; }
        public Builder evalInterval(int v) { evalInterval = v; return this; }
        public Builder evalIters(int v) { evalIters = v; return this; }
        public Builder logInterval(int v) { logInterval = v; return this; }
        public Builder seed(long v) { seed = v; return this; }
        public Builder device(Device v) { device = v; return this; }
        public Builder outDir(Path v) { outDir = v; return this; }
        public Builder keepLast(int v) { keepLast = v; return this; }
        public Builder skipNonFinite(boolean v) { skipNonFinite = v; return this; }
        public Builder checkpointInterval(int v) { checkpointInterval = v; return this; }
        public Builder precision(Precision v) { precision = v; return this; }
        public Builder peakFlops(double v) { peakFlops = v; return this; }
        public Builder prefetch(boolean v) { prefetch = v; return this; }

        public TrainConfig build() {
            return new TrainConfig(model, batchSize, gradAccum, maxSteps, lr, minLr, warmupSteps, weightDecay, beta1, beta2,
                    gradClip, evalInterval, evalIters, logInterval, seed, device, outDir, keepLast, skipNonFinite,
                    checkpointInterval, precision, peakFlops, prefetch);
        }
    }
}
