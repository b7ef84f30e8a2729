package dev.flare.autograd;

import dev.flare.tensor.MemoryScope;
import dev.flare.tensor.Storage;
import dev.flare.tensor.Tensor;

import java.util.IdentityHashMap;
import java.util.Map;

/**
 * The backward's gradients waiting for their nodes, with a count of the pending gradients on each storage (views
 * share one: add passes its gradient to both inputs, reshape passes a view), so that the engine can tell when a
 * consumed gradient's storage is no longer needed.
 */
final class PendingGradients {
    private final Map<Node, Tensor> byNode = new IdentityHashMap<>();
    private final Map<Storage, Integer> users = new IdentityHashMap<>();

    Tensor get(Node node) { return byNode.get(node); }

    /** Sets node's pending gradient (replacing any, whose storage then counts one user fewer). */
    void put(Node node, Tensor gradient) {
        users.merge(gradient.storage(), 1, Integer::sum);
        Tensor old = byNode.put(node, gradient);
        if (old != null) drop(old);
    }

    /** Takes node's pending gradient out (null when none). */
    Tensor remove(Node node) {
        Tensor g = byNode.remove(node);
        if (g != null) drop(g);
        return g;
    }

    private void drop(Tensor g) {
        users.computeIfPresent(g.storage(), (s, n) -> n == 1 ? null : n - 1);
    }

    /** Releases t's storage when no pending gradient uses it and scope owns it (the backward allocated it). */
    void releaseIfUnused(Tensor t, MemoryScope scope) {
        if (!users.containsKey(t.storage()) && !t.storage().isReleased()) scope.releaseNow(t);
    }
}
