package dev.flare.training.optim;

import dev.flare.autograd.NoGrad;
import dev.flare.tensor.DType;
import dev.flare.tensor.MemoryScope;
import dev.flare.tensor.Tensor;
import dev.flare.tensor.cpu.CpuStorage;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * AdamW (Loshchilov and Hutter) with decoupled weight decay and parameter groups, as torch.optim.AdamW:
 * p -= lr * wd * p; m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2; p -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps).
 * State (m, v) is F32 (F64 for F64 parameters). Contiguous F32/F64 CPU parameters take a fused loop; contiguous
 * F32 CUDA parameters take one fused multi-tensor kernel launch per group ({@link AdamWKernels}, bit-identical to
 * the CPU loop); every other case runs the same update from tensor ops, the reference both are tested against.
 */
public final class AdamW {
    /** A set of parameters sharing a weight decay. */
    public record Group(String name, List<Tensor> params, double weightDecay) {
        public Group {
            if (!(weightDecay >= 0)) throw new IllegalArgumentException("weightDecay: expected >= 0, got " + weightDecay);
            params = List.copyOf(params);
        }
    }

    private final List<Group> groups;
    private final double beta1, beta2, eps;
    private final Map<Tensor, Tensor[]> state = new java.util.IdentityHashMap<>();
    private final AdamWKernels.Table[] kernelTables;     // per group, for the CUDA kernel
    private long step;
    private boolean forceReference;
    long kernelLaunches;                                  // for tests: fused CUDA launches so far

    public AdamW(List<Group> groups, double beta1, double beta2, double eps) {
        if (!(beta1 >= 0 && beta1 < 1)) throw new IllegalArgumentException("beta1: expected in [0, 1), got " + beta1);
        if (!(beta2 >= 0 && beta2 < 1)) throw new IllegalArgumentException("beta2: expected in [0, 1), got " + beta2);
        if (!(eps > 0)) throw new IllegalArgumentException("eps: expected > 0, got " + eps);
        this.groups = List.copyOf(groups);
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.kernelTables = new AdamWKernels.Table[groups.size()];
        for (int i = 0; i < kernelTables.length; i++) kernelTables[i] = new AdamWKernels.Table();
        for (Group g : groups)
            for (Tensor p : g.params())
                if (!p.requiresGrad()) throw new IllegalArgumentException("params: group '" + g.name() + "' has a tensor that does not require grad");
    }

    /** Splits named parameters into a decayed group and a no-decay group (biases, norms and embeddings: dim < 2 or a name with "wte"/"wpe"/"embed"). */
    public static List<Group> defaultGroups(Map<String, Tensor> named, double weightDecay) {
        List<Tensor> decay = new ArrayList<>(), noDecay = new ArrayList<>();
        java.util.Set<Tensor> seen = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        for (var e : named.entrySet()) {
            if (!seen.add(e.getValue())) continue;                  // tied weights once
            String n = e.getKey();
            boolean embedding = n.contains("wte") || n.contains("wpe") || n.contains("embed");
            (e.getValue().dim() < 2 || embedding ? noDecay : decay).add(e.getValue());
        }
        return List.of(new Group("decay", decay, weightDecay), new Group("no_decay", noDecay, 0.0));
    }

    /** Number of steps taken (the t of the bias correction). */
    public long stepCount() { return step; }

    /** Every parameter of every group, in group order. */
    public List<Tensor> parameters() {
        return groups.stream().flatMap(g -> g.params().stream()).toList();
    }

    /** The first and second moment estimates {m, v} of p (the live state, not copies), or null before p's first update. */
    public Tensor[] moments(Tensor p) {
        requireParameter("p", p);
        Tensor[] mv = state.get(p);
        return mv == null ? null : mv.clone();
    }

    /** Resumes from a checkpoint: sets p's moments (copied into the state dtype and p's device). */
    public void loadMoments(Tensor p, Tensor m, Tensor v) {
        requireParameter("p", p);
        for (Tensor t : new Tensor[]{m, v})
            if (!java.util.Arrays.equals(t.shape(), p.shape()))
                throw new IllegalArgumentException("moments: expected shape " + java.util.Arrays.toString(p.shape())
                        + " (the parameter's), got " + java.util.Arrays.toString(t.shape()));
        Tensor[] mv = newState(p);
        try (NoGrad ignored = NoGrad.enter(); MemoryScope scope = MemoryScope.open()) {
            mv[0].copyFrom(m.to(p.device()).to(mv[0].dtype()));
            mv[1].copyFrom(v.to(p.device()).to(mv[1].dtype()));
        }
        Tensor[] old = state.put(p, mv);
        if (old != null) for (Tensor t : old) t.release();
    }

    /** Resumes from a checkpoint: the number of steps already taken. */
    public void restoreStepCount(long steps) {
        if (steps < 0) throw new IllegalArgumentException("steps: expected >= 0, got " + steps);
        step = steps;
    }

    private void requireParameter(String name, Tensor p) {
        for (Group g : groups)
            for (Tensor q : g.params())
                if (q == p) return;
        throw new IllegalArgumentException(name + ": not a parameter of this optimizer (tensor of shape "
                + java.util.Arrays.toString(p.shape()) + ")");
    }

    /** For tests: run every update through the tensor-op reference path. */
    void useReferencePath(boolean on) { forceReference = on; }

    /** Applies one update with learning rate lr to every parameter that has a gradient. */
    public void step(double lr) {
        if (!(lr >= 0)) throw new IllegalArgumentException("lr: expected >= 0, got " + lr);
        step++;
        double bc1 = 1 - Math.pow(beta1, step), bc2 = 1 - Math.pow(beta2, step);
        try (NoGrad ignored = NoGrad.enter()) {
            for (int gi = 0; gi < groups.size(); gi++) {
                Group g = groups.get(gi);
                List<Tensor> onGpu = new ArrayList<>();
                List<Tensor[]> gpuState = new ArrayList<>();
                for (Tensor p : g.params()) {
                    if (p.grad() == null) continue;
                    Tensor[] mv = state.computeIfAbsent(p, this::newState);
                    if (forceReference) reference(p, mv, lr, g.weightDecay(), bc1, bc2);
                    else if (fusable(p, mv)) fused(p, mv, lr, g.weightDecay(), bc1, bc2);
                    else if (AdamWKernels.fits(p, mv) && (onGpu.isEmpty() || onGpu.getFirst().device().equals(p.device()))) {
                        onGpu.add(p);
                        gpuState.add(mv);
                    } else reference(p, mv, lr, g.weightDecay(), bc1, bc2);
                }
                if (!onGpu.isEmpty()) {
                    // the same host-side constants as fused(), so the kernel matches the CPU bit for bit
                    double decay = 1 - lr * g.weightDecay(), stepSize = lr / bc1, sqrtBc2 = Math.sqrt(bc2);
                    AdamWKernels.of(onGpu.getFirst().device()).step(kernelTables[gi], onGpu, gpuState, beta1, beta2, eps, decay, stepSize, sqrtBc2);
                    kernelLaunches++;
                }
            }
        }
    }

    private Tensor[] newState(Tensor p) {
        DType t = p.dtype() == DType.F64 ? DType.F64 : DType.F32;
        Tensor m = Tensor.zeros(t, p.device(), p.shape()), v = Tensor.zeros(t, p.device(), p.shape());
        MemoryScope.detach(m);
        MemoryScope.detach(v);
        return new Tensor[]{m, v};
    }

    private static boolean fusable(Tensor p, Tensor[] mv) {
        Tensor g = p.grad();
        return p.device().isCpu() && (p.dtype() == DType.F32 || p.dtype() == DType.F64) && g.dtype() == p.dtype()
                && p.isContiguous() && g.isContiguous() && mv[0].dtype() == p.dtype();
    }

    private void fused(Tensor p, Tensor[] mv, double lr, double wd, double bc1, double bc2) {
        int n = (int) p.numel(), po = (int) p.offset(), go = (int) p.grad().offset();
        var c = new AdamWCpuUpdate.Constants(beta1, beta2, eps, 1 - lr * wd, lr / bc1, Math.sqrt(bc2));
        CpuStorage w = (CpuStorage) p.storage(), g = (CpuStorage) p.grad().storage();
        CpuStorage m = (CpuStorage) mv[0].storage(), v = (CpuStorage) mv[1].storage();
        if (p.dtype() == DType.F32) AdamWCpuUpdate.f32(w.floats(), po, g.floats(), go, m.floats(), v.floats(), n, c);
        else AdamWCpuUpdate.f64(w.doubles(), po, g.doubles(), go, m.doubles(), v.doubles(), n, c);
        p.storage().bumpVersion();
    }

    private void reference(Tensor p, Tensor[] mv, double lr, double wd, double bc1, double bc2) {
        try (MemoryScope scope = MemoryScope.open()) {
            Tensor g = p.grad().to(mv[0].dtype());
            mv[0].mulInPlace(beta1).addInPlace(g.mul(1 - beta1));
            mv[1].mulInPlace(beta2).addInPlace(g.square().mul(1 - beta2));
            Tensor update = mv[0].div(bc1).div(mv[1].div(bc2).sqrt().add(eps)).mul(lr);
            Tensor w = p.dtype() == mv[0].dtype() ? p : p.to(mv[0].dtype());
            Tensor next = w.mul(1 - lr * wd).sub(update);
            p.copyFrom(next);
        }
    }
}
