package dev.flare.nn;

import dev.flare.tensor.MemoryScope;
import dev.flare.tensor.Tensor;

/**
 * A named slot holding a module's trainable tensor. The slot lets a module move or cast its tensors
 * ({@link Module#to}) and load checkpoints without rebuilding itself; layers read {@link #value()} in forward.
 * Parameter tensors are unscoped (they outlive every {@link MemoryScope}) and require grad.
 */
public final class Parameter {
    private final boolean trainable;
    private Tensor value;

    /** A trainable slot (its floating-point tensor requires grad). */
    public Parameter(Tensor initial) {
        this(initial, true);
    }

    /** trainable = false makes a buffer slot: saved with the model, never given a gradient. */
    public Parameter(Tensor initial, boolean trainable) {
        this.trainable = trainable;
        set(initial);
    }

    public boolean isTrainable() { return trainable; }

    public Tensor value() { return value; }

    /** Replaces the tensor: a leaf detached from any scope, requiring grad iff trainable and floating point. */
    public void set(Tensor t) {
        // Keep the very object when possible: tied slots (embedding and LM head) must share one leaf.
        Tensor leaf = t.isLeaf() && (trainable || !t.requiresGrad()) ? t : t.detach();
        MemoryScope.detach(leaf);
        if (trainable && leaf.dtype().isFloatingPoint() && !leaf.requiresGrad()) leaf.requiresGrad(true);
        this.value = leaf;
    }
}
