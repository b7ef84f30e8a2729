package dev.flare.tensor;

import dev.flare.tensor.ops.OpCall;

/**
 * Implemented by the autograd module (found through {@link java.util.ServiceLoader}). The core calls it to
 * record an op whose inputs require grad, and to run {@link Tensor#backward()}.
 */
public interface AutogradHook {
    /** False inside a no-grad scope: nothing is recorded. */
    boolean isGradEnabled();

    /** Attaches the graph node for {@code call} to {@code output} (which then requires grad). */
    void record(OpCall call, Tensor output);

    void backward(Tensor root, Tensor gradient, boolean retainGraph);
}
