package dev.flare.training;

/** What one optimizer step did; valLoss is NaN when no evaluation ran at that step. */
public record StepMetrics(long step, double loss, double lr, double gradNorm, double millis, double tokensPerSecond, double valLoss) {
    static final String CSV_HEADER = "step,loss,lr,grad_norm,ms,tokens_per_s,val_loss";

    String csv() {
        return step + "," + loss + "," + lr + "," + gradNorm + "," + millis + "," + tokensPerSecond + "," + (Double.isNaN(valLoss) ? "" : valLoss);
    }
}
