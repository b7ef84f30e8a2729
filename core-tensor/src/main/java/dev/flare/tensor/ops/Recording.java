package dev.flare.tensor.ops;

import dev.flare.tensor.AutogradHook;
import dev.flare.tensor.Tensor;

import java.util.Iterator;
import java.util.ServiceLoader;

/** The gate between ops and the autograd module: records an op only when it is needed. */
public final class Recording {
    private static final AutogradHook HOOK = load();

    private Recording() {}

    private static AutogradHook load() {
        Iterator<AutogradHook> it = ServiceLoader.load(AutogradHook.class).iterator();
        return it.hasNext() ? it.next() : null;
    }

    /** True when an op on these inputs must be recorded. */
    public static boolean needed(Tensor... inputs) {
        if (HOOK == null || !HOOK.isGradEnabled()) return false;
        for (Tensor t : inputs) if (t != null && t.requiresGrad()) return true;
        return false;
    }

    public static boolean needed(Iterable<Tensor> inputs) {
        if (HOOK == null || !HOOK.isGradEnabled()) return false;
        for (Tensor t : inputs) if (t != null && t.requiresGrad()) return true;
        return false;
    }

    /** Records {@code call} as the producer of {@code out} and returns {@code out}. */
    public static Tensor record(OpCall call, Tensor out) {
        HOOK.record(call, out);
        return out;
    }

    public static void backward(Tensor root, Tensor gradient, boolean retainGraph) {
        if (HOOK == null)
            throw new IllegalStateException("backward: the dev.flare:autograd module is not on the class path");
        HOOK.backward(root, gradient, retainGraph);
    }
}
