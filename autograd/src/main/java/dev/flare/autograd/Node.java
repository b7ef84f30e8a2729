package dev.flare.autograd;

import dev.flare.tensor.Tensor;
import dev.flare.tensor.ops.OpCall;

import java.util.List;

/**
 * One recorded op in the graph: the call (inputs, settings, saved results), the edges to the nodes that
 * made its inputs, and the storage versions of the tensors its backward reads.
 */
final class Node {
    private OpCall call;                 // null once the backward has used it (graph freed)
    private final String name;
    final Tensor[] inputs;
    final Node[] next;                   // the node that made inputs[i], or null for leaves / non-grad inputs
    private final Tensor[] saved;
    private final int[] savedVersions;

    Node(OpCall call) {
        this.call = call;
        this.name = call instanceof OpCall.Custom c ? ((Function) c.function()).name() : call.getClass().getSimpleName();
        List<Tensor> in = call.inputs();
        inputs = in.toArray(new Tensor[0]);
        next = new Node[inputs.length];
        for (int i = 0; i < inputs.length; i++)
            if (inputs[i] != null && inputs[i].requiresGrad() && inputs[i].gradFn() instanceof Node n) next[i] = n;
        if (call instanceof OpCall.Custom c) {
            Function f = (Function) c.function();
            saved = f.savedTensors().toArray(new Tensor[0]);
            savedVersions = f.savedVersions();
        } else {
            saved = Gradients.savedFor(call);
            savedVersions = new int[saved.length];
            for (int i = 0; i < saved.length; i++) savedVersions[i] = saved[i].storage().version();
        }
    }

    String name() { return name; }

    /** The call, or an error saying the graph was already freed. */
    OpCall call() {
        if (call == null)
            throw new IllegalStateException("backward: the graph through " + name + " was already freed by an earlier "
                    + "backward(); pass retainGraph = true to the first backward to run it twice");
        return call;
    }

    void checkSavedVersions() {
        for (int i = 0; i < saved.length; i++) {
            if (saved[i] == null) continue;
            int now = saved[i].storage().version();
            if (now != savedVersions[i])
                throw new IllegalStateException("backward: a tensor of shape " + java.util.Arrays.toString(saved[i].shape())
                        + " saved by " + name + " for its backward was modified in place afterwards (version "
                        + now + ", saved at " + savedVersions[i] + "); clone it before modifying it");
        }
    }

    /** Whether input i wants a gradient. */
    boolean wants(int i) { return inputs[i] != null && inputs[i].requiresGrad(); }

    void free() {
        if (call instanceof OpCall.Custom c) ((Function) c.function()).release();
        call = null;
        java.util.Arrays.fill(saved, null);
    }
}
