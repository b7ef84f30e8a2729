package dev.flare.attention;

import dev.flare.tensor.Tensor;
import dev.flare.tensor.random.Generator;

/**
 * Immutable settings of one {@link Attention#scaledDotProductAttention} call. Start from {@link #DEFAULT} (or
 * {@link #causal()}) and derive with the {@code with...} methods; each validates its argument.
 *
 * <p>Dropout randomness: either an explicit {@code (seed, offset)} ({@link #withDropoutSeed}) or a
 * {@link Generator} from which each call reserves one Philox block offset ({@link #withGenerator}); with neither,
 * the {@linkplain Generator#defaultGenerator() default generator} is used.
 */
public final class AttentionOptions {
    public static final AttentionOptions DEFAULT = new AttentionOptions(null, 0.0, false, CausalAlignment.TOP_LEFT,
            null, false, AttentionBackend.AUTO, false, 0, 0, null, false);

    private final Tensor attnMask;
    private final double dropoutP;
    private final boolean isCausal;
    private final CausalAlignment causalAlignment;
    private final Double scale;
    private final boolean enableGqa;
    private final AttentionBackend backend;
    private final boolean hasSeed;
    private final long dropoutSeed;
    private final long dropoutOffset;
    private final Generator generator;
    private final boolean deterministic;

    private AttentionOptions(Tensor attnMask, double dropoutP, boolean isCausal, CausalAlignment causalAlignment,
                             Double scale, boolean enableGqa, AttentionBackend backend, boolean hasSeed,
                             long dropoutSeed, long dropoutOffset, Generator generator, boolean deterministic) {
        AttentionDropout.threshold(dropoutP);  // throws unless 0 <= p < 1 and the 8-bit mask can realize p
        if (attnMask != null && isCausal)
            throw new IllegalArgumentException("attnMask and isCausal: expected at most one of them (as PyTorch), got both;"
                    + " fold the causal structure into the mask instead");
        if (causalAlignment == null) throw new IllegalArgumentException("causalAlignment: expected TOP_LEFT or BOTTOM_RIGHT, got null");
        if (backend == null) throw new IllegalArgumentException("backend: expected an AttentionBackend, got null");
        if (scale != null && !(Double.isFinite(scale) && scale > 0))
            throw new IllegalArgumentException("scale: expected a finite positive number or null (1/sqrt(D)), got " + scale);
        this.attnMask = attnMask;
        this.dropoutP = dropoutP;
        this.isCausal = isCausal;
        this.causalAlignment = causalAlignment;
        this.scale = scale;
        this.enableGqa = enableGqa;
        this.backend = backend;
        this.hasSeed = hasSeed;
        this.dropoutSeed = dropoutSeed;
        this.dropoutOffset = dropoutOffset;
        this.generator = generator;
        this.deterministic = deterministic;
    }

    /** Causal (top-left) attention, no dropout. */
    public static AttentionOptions causal() { return DEFAULT.withCausal(true); }

    public Tensor attnMask() { return attnMask; }
    public double dropoutP() { return dropoutP; }
    public boolean isCausal() { return isCausal; }
    public CausalAlignment causalAlignment() { return causalAlignment; }
    /** The softmax scale, or null for 1/sqrt(D). */
    public Double scale() { return scale; }
    public boolean enableGqa() { return enableGqa; }
    public AttentionBackend backend() { return backend; }
    /** True when an explicit dropout seed and offset were given. */
    public boolean hasDropoutSeed() { return hasSeed; }
    public long dropoutSeed() { return dropoutSeed; }
    public long dropoutOffset() { return dropoutOffset; }
    public Generator generator() { return generator; }
    /** Ask the CUDA backward for a deterministic reduction order (the CPU backward is always deterministic). */
    public boolean deterministic() { return deterministic; }

    /** A mask broadcastable to (B, Hq, Sq, Sk): BOOL (true = attend) or floating (added to the scores); null for none. */
    public AttentionOptions withAttnMask(Tensor mask) {
        return new AttentionOptions(mask, dropoutP, isCausal, causalAlignment, scale, enableGqa, backend, hasSeed,
                dropoutSeed, dropoutOffset, generator, deterministic);
    }

    public AttentionOptions withDropout(double p) {
        return new AttentionOptions(attnMask, p, isCausal, causalAlignment, scale, enableGqa, backend, hasSeed,
                dropoutSeed, dropoutOffset, generator, deterministic);
    }

    public AttentionOptions withCausal(boolean causal) {
        return new AttentionOptions(attnMask, dropoutP, causal, causalAlignment, scale, enableGqa, backend, hasSeed,
                dropoutSeed, dropoutOffset, generator, deterministic);
    }

    public AttentionOptions withCausalAlignment(CausalAlignment alignment) {
        return new AttentionOptions(attnMask, dropoutP, isCausal, alignment, scale, enableGqa, backend, hasSeed,
                dropoutSeed, dropoutOffset, generator, deterministic);
    }

    /** The softmax scale; null restores the default 1/sqrt(D). */
    public AttentionOptions withScale(Double s) {
        return new AttentionOptions(attnMask, dropoutP, isCausal, causalAlignment, s, enableGqa, backend, hasSeed,
                dropoutSeed, dropoutOffset, generator, deterministic);
    }

    public AttentionOptions withEnableGqa(boolean gqa) {
        return new AttentionOptions(attnMask, dropoutP, isCausal, causalAlignment, scale, gqa, backend, hasSeed,
                dropoutSeed, dropoutOffset, generator, deterministic);
    }

    public AttentionOptions withBackend(AttentionBackend b) {
        return new AttentionOptions(attnMask, dropoutP, isCausal, causalAlignment, scale, enableGqa, b, hasSeed,
                dropoutSeed, dropoutOffset, generator, deterministic);
    }

    /** Explicit dropout randomness (replaces any generator). Only the low 32 bits of offset enter the mask. */
    public AttentionOptions withDropoutSeed(long seed, long offset) {
        return new AttentionOptions(attnMask, dropoutP, isCausal, causalAlignment, scale, enableGqa, backend, true,
                seed, offset, null, deterministic);
    }

    /** Dropout randomness from gen: each call reserves one block offset (replaces any explicit seed). */
    public AttentionOptions withGenerator(Generator gen) {
        if (gen == null) throw new IllegalArgumentException("generator: expected a Generator, got null");
        return new AttentionOptions(attnMask, dropoutP, isCausal, causalAlignment, scale, enableGqa, backend, false,
                0, 0, gen, deterministic);
    }

    public AttentionOptions withDeterministic(boolean d) {
        return new AttentionOptions(attnMask, dropoutP, isCausal, causalAlignment, scale, enableGqa, backend, hasSeed,
                dropoutSeed, dropoutOffset, generator, d);
    }

    /** The (seed, offset) pair for one call: explicit, or reserved now from the generator. */
    long[] resolveDropoutSeed() {
        if (hasSeed) return new long[]{dropoutSeed, dropoutOffset};
        Generator g = generator != null ? generator : Generator.defaultGenerator();
        long off = g.reserve(1);
        return new long[]{g.seed(), off};
    }

    @Override
    public String toString() {
        return "AttentionOptions[mask=" + (attnMask == null ? "none" : attnMask.dtype() + java.util.Arrays.toString(attnMask.shape()))
                + ", dropoutP=" + dropoutP + ", isCausal=" + isCausal + ", alignment=" + causalAlignment
                + ", scale=" + scale + ", enableGqa=" + enableGqa + ", backend=" + backend + "]";
    }
}
