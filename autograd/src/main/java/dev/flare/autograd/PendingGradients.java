package dev.flare.autograd;

import dev.flare.tensor.MemoryScope;
import dev.flare.tensor.Storage;
import dev.flare.tensor.Tensor;
import dev.flare.tensor.ops.OpCall;

import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.Set;

/**
 * The backward's gradients waiting for their nodes, with a count of the pending gradients on each storage (views
 * share one: add passes its gradient to both inputs, reshape passes a view), so that the engine can tell when a
 * consumed gradient's storage is no longer needed.
 *
 * <p>Sums it makes itself (a second gradient for a node, a narrow's zero-padded gradient) are its own: nothing else
 * refers to them while they wait, so later gradients for the same node are added into them in place. For a narrow
 * that means adding into the slice: the three narrows that split GPT's QKV projection into q, k and v then fill one
 * gradient buffer, instead of three zero-padded copies and two full-size sums.
 */
final class PendingGradients {
    private final Map<Node, Tensor> byNode = new IdentityHashMap<>();
    private final Map<Storage, Integer> users = new IdentityHashMap<>();
    private final Set<Tensor> own = Collections.newSetFromMap(new IdentityHashMap<>());

    Tensor get(Node node) { return byNode.get(node); }

    /** Sets node's pending gradient (replacing any, whose storage then counts one user fewer). */
    void put(Node node, Tensor gradient) {
        users.merge(gradient.storage(), 1, Integer::sum);
        Tensor old = byNode.put(node, gradient);
        if (old != null) {
            drop(old);
            if (old != gradient) own.remove(old);
        }
    }

    /** Adds g to node's pending gradient: in place into a sum of ours, else into a new sum (or g itself if none). */
    void accumulate(Node node, Tensor g) {
        Tensor before = byNode.get(node);
        if (before == null) {
            put(node, g);
        } else if (isOwnAndAlone(before) && before.dtype() == g.dtype()) {
            before.addInPlace(g);
        } else {
            Tensor sum = before.add(g);
            own.add(sum);
            put(node, sum);
        }
    }

    /**
     * Adds gy, the gradient of x.narrow(dim, start, length), into the matching slice of node's pending gradient
     * (node made x), starting from zeros, or from a copy of a pending gradient that is not ours.
     */
    void addIntoSlice(Node node, OpCall.Narrow n, Tensor gy) {
        Tensor before = byNode.get(node);
        if (before != null && isOwnAndAlone(before) && before.dtype() == gy.dtype()) {
            before.narrow(n.dim(), n.start(), n.length()).addInPlace(gy);
            return;
        }
        if (before != null && before.dtype() != gy.dtype())
            throw new IllegalStateException("backward: two gradients of one tensor differ in dtype (" + before.dtype()
                    + " and " + gy.dtype() + " from a narrow)");
        Tensor sum;
        if (before != null) {
            sum = before.copy();
            sum.narrow(n.dim(), n.start(), n.length()).addInPlace(gy);
        } else {
            sum = Tensor.empty(gy.dtype(), gy.device(), n.x().shape());
            int size = sum.size(n.dim()), end = n.start() + n.length();   // zeros outside the slice only
            if (n.start() > 0) sum.narrow(n.dim(), 0, n.start()).zero();
            if (end < size) sum.narrow(n.dim(), end, size - end).zero();
            sum.narrow(n.dim(), n.start(), n.length()).copyFrom(gy);
        }
        own.add(sum);
        put(node, sum);
    }

    private boolean isOwnAndAlone(Tensor t) {
        return own.contains(t) && users.getOrDefault(t.storage(), 0) == 1;
    }

    /** Takes node's pending gradient out (null when none). */
    Tensor remove(Node node) {
        Tensor g = byNode.remove(node);
        if (g != null) {
            drop(g);
            own.remove(g);   // its node may hand out views of it now
        }
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
