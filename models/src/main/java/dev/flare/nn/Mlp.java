package dev.flare.nn;

import dev.flare.tensor.Tensor;
import dev.flare.tensor.random.Generator;

/** GPT-2's feed-forward block: Linear(d, 4d) → GELU (tanh) → Linear(4d, d) → Dropout. Names c_fc / c_proj as GPT-2. */
public final class Mlp extends Module {
    public final Linear fc;
    public final Linear proj;
    private final Dropout dropout;

    /** projStd scales the output projection's init (GPT-2: 0.02 / sqrt(2 * layers)). */
    public Mlp(int dim, boolean bias, double dropoutP, double projStd, Generator gen) {
        fc = registerModule("c_fc", new Linear(dim, 4 * dim, bias, gen));
        proj = registerModule("c_proj", new Linear(4 * dim, dim, bias, gen, projStd));
        dropout = registerModule("dropout", new Dropout(dropoutP, gen));
    }

    public Tensor forward(Tensor x) {
        return dropout.forward(proj.forward(fc.forward(x).gelu()));
    }
}
