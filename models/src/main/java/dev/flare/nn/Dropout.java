package dev.flare.nn;

import dev.flare.tensor.Tensor;
import dev.flare.tensor.random.Generator;

/** Zeroes elements with probability p in training mode (scaling the rest by 1/(1-p)); identity in eval mode. */
public final class Dropout extends Module {
    private final double p;
    private final Generator gen;

    public Dropout(double p, Generator gen) {
        if (!(p >= 0 && p < 1)) throw new IllegalArgumentException("Dropout: p must be in [0, 1), got " + p);
        this.p = p;
        this.gen = gen;
    }

    public double p() { return p; }

    public Tensor forward(Tensor x) {
        return isTraining() && p > 0 ? x.dropout(p, gen) : x;
    }
}
