package dev.flare.training.precision;

import dev.flare.autograd.NoGrad;
import dev.flare.models.gpt.GPT;
import dev.flare.tensor.DType;
import dev.flare.tensor.MemoryScope;
import dev.flare.tensor.Tensor;

import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The weights the optimizer updates (F32 "masters") and the copy the model computes with. For F32 training they
 * are the same tensors. For BF16/F16 the model's weights are replaced by compute-dtype copies and it keeps running
 * forward/backward (and dropout, with its own generator) as before, while the masters hold its F32 values: after
 * each backward the compute gradients are added into F32 master gradients (divided by the loss scale) and cleared,
 * and after the optimizer step the masters are rounded back into the model.
 *
 * <p>With the flat layout (the default where it fits: one device, at most 2^31 elements) the masters are views of
 * one F32 buffer and the model's weights views of one compute-dtype buffer, and the model's former F32 tensors are
 * <b>released</b>: read the weights through {@link #named()} or the model afterwards, not through tensors taken from
 * the model before (they throw "already released").
 */
public final class MasterWeights {
    private final Map<String, Tensor> masters = new LinkedHashMap<>();     // by the model's parameter names
    private final List<Tensor[]> pairs = new ArrayList<>();                // {master, compute}; empty for F32
    private final GPT model;
    // Mixed precision: every master gradient is a view of masterGrads and every compute gradient a view of
    // computeGrads, so that accumulating, zeroing and the global norm are a few whole-buffer ops instead of a few
    // per parameter (GPT-2 has 148: about 450 kernel launches per step for accumulate + zero alone).
    private Tensor masterGrads, computeGrads;
    // Likewise the weights (null when they could not be flat): masters are views of masterWeights, the model's compute
    // weights views of computeWeights, in the same order, so rounding the masters into the model is one cast.
    private Tensor masterWeights, computeWeights;
    private final List<Tensor[]> gradViews = new ArrayList<>();             // {master grad, compute grad} as set
    // True while the master gradients hold the zeros of zeroGradients (or of their allocation): the next
    // accumulation then casts the compute gradients into them instead of adding (no F32 temporary, no read of zeros).
    private boolean mastersZero = true;

    private MasterWeights(GPT model) { this.model = model; }

    /** Takes over model's weights: keeps them as masters and, for a lower compute dtype, casts the model (flat where it fits). */
    public static MasterWeights of(GPT model, DType compute) {
        return of(model, compute, true);
    }

    /**
     * As above; flat = false keeps one tensor per weight (the former F32 tensors become the masters, the model is cast
     * tensor by tensor), as a model on several devices gets: one cast per weight per step instead of one in all.
     */
    public static MasterWeights of(GPT model, DType compute, boolean flat) {
        MasterWeights w = new MasterWeights(model);
        Set<Tensor> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        model.namedParameters().forEach((name, p) -> {
            if (seen.add(p.value())) w.masters.put(name, p.value());     // tied weights once, under the first name
        });
        for (Tensor m : w.masters.values())
            if (m.dtype() != DType.F32)
                throw new IllegalArgumentException("model: master weights must be F32, found a " + m.dtype()
                        + " parameter; build the model in F32 and let the trainer cast it");
        if (compute == DType.F32) return w;
        if (flat && flatLayout(w.masters.values().stream().toList())) w.flatWeights(compute);
        model.to(compute);                                       // what flatWeights did not cast (all of it without it)
        Map<String, Tensor> now = new LinkedHashMap<>();
        model.namedParameters().forEach((name, p) -> now.put(name, p.value()));
        w.masters.forEach((name, m) -> w.pairs.add(new Tensor[]{m, now.get(name)}));
        w.flatGradients(compute);
        return w;
    }

    /** Whether tensors can be views of one buffer: one device, at most Integer.MAX_VALUE elements together. */
    private static boolean flatLayout(List<Tensor> tensors) {
        long total = 0;
        for (Tensor t : tensors) total += t.numel();
        return !tensors.isEmpty() && total <= Integer.MAX_VALUE
                && tensors.stream().allMatch(t -> t.device().equals(tensors.getFirst().device()));
    }

    /**
     * The masters become views of one F32 buffer and the model's weights views of one buffer of the compute dtype,
     * so that copyToModel is one cast instead of one per parameter (GPT-2: 148 launches per step). The model's former
     * F32 tensors are copied in and released (on a GPU nothing else would free them).
     */
    private void flatWeights(DType compute) {
        int total = (int) masters.values().stream().mapToLong(Tensor::numel).sum();
        dev.flare.tensor.Device device = masters.values().iterator().next().device();
        try (NoGrad ignored = NoGrad.enter()) {
            masterWeights = MemoryScope.detach(Tensor.empty(DType.F32, device, total));
            computeWeights = MemoryScope.detach(Tensor.empty(compute, device, total));
            Map<Tensor, Tensor> computeOf = new IdentityHashMap<>();
            int at = 0;
            for (Map.Entry<String, Tensor> e : masters.entrySet()) {
                Tensor old = e.getValue();
                int n = (int) old.numel();
                Tensor master = masterWeights.narrow(0, at, n).reshape(old.shape()).requiresGrad(true);   // the optimizer's leaves
                master.copyFrom(old);
                computeOf.put(old, computeWeights.narrow(0, at, n).reshape(old.shape()));
                e.setValue(master);
                at += n;
            }
            computeWeights.copyFrom(masterWeights);
            for (var slot : model.namedParameters().values()) {
                Tensor view = computeOf.get(slot.value());
                if (view != null) slot.set(view);
            }
            for (Tensor old : computeOf.keySet()) old.release();
        }
    }

    /** One zeroed F32 buffer for the master gradients and one of the compute dtype for the model's, as views. */
    private void flatGradients(DType compute) {
        if (!flatLayout(masters.values().stream().toList())) {   // a buffer per parameter instead
            try (NoGrad ignored = NoGrad.enter()) {
                for (Tensor[] mc : pairs) {
                    Tensor grad = Tensor.zeros(DType.F32, mc[0].device(), mc[0].shape());
                    MemoryScope.detach(grad);
                    mc[0].setGrad(grad);
                }
            }
            return;
        }
        int total = (int) masters.values().stream().mapToLong(Tensor::numel).sum();
        try (NoGrad ignored = NoGrad.enter()) {
            views(pairs.get(0)[0].device(), total, compute);
        }
    }

    private void views(dev.flare.tensor.Device device, int total, DType compute) {
        masterGrads = Tensor.zeros(DType.F32, device, total);
        computeGrads = Tensor.zeros(compute, device, (int) total);
        MemoryScope.detach(masterGrads);
        MemoryScope.detach(computeGrads);
        int at = 0;
        for (Tensor[] mc : pairs) {
            int n = (int) mc[0].numel();
            Tensor mg = masterGrads.narrow(0, at, n).reshape(mc[0].shape());
            Tensor cg = computeGrads.narrow(0, at, n).reshape(mc[1].shape());
            mc[0].setGrad(mg);
            mc[1].setGrad(cg);
            gradViews.add(new Tensor[]{mg, cg});
            at += n;
        }
    }

    /** True while every gradient is still the view flatGradients set (nobody replaced or cleared one). */
    private boolean flatIntact() {
        if (masterGrads == null) return false;
        for (int i = 0; i < pairs.size(); i++)
            if (pairs.get(i)[0].grad() != gradViews.get(i)[0] || pairs.get(i)[1].grad() != gradViews.get(i)[1]) return false;
        return true;
    }

    /**
     * The gradients the global norm and clipping should read: the one flat master-gradient buffer while it is
     * intact (one reduction, one scale), else each master's gradient.
     */
    public List<Tensor> gradients() {
        if (flatIntact()) return List.of(masterGrads);
        List<Tensor> out = new ArrayList<>();
        for (Tensor m : masters.values()) if (m.grad() != null) out.add(m.grad());
        return out;
    }

    /** Master weights by parameter name: what the optimizer updates and checkpoints save. */
    public Map<String, Tensor> named() { return Collections.unmodifiableMap(masters); }

    public List<Tensor> list() { return List.copyOf(masters.values()); }

    public boolean isMixed() { return !pairs.isEmpty(); }

    public GPT model() { return model; }

    /** After a micro-batch's backward: master.grad += compute.grad / lossScale (in F32), compute grads cleared. */
    public void accumulateGradients(double lossScale) {
        if (pairs.isEmpty()) return;
        boolean first = mastersZero;
        mastersZero = false;
        try (NoGrad ignored = NoGrad.enter(); MemoryScope scope = MemoryScope.open()) {
            if (flatIntact()) {
                accumulate(masterGrads, computeGrads, lossScale, first);
                return;
            }
            for (Tensor[] mc : pairs) {
                Tensor g = mc[1].grad();
                if (g == null) continue;
                accumulate(mc[0].grad(), g, lossScale, first);
            }
        }
    }

    /**
     * master += compute / lossScale, then compute = 0. Onto zeros (first) it is a cast and a scale in place: the same
     * F32 values as the sum (x + 0 = x, up to the sign of a zero), without the F32 temporary.
     */
    private static void accumulate(Tensor master, Tensor compute, double lossScale, boolean first) {
        if (first) {
            master.copyFrom(compute);
            if (lossScale != 1) master.mulInPlace(1 / lossScale);
        } else {
            Tensor g32 = compute.to(DType.F32);
            master.addInPlace(lossScale == 1 ? g32 : g32.mul(1 / lossScale));
        }
        compute.zero();
    }

    /** After the optimizer step: the model's weights become the (rounded) masters. */
    public void copyToModel() {
        if (pairs.isEmpty()) return;
        try (NoGrad ignored = NoGrad.enter()) {
            if (masterWeights != null) computeWeights.copyFrom(masterWeights);
            else for (Tensor[] mc : pairs) mc[1].copyFrom(mc[0]);
        }
    }

    /** Zeroes every gradient: the masters' and, for mixed precision, the model's. */
    public void zeroGradients() {
        mastersZero = true;
        try (NoGrad ignored = NoGrad.enter()) {
            if (flatIntact()) {
                masterGrads.zero();
                computeGrads.zero();
                return;
            }
            for (Tensor m : masters.values()) if (m.grad() != null) m.grad().zero();
            for (Tensor[] mc : pairs) if (mc[1].grad() != null) mc[1].grad().zero();
        }
    }
}
