package dev.flare.nn;

import dev.flare.tensor.Tensor;
import dev.flare.tensor.random.Generator;

/** y = x W + b with W stored (in, out), so x (..., in) maps to (..., out). Initialised N(0, 0.02) as GPT-2. */
public final class Linear extends Module {
    public final Parameter weight;
    public final Parameter bias;          // null without bias
    private final int in, out;

    public Linear(int in, int out, boolean bias, Generator gen) {
        this(in, out, bias, gen, 0.02);
    }

    public Linear(int in, int out, boolean bias, Generator gen, double std) {
        if (in <= 0 || out <= 0) throw new IllegalArgumentException("Linear: expected positive sizes, got in=" + in + ", out=" + out);
        this.in = in;
        this.out = out;
        this.weight = registerParameter("weight", ParameterInit.normal(gen, std, in, out));
        this.bias = bias ? registerParameter("bias", Tensor.zeros(out)) : null;
    }

    public Tensor forward(Tensor x) {
        if (x.size(-1) != in)
            throw new IllegalArgumentException("Linear: x must end in " + in + " features, got shape " + java.util.Arrays.toString(x.shape()));
        // One op: on CUDA the bias is added inside the GEMM (cuBLASLt epilogue), not in a second pass.
        return bias == null ? x.matmul(weight.value()) : x.matmulAddBias(weight.value(), bias.value());
    }

    public int inFeatures() { return in; }

    public int outFeatures() { return out; }
}
