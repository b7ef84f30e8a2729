package dev.flare.nn;

import dev.flare.tensor.Tensor;
import dev.flare.tensor.random.Generator;

import java.util.function.Supplier;

/**
 * Layers' random weight initialisation, and a way to skip it: {@link #skipped} builds modules whose weights are all
 * zero and draws nothing from their generators, for a model whose weights are loaded right after (a checkpoint, a
 * Hugging Face folder). Drawing GPT-2's 124M normal numbers took about a third of {@code flare sample}'s CPU time.
 * Like PyTorch's {@code skip_init}; unlike it, the generator is not advanced, so dropout streams start at offset 0.
 */
public final class ParameterInit {
    private static final ThreadLocal<Boolean> SKIPPING = ThreadLocal.withInitial(() -> false);

    private ParameterInit() {}

    /** Runs build with initialisation skipped on this thread: layers it creates get zero weights. */
    public static <M> M skipped(Supplier<M> build) {
        boolean was = SKIPPING.get();
        SKIPPING.set(true);
        try {
            return build.get();
        } finally {
            SKIPPING.set(was);
        }
    }

    /** Whether this thread is inside {@link #skipped}. */
    public static boolean isSkipping() { return SKIPPING.get(); }

    /** An F32 CPU tensor of N(0, std^2) numbers drawn from gen; zeros, with nothing drawn, inside {@link #skipped}. */
    public static Tensor normal(Generator gen, double std, int... shape) {
        return SKIPPING.get() ? Tensor.zeros(shape) : Tensor.randn(gen, shape).mul(std);
    }
}
