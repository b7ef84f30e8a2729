package dev.flare.autograd;

import dev.flare.tensor.Tensor;
import dev.flare.tensor.ops.OpCall;
import dev.flare.tensor.ops.Recording;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A differentiable function with a hand-written backward, for kernels that are not built from core ops
 * (flash attention, fused layers). Make one instance per call: its fields are the context the backward
 * reads.
 * <pre>{@code
 * final class Square extends Function {
 *     private Tensor x;
 *     protected Tensor forward(Tensor... in) { x = in[0]; save(x); return x.mul(x); }
 *     protected Tensor[] backward(Tensor g) { return new Tensor[]{g.mul(x).mul(2.0)}; }
 * }
 * Tensor y = new Square().apply(x);
 * }</pre>
 * forward runs without recording; backward runs without recording too, so second derivatives are not
 * available.
 */
public abstract class Function {
    private final List<Tensor> saved = new ArrayList<>();
    private int[] savedVersions;
    private boolean[] needsGrad;
    private boolean applied;

    /** Computes the output from the inputs (some may be null for optional arguments). */
    protected abstract Tensor forward(Tensor... inputs);

    /** One gradient per input, in order (null where an input needs none); gradOutput has the output's shape. */
    protected abstract Tensor[] backward(Tensor gradOutput);

    /** Declares tensors the backward reads, so an in-place change to them is caught. */
    protected final void save(Tensor... tensors) {
        saved.addAll(Arrays.asList(tensors));
    }

    /** Whether input {@code i} needs a gradient (the backward may skip work for the others). */
    protected final boolean needsInputGrad(int i) { return needsGrad != null && needsGrad[i]; }

    public final Tensor apply(Tensor... inputs) {
        if (applied) throw new IllegalStateException(getClass().getSimpleName() + ": a Function instance can be applied once; make a new one per call");
        applied = true;
        needsGrad = new boolean[inputs.length];
        for (int i = 0; i < inputs.length; i++) needsGrad[i] = inputs[i] != null && inputs[i].requiresGrad();
        Tensor out;
        try (NoGrad ignored = NoGrad.enter()) {
            out = forward(inputs);
        }
        if (out == null) throw new IllegalStateException(getClass().getSimpleName() + ".forward returned null");
        savedVersions = new int[saved.size()];
        for (int i = 0; i < saved.size(); i++) if (saved.get(i) != null) savedVersions[i] = saved.get(i).storage().version();
        if (!Recording.needed(Arrays.asList(inputs))) return out;
        // The output may be an input or a view of one; record on a fresh view so its graph node is ours alone.
        Tensor result = out.detach();
        return Recording.record(new OpCall.Custom(this, Arrays.asList(inputs)), result);
    }

    List<Tensor> savedTensors() { return saved; }

    int[] savedVersions() { return savedVersions; }

    Tensor[] runBackward(Tensor gradOutput) { return backward(gradOutput); }

    /** Drops references to saved tensors once the backward has run. */
    void release() { saved.clear(); }

    public String name() { return getClass().getSimpleName(); }
}
