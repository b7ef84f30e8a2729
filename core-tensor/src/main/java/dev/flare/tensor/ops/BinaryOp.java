package dev.flare.tensor.ops;

/** Elementwise functions of two tensors (or a tensor and a scalar). Comparisons produce BOOL. */
public enum BinaryOp {
    ADD, SUB, MUL, DIV, POW, MAXIMUM, MINIMUM,
    EQ, NE, LT, LE, GT, GE,
    /** Logical and/or, for BOOL tensors only. */
    AND, OR;

    public boolean isComparison() {
        return this == EQ || this == NE || this == LT || this == LE || this == GT || this == GE;
    }

    public boolean isLogical() { return this == AND || this == OR; }

    /** True when the op is defined for integer tensors (integer division and powers are not: cast first). */
    public boolean integerOk() { return this != DIV && this != POW; }
}
