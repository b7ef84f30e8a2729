package dev.flare.autograd;

import dev.flare.tensor.AutogradHook;
import dev.flare.tensor.MemoryScope;
import dev.flare.tensor.Tensor;
import dev.flare.tensor.ops.OpCall;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;

/** Records the graph and runs reverse-mode backward. Installed into the core through ServiceLoader. */
public final class Engine implements AutogradHook {

    @Override
    public boolean isGradEnabled() { return NoGrad.isGradEnabled(); }

    @Override
    public void record(OpCall call, Tensor output) {
        output.setGradFn(new Node(call));
        if (MemoryTrace.isOn()) MemoryTrace.forwardOp(call, output);
    }

    @Override
    public void backward(Tensor root, Tensor gradient, boolean retainGraph) {
        if (!root.requiresGrad())
            throw new IllegalStateException("backward: this tensor does not require grad (none of its inputs required "
                    + "grad, or it was computed inside NoGrad or from detach())");
        Tensor g = gradient;
        if (g == null) {
            if (root.numel() != 1)
                throw new IllegalArgumentException("backward: a gradient can be implied only for a one-element output; got shape "
                        + Arrays.toString(root.shape()) + " (pass a gradient of that shape)");
            g = Tensor.ones(root.dtype(), root.device(), root.shape());
        } else {
            if (!Arrays.equals(g.shape(), root.shape()))
                throw new IllegalArgumentException("gradient: expected shape " + Arrays.toString(root.shape()) + ", got "
                        + Arrays.toString(g.shape()));
            if (!g.device().equals(root.device()) || g.dtype() != root.dtype())
                throw new IllegalArgumentException("gradient: expected " + root.dtype() + " on " + root.device() + ", got "
                        + g.dtype() + " on " + g.device());
        }
        // Every tensor the backward allocates belongs to its own scope: a gradient is released as soon as no pending
        // gradient shares its storage (PyTorch frees it when its last reference goes), and what a node's backward
        // allocates besides its results is released when that node is done. Only leaves' .grad outlive the call.
        long peak = 0;
        if (MemoryTrace.isOn()) MemoryTrace.backwardStart(root);
        try (NoGrad ignored = NoGrad.enter(); MemoryScope temporaries = MemoryScope.open()) {
            if (!(root.gradFn() instanceof Node rootNode)) {
                accumulate(root, g);
                return;
            }
            PendingGradients grads = new PendingGradients();
            grads.put(rootNode, g);
            for (Node node : topologicalOrder(rootNode)) {
                Tensor gy = grads.remove(node);
                if (gy == null) continue;                      // no gradient flows through this node
                OpCall call = node.call();
                node.checkSavedVersions();
                if (call instanceof OpCall.Narrow n && node.next[0] != null && node.wants(0)) {
                    // into the slice of the input's gradient, not a zero-padded copy per narrow (PendingGradients)
                    Tensor before = grads.get(node.next[0]);
                    grads.addIntoSlice(node.next[0], n, gy);
                    if (MemoryTrace.isOn()) MemoryTrace.afterNode(call);
                    if (before != null) grads.releaseIfUnused(before, temporaries);
                    grads.releaseIfUnused(gy, temporaries);
                    peak = Math.max(peak, temporaries.ownedBytes());
                    if (!retainGraph) node.free();
                    continue;
                }
                Tensor[] gIn;
                try (MemoryScope inside = MemoryScope.open()) {
                    gIn = Gradients.of(call, gy, node);
                    for (Tensor t : gIn) inside.keep(t);
                }
                if (MemoryTrace.isOn()) MemoryTrace.afterNode(call);     // the node's high-water mark: results, gradient in
                for (int i = 0; i < gIn.length; i++) {
                    if (gIn[i] == null || !node.wants(i)) continue;
                    if (node.next[i] == null) {
                        accumulate(node.inputs[i], gIn[i]);
                        continue;
                    }
                    Tensor before = grads.get(node.next[i]);
                    grads.accumulate(node.next[i], gIn[i]);
                    if (before != null) grads.releaseIfUnused(before, temporaries);
                }
                for (Tensor t : gIn) if (t != null) grads.releaseIfUnused(t, temporaries);
                grads.releaseIfUnused(gy, temporaries);
                peak = Math.max(peak, temporaries.ownedBytes());
                if (!retainGraph) node.free();
            }
        } finally {
            LAST_PEAK_TEMPORARY_BYTES.set(peak);
            if (MemoryTrace.isOn()) MemoryTrace.backwardEnd();
        }
    }

    private static final ThreadLocal<Long> LAST_PEAK_TEMPORARY_BYTES = ThreadLocal.withInitial(() -> 0L);

    /**
     * The most bytes of gradients the last backward on this thread held at once (sampled after each node), a
     * diagnostic: it stays near one layer's gradients however deep the graph when gradients are released as they
     * are consumed.
     */
    public static long lastPeakTemporaryBytes() { return LAST_PEAK_TEMPORARY_BYTES.get(); }

    /** Adds g into a leaf's .grad; the first gradient is copied into storage owned by the leaf, outside any scope. */
    private static void accumulate(Tensor leaf, Tensor g) {
        Tensor current = leaf.grad();
        if (current == null || current.storage().isReleased()) {
            Tensor copy = g.dtype() == leaf.dtype() ? g.copy() : g.to(leaf.dtype()).contiguous();
            MemoryScope.detach(copy);
            leaf.setGrad(copy);
        } else {
            current.addInPlace(g.dtype() == current.dtype() ? g : g.to(current.dtype()));
        }
    }

    /** Nodes reachable from root, each before the nodes that made its inputs (iterative DFS, reverse post-order). */
    static List<Node> topologicalOrder(Node root) {
        List<Node> post = new ArrayList<>();
        Set<Node> seen = java.util.Collections.newSetFromMap(new IdentityHashMap<>());
        Deque<Object[]> stack = new ArrayDeque<>();       // {node, next index}
        stack.push(new Object[]{root, 0});
        seen.add(root);
        while (!stack.isEmpty()) {
            Object[] top = stack.peek();
            Node n = (Node) top[0];
            int i = (int) top[1];
            if (i < n.next.length) {
                top[1] = i + 1;
                Node child = n.next[i];
                if (child != null && seen.add(child)) stack.push(new Object[]{child, 0});
            } else {
                stack.pop();
                post.add(n);
            }
        }
        java.util.Collections.reverse(post);
        return post;
    }

}
