package dev.flare.tensor.ops;

import dev.flare.tensor.DType;
import dev.flare.tensor.Tensor;

import java.util.Objects;

/** Argument checks shared by ops; every message names the argument, what was expected and what came. */
public final class Checks {
    private Checks() {}

    public static Tensor notNull(String argument, Tensor t) {
        return Objects.requireNonNull(t, () -> argument + ": expected a tensor, got null");
    }

    /** Same device and dtype for every operand of an op. */
    public static void sameDeviceAndDType(String op, String nameA, Tensor a, String nameB, Tensor b) {
        if (!a.device().equals(b.device()))
            throw new IllegalArgumentException(op + ": " + nameA + " is on " + a.device() + " but " + nameB + " is on "
                    + b.device() + "; move one with .to(device)");
        if (a.dtype() != b.dtype())
            throw new IllegalArgumentException(op + ": " + nameA + " is " + a.dtype() + " but " + nameB + " is "
                    + b.dtype() + "; cast one with .to(dtype)");
    }

    public static void sameDevice(String op, String nameA, Tensor a, String nameB, Tensor b) {
        if (!a.device().equals(b.device()))
            throw new IllegalArgumentException(op + ": " + nameA + " is on " + a.device() + " but " + nameB + " is on "
                    + b.device() + "; move one with .to(device)");
    }

    public static void floating(String op, String name, Tensor t) {
        if (!t.dtype().isFloatingPoint())
            throw new IllegalArgumentException(op + ": " + name + " must be floating point (F32, F64, BF16, F16), got "
                    + t.dtype());
    }

    public static void dtype(String op, String name, Tensor t, DType... allowed) {
        for (DType d : allowed) if (t.dtype() == d) return;
        throw new IllegalArgumentException(op + ": " + name + " must be one of " + java.util.Arrays.toString(allowed)
                + ", got " + t.dtype());
    }

    public static void rank(String op, String name, Tensor t, int min) {
        if (t.dim() < min)
            throw new IllegalArgumentException(op + ": " + name + " must have at least " + min + " dims, got shape "
                    + java.util.Arrays.toString(t.shape()));
    }

    public static void live(Tensor t) { t.storage().checkLive(); }

    /**
     * The destination of an in-place write must not have several elements on one memory location (a stride-0
     * dim of size > 1, as made by expand): the result would depend on the order of writes.
     */
    public static void writable(String op, String name, Tensor t) {
        int[] shape = t.shape();
        long[] strides = t.strides();
        for (int d = 0; d < shape.length; d++)
            if (strides[d] == 0 && shape[d] > 1)
                throw new IllegalArgumentException(op + ": " + name + " has stride 0 along dim " + d + " of size " + shape[d]
                        + " (shape " + java.util.Arrays.toString(shape) + ", an expanded view), so several of its elements"
                        + " share memory; write into a contiguous() copy instead");
    }
}
