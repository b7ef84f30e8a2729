package dev.flare.nn;

import dev.flare.tensor.Tensor;
import dev.flare.tensor.random.Generator;

import java.util.List;

/**
 * A lookup table of num rows of width dim; forward maps ids (any shape, I32/I64, each in [0, num)) to ids.shape + [dim].
 * The weight may be stored with more rows than num: rows [num, paddedNum) are zero padding that no id looks up
 * (GPT pads its token embedding so that the tied LM head's GEMM has aligned dimensions).
 */
public final class Embedding extends Module {
    public final Parameter weight;
    private final int num;

    public Embedding(int num, int dim, Generator gen) {
        this(num, num, dim, gen);
    }

    /** num rows drawn from N(0, 0.02^2) (the same draws as an unpadded table), then paddedNum - num zero rows. */
    public Embedding(int num, int paddedNum, int dim, Generator gen) {
        if (num <= 0 || dim <= 0) throw new IllegalArgumentException("Embedding: expected positive sizes, got num=" + num + ", dim=" + dim);
        if (paddedNum < num) throw new IllegalArgumentException("paddedNum: expected >= num (" + num + "), got " + paddedNum);
        this.num = num;
        Tensor drawn = ParameterInit.normal(gen, 0.02, num, dim);
        Tensor initial = paddedNum == num ? drawn : Tensor.cat(List.of(drawn, Tensor.zeros(paddedNum - num, dim)), 0);
        weight = registerParameter("weight", initial);
    }

    /** Rows ids may look up (the weight may store more: padding). */
    public int num() { return num; }

    /** The first num rows of the weight: a view, so writing into it writes the weight. */
    public Tensor unpaddedWeight() {
        Tensor w = weight.value();
        return w.size(0) == num ? w : w.narrow(0, 0, num);
    }

    public Tensor forward(Tensor ids) { return Tensor.embedding(unpaddedWeight(), ids); }
}
