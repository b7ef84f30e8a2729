package dev.flare.tensor.ops;

/** Elementwise functions of one tensor. GELU is the tanh approximation (GPT-2's). */
public enum UnaryOp {
    NEG, ABS, EXP, LOG, SQRT, RSQRT, SQUARE, RECIPROCAL, SIN, COS, TANH, SIGMOID, RELU, GELU, SIGN,
    /** Logical not, for BOOL tensors only. */
    NOT;

    /** True when the op is defined for integer tensors too. */
    public boolean integerOk() {
        return this == NEG || this == ABS || this == SQUARE || this == RELU || this == SIGN;
    }
}
