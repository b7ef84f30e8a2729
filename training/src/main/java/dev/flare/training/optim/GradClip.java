package dev.flare.training.optim;

import dev.flare.autograd.NoGrad;
import dev.flare.tensor.DType;
import dev.flare.tensor.Tensor;

import java.util.List;

/** Gradient clipping by the global L2 norm over all parameters (as torch.nn.utils.clip_grad_norm_). */
public final class GradClip {
    private GradClip() {}

    /**
     * The global norm of the gradients (parameters without a gradient are skipped). Each gradient's sum of squares
     * is added up in F64 on its device and read once per device: one host sync, where reading each sum (a GPU
     * round trip per parameter, 148 for GPT-2) left the GPU idle between tiny kernels.
     */
    public static double globalNorm(List<Tensor> params) { return globalNormOf(gradientsOf(params)); }

    /** The global L2 norm of the given gradient tensors (each counted once; see {@link #globalNorm}). */
    public static double globalNormOf(List<Tensor> gradients) {
        java.util.Map<dev.flare.tensor.Device, Tensor> totals = new java.util.LinkedHashMap<>();
        try (NoGrad ignored = NoGrad.enter()) {
            for (Tensor g : gradients) {
                Tensor g32 = g.dtype() == DType.F64 ? g : g.to(DType.F32);
                Tensor s = g32.square().sum().to(DType.F64);
                totals.merge(g.device(), s, Tensor::add);
            }
            double sumSquares = 0;
            for (Tensor t : totals.values()) sumSquares += t.item();
            return Math.sqrt(sumSquares);
        }
    }

    /**
     * Scales every gradient by min(1, maxNorm / (norm + 1e-6)) and returns the norm before clipping. A
     * non-finite norm is returned unchanged and nothing is scaled, so the caller can stop or skip the step.
     */
    public static double clipGlobalNorm(List<Tensor> params, double maxNorm) {
        return clipGlobalNormOf(gradientsOf(params), maxNorm);
    }

    /**
     * {@link #clipGlobalNorm} over gradient tensors themselves (for example one flat buffer that every parameter's
     * gradient is a view of: one reduction and one scale instead of one per parameter).
     */
    public static double clipGlobalNormOf(List<Tensor> gradients, double maxNorm) {
        if (!(maxNorm > 0)) throw new IllegalArgumentException("maxNorm: expected > 0, got " + maxNorm);
        double norm = globalNormOf(gradients);
        if (!Double.isFinite(norm)) return norm;
        double scale = maxNorm / (norm + 1e-6);
        if (scale < 1) {
            try (NoGrad ignored = NoGrad.enter()) {
                for (Tensor g : gradients) g.mulInPlace(scale);
            }
        }
        return norm;
    }

    private static List<Tensor> gradientsOf(List<Tensor> params) {
        List<Tensor> grads = new java.util.ArrayList<>();
        for (Tensor p : params) if (p.grad() != null) grads.add(p.grad());
        return grads;
    }
}
