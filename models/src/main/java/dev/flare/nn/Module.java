package dev.flare.nn;

import dev.flare.autograd.NoGrad;
import dev.flare.tensor.DType;
import dev.flare.tensor.Device;
import dev.flare.tensor.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * A layer or model: named parameters, buffers (non-trained state saved with the model) and submodules,
 * registered in order so names are stable ({@code h.0.attn.c_attn.weight}). Train/eval mode propagates to
 * submodules; {@link #to} moves or casts every tensor in place of the old one.
 */
public abstract class Module {
    private final Map<String, Parameter> parameters = new LinkedHashMap<>();
    private final Map<String, Parameter> buffers = new LinkedHashMap<>();
    private final Map<String, Module> children = new LinkedHashMap<>();
    private boolean training = true;

    protected final Parameter registerParameter(String name, Tensor initial) {
        checkName(name);
        Parameter p = new Parameter(initial);
        parameters.put(name, p);
        return p;
    }

    /** A buffer is saved in the state dict but never trained (its tensor does not require grad). */
    protected final Parameter registerBuffer(String name, Tensor initial) {
        checkName(name);
        Parameter b = new Parameter(initial, false);
        buffers.put(name, b);
        return b;
    }

    protected final <M extends Module> M registerModule(String name, M module) {
        checkName(name);
        children.put(name, module);
        return module;
    }

    private void checkName(String name) {
        if (name == null || name.isEmpty() || name.contains("."))
            throw new IllegalArgumentException("name: expected a non-empty name without dots, got '" + name + "'");
        if (parameters.containsKey(name) || buffers.containsKey(name) || children.containsKey(name))
            throw new IllegalArgumentException("name: '" + name + "' is already registered in " + getClass().getSimpleName());
    }

    /** Every trainable parameter, keyed by dotted name, in registration order. */
    public final Map<String, Parameter> namedParameters() {
        Map<String, Parameter> out = new LinkedHashMap<>();
        collect("", out, false);
        return out;
    }

    public final List<Tensor> parameters() {
        return namedParameters().values().stream().map(Parameter::value).distinct().toList();
    }

    /** Number of distinct parameter elements (tied tensors counted once); a model may leave out padding it stores. */
    public long parameterCount() {
        return parameters().stream().mapToLong(Tensor::numel).sum();
    }

    private void collect(String prefix, Map<String, Parameter> out, boolean withBuffers) {
        parameters.forEach((k, v) -> out.put(prefix + k, v));
        if (withBuffers) buffers.forEach((k, v) -> out.put(prefix + k, v));
        children.forEach((k, m) -> m.collect(prefix + k + ".", out, withBuffers));
    }

    /** Parameters and buffers by dotted name (tied tensors appear under each name). */
    public final Map<String, Tensor> stateDict() {
        Map<String, Parameter> slots = new LinkedHashMap<>();
        collect("", slots, true);
        Map<String, Tensor> out = new LinkedHashMap<>();
        slots.forEach((k, v) -> out.put(k, v.value()));
        return out;
    }

    /**
     * Copies matching tensors into this module (converted to each slot's dtype and device). With strict, any
     * missing, unexpected or mis-shaped key is an error listing them all; otherwise matching keys load and the
     * report says what did not.
     */
    public final LoadReport loadStateDict(Map<String, Tensor> state, boolean strict) {
        Map<String, Parameter> slots = new LinkedHashMap<>();
        collect("", slots, true);
        List<String> missing = new ArrayList<>(), unexpected = new ArrayList<>(), mismatched = new ArrayList<>();
        for (String k : slots.keySet()) if (!state.containsKey(k)) missing.add(k);
        for (String k : state.keySet()) if (!slots.containsKey(k)) unexpected.add(k);
        for (var e : slots.entrySet()) {
            Tensor src = state.get(e.getKey());
            if (src == null) continue;
            Tensor dst = e.getValue().value();
            if (!Arrays.equals(src.shape(), dst.shape()))
                mismatched.add(e.getKey() + ": shape " + Arrays.toString(src.shape()) + " in the state dict, "
                        + Arrays.toString(dst.shape()) + " in the module");
            else if (src.dtype().isFloatingPoint() != dst.dtype().isFloatingPoint())
                mismatched.add(e.getKey() + ": dtype " + src.dtype() + " in the state dict, " + dst.dtype() + " in the module");
        }
        LoadReport report = new LoadReport(missing, unexpected, mismatched);
        if (strict && !report.isClean()) throw new IllegalArgumentException("loadStateDict: " + report);
        try (NoGrad ignored = NoGrad.enter()) {
            for (var e : slots.entrySet()) {
                Tensor src = state.get(e.getKey());
                if (src == null || mismatched.stream().anyMatch(m -> m.startsWith(e.getKey() + ":"))) continue;
                e.getValue().value().copyFrom(src.to(e.getValue().value().device()));
            }
        }
        return report;
    }

    /** Moves every parameter and buffer to a device (tied tensors stay tied). */
    public Module to(Device device) {
        return mapTensors(t -> t.to(device));
    }

    /** Casts every floating-point parameter and buffer (tied tensors stay tied). */
    public Module to(DType dtype) {
        return mapTensors(t -> t.dtype().isFloatingPoint() ? t.to(dtype) : t);
    }

    private Module mapTensors(java.util.function.UnaryOperator<Tensor> f) {
        Map<Tensor, Tensor> done = new java.util.IdentityHashMap<>();
        Map<String, Parameter> slots = new LinkedHashMap<>();
        collect("", slots, true);
        try (NoGrad ignored = NoGrad.enter()) {
            for (Parameter p : new java.util.LinkedHashSet<>(slots.values())) {
                Tensor old = p.value();
                Tensor now = done.computeIfAbsent(old, o -> {
                    Tensor d = o.detach();
                    Tensor t = f.apply(d);
                    return t == d ? o : t;              // unchanged (already that dtype or device): keep the very leaf
                });
                if (now != old) p.set(now);
            }
        }
        return this;
    }

    public final Module train() { return train(true); }

    public final Module eval() { return train(false); }

    public Module train(boolean mode) {
        training = mode;
        children.values().forEach(c -> c.train(mode));
        return this;
    }

    public final boolean isTraining() { return training; }

    /** Visits this module and every submodule, depth first. */
    public final void apply(Consumer<Module> visitor) {
        visitor.accept(this);
        children.values().forEach(c -> c.apply(visitor));
    }
}
