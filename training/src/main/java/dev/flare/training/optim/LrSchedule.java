package dev.flare.training.optim;

/** The learning rate at each optimizer step (0-based). Part of a run's config, so resuming continues it. */
public sealed interface LrSchedule {
    double at(long step);

    /** The same rate at every step. */
    record Constant(double lr) implements LrSchedule {
        public Constant {
            if (!(lr > 0)) throw new IllegalArgumentException("lr: expected > 0, got " + lr);
        }

        public double at(long step) { return lr; }
    }

    /**
     * Linear warmup from 0 to maxLr over warmupSteps, then cosine decay to minLr at decaySteps, then minLr
     * (nanoGPT's schedule; step s of warmup gives maxLr * (s + 1) / warmupSteps).
     */
    record WarmupCosine(double maxLr, double minLr, long warmupSteps, long decaySteps) implements LrSchedule {
        public WarmupCosine {
            if (!(maxLr > 0)) throw new IllegalArgumentException("maxLr: expected > 0, got " + maxLr);
            if (!(minLr >= 0 && minLr <= maxLr)) throw new IllegalArgumentException("minLr: expected in [0, maxLr=" + maxLr + "], got " + minLr);
            if (warmupSteps < 0) throw new IllegalArgumentException("warmupSteps: expected >= 0, got " + warmupSteps);
            if (decaySteps < warmupSteps)
                throw new IllegalArgumentException("decaySteps: expected >= warmupSteps (" + warmupSteps + "), got " + decaySteps);
        }

        public double at(long step) {
            if (step < warmupSteps) return maxLr * (step + 1) / warmupSteps;
            if (step >= decaySteps) return minLr;
            double progress = (double) (step - warmupSteps) / Math.max(1, decaySteps - warmupSteps);
            return minLr + 0.5 * (1 + Math.cos(Math.PI * progress)) * (maxLr - minLr);
        }
    }
}
