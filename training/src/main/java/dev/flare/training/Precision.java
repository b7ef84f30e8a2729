package dev.flare.training;

import dev.flare.tensor.DType;

import java.util.Locale;

/**
 * The arithmetic of forward and backward. FP32 trains in F32 throughout. BF16 and FP16 run forward/backward on
 * a BF16/F16 copy of the weights while F32 master weights, their gradients and the AdamW state stay F32
 * (docs/training.md); FP16 also scales the loss so small gradients survive F16's narrow range.
 */
public enum Precision {
    FP32(DType.F32), BF16(DType.BF16), FP16(DType.F16);

    private final DType compute;

    Precision(DType compute) { this.compute = compute; }

    /** The dtype the forward and backward passes run in. */
    public DType computeDType() { return compute; }

    /** Parses fp32, bf16 or fp16 (any case). */
    public static Precision parse(String text) {
        for (Precision p : values()) if (p.name().equalsIgnoreCase(text)) return p;
        throw new IllegalArgumentException("precision: expected fp32, bf16 or fp16, got '" + text + "'");
    }

    @Override
    public String toString() { return name().toLowerCase(Locale.ROOT); }
}
