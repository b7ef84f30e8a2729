package dev.flare.tensor;

/** Element types. BF16 and F16 are stored as 16-bit patterns and computed in F32 on the CPU. */
public enum DType {
    F32(4, true), F64(8, true), BF16(2, true), F16(2, true), I32(4, false), I64(8, false),
    /** One byte per element, 0 or 1: the result of comparisons and the type of boolean masks. */
    BOOL(1, false);

    private final int byteSize;
    private final boolean floatingPoint;

    DType(int byteSize, boolean floatingPoint) {
        this.byteSize = byteSize;
        this.floatingPoint = floatingPoint;
    }

    public int byteSize() { return byteSize; }

    public boolean isFloatingPoint() { return floatingPoint; }

    /** True for the 16-bit floating types that are computed in F32. */
    public boolean isHalf() { return this == BF16 || this == F16; }

    public boolean isIntegral() { return this == I32 || this == I64; }
}
