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
 * are the same tensors. For BF16/F16 the model is cast in place to the compute dtype and keeps running
 * forward/backward (and dropout, with its own generator) as before, while its former F32 tensors become the
 * masters: after each backward the compute gradients are added into F32 master gradients (divided by the loss
 * scale) and cleared, and after the optimizer step the masters are rounded back into the model.
 */
public final class MasterWeights {
    private final Map<String, Tensor> masters = new LinkedHashMap<>();     // by the model's parameter names
    private final List<Tensor[]> pairs = new ArrayList<>();                // {master, compute}; empty for F32
    private final GPT model;

    private MasterWeights(GPT model) { this.model = model; }

    /** Takes over model's weights: keeps them as masters and, for a lower compute dtype, casts the model. */
    public static MasterWeights of(GPT model, DType compute) {
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
        model.to(compute);
        Map<String, Tensor> now = new LinkedHashMap<>();
        model.namedParameters().forEach((name, p) -> now.put(name, p.value()));
        try (NoGrad ignored = NoGrad.enter()) {
            w.masters.forEach((name, m) -> {
                Tensor grad = Tensor.zeros(DType.F32, m.device(), m.shape());
                MemoryScope.detach(grad);
                m.setGrad(grad);
                w.pairs.add(new Tensor[]{m, now.get(name)});
            });
        }
        return w;
    }

    /** Master weights by parameter name: what the optimizer updates and checkpoints save. */
    public Map<String, Tensor> named() { return Collections.unmodifiableMap(masters); }

    public List<Tensor> list() { return List.copyOf(masters.values()); }

    public boolean isMixed() { return !pairs.isEmpty(); }

    public GPT model() { return model; }

    /** After a micro-batch's backward: master.grad += compute.grad / lossScale (in F32), compute grads cleared. */
    public void accumulateGradients(double lossScale) {
        if (pairs.isEmpty()) return;
        try (NoGrad ignored = NoGrad.enter(); MemoryScope scope = MemoryScope.open()) {
            for (Tensor[] mc : pairs) {
                Tensor g = mc[1].grad();
                if (g == null) continue;
                Tensor g32 = g.to(DType.F32);
                mc[0].grad().addInPlace(lossScale == 1 ? g32 : g32.mul(1 / lossScale));
                g.zero();
            }
        }
    }

    /** After the optimizer step: the model's weights become the (rounded) masters. */
    public void copyToModel() {
        if (pairs.isEmpty()) return;
        try (NoGrad ignored = NoGrad.enter()) {
            for (Tensor[] mc : pairs) mc[1].copyFrom(mc[0]);
        }
    }

    /** Zeroes every gradient: the masters' and, for mixed precision, the model's. */
    public void zeroGradients() {
        try (NoGrad ignored = NoGrad.enter()) {
            for (Tensor m : masters.values()) if (m.grad() != null) m.grad().zero();
            for (Tensor[] mc : pairs) if (mc[1].grad() != null) mc[1].grad().zero();
        }
    }
}
