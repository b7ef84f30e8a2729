package dev.flare.training.precision;

/**
 * Dynamic loss scaling for FP16 training, as torch.amp.GradScaler: the loss is multiplied by scale() before
 * backward so small gradients do not flush to zero in F16; the gradients are divided by it again in F32. A step
 * whose gradients overflowed is skipped and halves the scale; growthInterval overflow-free steps in a row double it.
 */
public final class LossScaler {
    /** Below this the scale cannot help any more: the model itself produces non-finite gradients. */
    public static final double MIN_SCALE = 1.0 / (1 << 14);

    private final double growthFactor = 2.0, backoffFactor = 0.5;
    private final int growthInterval;
    private double scale;
    private int goodSteps;

    public LossScaler(double initialScale, int growthInterval) {
        if (!(initialScale > 0 && initialScale < Double.POSITIVE_INFINITY))
            throw new IllegalArgumentException("initialScale: expected a finite value > 0, got " + initialScale);
        if (growthInterval < 1) throw new IllegalArgumentException("growthInterval: expected >= 1 step, got " + growthInterval);
        this.scale = initialScale;
        this.growthInterval = growthInterval;
    }

    /** PyTorch's defaults: 2^16, doubled after 2000 good steps. */
    public static LossScaler standard() { return new LossScaler(65536.0, 2000); }

    public double scale() { return scale; }

    /** Overflow-free steps since the last change of scale (saved with checkpoints). */
    public int goodSteps() { return goodSteps; }

    /** Records whether this step's gradients overflowed and adjusts the scale for the next one. */
    public void update(boolean overflowed) {
        if (overflowed) {
            scale *= backoffFactor;
            goodSteps = 0;
            if (scale < MIN_SCALE)
                throw new IllegalStateException("loss scale fell below " + MIN_SCALE + ": the gradients are non-finite at any scale;"
                        + " the model diverged (lower the learning rate, or train in bf16)");
        } else if (++goodSteps >= growthInterval) {
            scale *= growthFactor;
            goodSteps = 0;
        }
    }

    /** Resumes from a checkpoint. */
    public void restore(double savedScale, int savedGoodSteps) {
        if (!(savedScale > 0 && savedScale < Double.POSITIVE_INFINITY))
            throw new IllegalArgumentException("savedScale: expected a finite value > 0, got " + savedScale);
        if (savedGoodSteps < 0 || savedGoodSteps >= growthInterval)
            throw new IllegalArgumentException("savedGoodSteps: expected in [0, " + growthInterval + "), got " + savedGoodSteps);
        scale = savedScale;
        goodSteps = savedGoodSteps;
    }
}
