package dev.flare.nn;

import dev.flare.tensor.Tensor;

/** Layer norm over the last dim with a learned scale (ones) and optional bias (zeros). */
public final class LayerNorm extends Module {
    public final Parameter weight;
    public final Parameter bias;
    private final double eps;

    public LayerNorm(int dim, boolean bias) {
        this(dim, bias, 1e-5);
    }

    public LayerNorm(int dim, boolean bias, double eps) {
        if (dim <= 0) throw new IllegalArgumentException("LayerNorm: expected a positive dim, got " + dim);
        this.weight = registerParameter("weight", Tensor.ones(dim));
        this.bias = bias ? registerParameter("bias", Tensor.zeros(dim)) : null;
        this.eps = eps;
    }

    public Tensor forward(Tensor x) {
        return x.layerNorm(weight.value(), bias == null ? null : bias.value(), eps);
    }
}
