package dev.flare.training;

/** Training stopped because the loss or the gradient norm was not finite; no checkpoint was written for it. */
public final class NonFiniteLossException extends RuntimeException {
    public NonFiniteLossException(long step, double loss, double gradNorm) {
        super("step " + step + ": the " + (Double.isFinite(loss) ? "gradient norm is " + gradNorm : "loss is " + loss)
                + "; stopping (the last checkpoint is untouched). Lower the learning rate, or set skipNonFinite to skip such steps.");
    }
}
