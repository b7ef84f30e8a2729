package dev.flare.nn;

import dev.flare.tensor.Tensor;
import dev.flare.tensor.random.Generator;

/** A lookup table (num, dim); forward maps ids (any shape, I32/I64) to ids.shape + [dim]. */
public final class Embedding extends Module {
    public final Parameter weight;

    public Embedding(int num, int dim, Generator gen) {
        if (num <= 0 || dim <= 0) throw new IllegalArgumentException("Embedding: expected positive sizes, got num=" + num + ", dim=" + dim);
        weight = registerParameter("weight", Tensor.randn(gen, num, dim).mul(0.02));
    }

    public Tensor forward(Tensor ids) { return Tensor.embedding(weight.value(), ids); }
}
