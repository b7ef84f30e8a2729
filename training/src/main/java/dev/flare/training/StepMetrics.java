package dev.flare.training;

/**
 * What one optimizer step did. valLoss is NaN when no evaluation ran at that step; mfu (model FLOPs utilization,
 * 0..1) is NaN when the device's peak FLOP/s is unknown. A gradNorm that is not finite marks a skipped step.
 */
public record StepMetrics(long step, double loss, double lr, double gradNorm, double millis, double tokensPerSecond,
                          double valLoss, double mfu) {
    /** Whether the update was applied (loss and gradients finite). */
    public boolean finite() { return Double.isFinite(loss) && Double.isFinite(gradNorm); }
}
