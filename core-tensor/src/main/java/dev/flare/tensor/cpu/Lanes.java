package dev.flare.tensor.cpu;

import dev.flare.tensor.HalfFloats;
import dev.flare.tensor.DType;
import dev.flare.tensor.Tensor;

/**
 * Moves blocks of strided elements of any dtype between a host array and a {@code double[]} or {@code long[]}
 * scratch buffer, converting on the way. The generic kernels compute on these buffers: floating-point dtypes
 * in double (BF16/F16 widen exactly through float), integers and BOOL in long, so no precision is lost on
 * the way in. On the way out the value is converted to the destination dtype:
 * <ul>
 *   <li>to F32: rounded to nearest; to BF16/F16: rounded to float first, then to nearest-even half (as a
 *       kernel computing in float would); to F64: a long is rounded to nearest;</li>
 *   <li>double to I32/I64: truncated toward zero (like a C cast); out-of-range values saturate to the
 *       type's min/max and NaN becomes 0 (Java's cast rules, which C leaves undefined);</li>
 *   <li>long to I32: the low 32 bits (two's complement wrap, like a C cast);</li>
 *   <li>anything to BOOL: {@code value != 0}, so NaN becomes true (as in PyTorch).</li>
 * </ul>
 * Offsets and steps are element indices into the array; a step of 0 repeats one element (broadcast).
 */
final class Lanes {
    private Lanes() {}

    /** Elements per scratch block: small enough to stay in L1 with a few buffers. */
    static final int BLOCK = 256;

    /** Per-thread scratch buffers (three of each kind: two inputs and a condition/result). */
    static final class Scratch {
        final double[] d0 = new double[BLOCK], d1 = new double[BLOCK], d2 = new double[BLOCK];
        final long[] l0 = new long[BLOCK], l1 = new long[BLOCK], l2 = new long[BLOCK];
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    static Scratch scratch() { return SCRATCH.get(); }

    /** The backing array of a CPU tensor (throws if its storage was released). */
    static Object array(Tensor t) {
        return ((CpuStorage) t.storage()).array();
    }

    /** True when the dtype computes in the long domain (I32, I64, BOOL). */
    static boolean integral(DType t) {
        return !t.isFloatingPoint();
    }

    static void loadD(DType type, Object array, long offset, long step, int n, double[] buf) {
        int o = (int) offset, s = (int) step;
        switch (type) {
            case F32 -> { float[] a = (float[]) array; for (int i = 0; i < n; i++, o += s) buf[i] = a[o]; }
            case F64 -> { double[] a = (double[]) array; for (int i = 0; i < n; i++, o += s) buf[i] = a[o]; }
            case BF16 -> { short[] a = (short[]) array; for (int i = 0; i < n; i++, o += s) buf[i] = HalfFloats.bf16ToFloat(a[o]); }
            case F16 -> { short[] a = (short[]) array; for (int i = 0; i < n; i++, o += s) buf[i] = HalfFloats.f16ToFloat(a[o]); }
            case I32 -> { int[] a = (int[]) array; for (int i = 0; i < n; i++, o += s) buf[i] = a[o]; }
            case I64 -> { long[] a = (long[]) array; for (int i = 0; i < n; i++, o += s) buf[i] = a[o]; }
            case BOOL -> { byte[] a = (byte[]) array; for (int i = 0; i < n; i++, o += s) buf[i] = a[o]; }
        }
    }

    /** Loads as long; floating-point values are truncated toward zero (saturating, NaN to 0). */
    static void loadL(DType type, Object array, long offset, long step, int n, long[] buf) {
        int o = (int) offset, s = (int) step;
        switch (type) {
            case I32 -> { int[] a = (int[]) array; for (int i = 0; i < n; i++, o += s) buf[i] = a[o]; }
            case I64 -> { long[] a = (long[]) array; for (int i = 0; i < n; i++, o += s) buf[i] = a[o]; }
            case BOOL -> { byte[] a = (byte[]) array; for (int i = 0; i < n; i++, o += s) buf[i] = a[o]; }
            case F32 -> { float[] a = (float[]) array; for (int i = 0; i < n; i++, o += s) buf[i] = (long) a[o]; }
            case F64 -> { double[] a = (double[]) array; for (int i = 0; i < n; i++, o += s) buf[i] = (long) a[o]; }
            case BF16 -> { short[] a = (short[]) array; for (int i = 0; i < n; i++, o += s) buf[i] = (long) HalfFloats.bf16ToFloat(a[o]); }
            case F16 -> { short[] a = (short[]) array; for (int i = 0; i < n; i++, o += s) buf[i] = (long) HalfFloats.f16ToFloat(a[o]); }
        }
    }

    static void storeD(double[] buf, int n, DType type, Object array, long offset, long step) {
        int o = (int) offset, s = (int) step;
        switch (type) {
            case F32 -> { float[] a = (float[]) array; for (int i = 0; i < n; i++, o += s) a[o] = (float) buf[i]; }
            case F64 -> { double[] a = (double[]) array; for (int i = 0; i < n; i++, o += s) a[o] = buf[i]; }
            case BF16 -> { short[] a = (short[]) array; for (int i = 0; i < n; i++, o += s) a[o] = HalfFloats.floatToBf16((float) buf[i]); }
            case F16 -> { short[] a = (short[]) array; for (int i = 0; i < n; i++, o += s) a[o] = HalfFloats.floatToF16((float) buf[i]); }
            case I32 -> { int[] a = (int[]) array; for (int i = 0; i < n; i++, o += s) a[o] = (int) buf[i]; }
            case I64 -> { long[] a = (long[]) array; for (int i = 0; i < n; i++, o += s) a[o] = (long) buf[i]; }
            case BOOL -> { byte[] a = (byte[]) array; for (int i = 0; i < n; i++, o += s) a[o] = (byte) (buf[i] != 0 ? 1 : 0); }
        }
    }

    static void storeL(long[] buf, int n, DType type, Object array, long offset, long step) {
        int o = (int) offset, s = (int) step;
        switch (type) {
            case I32 -> { int[] a = (int[]) array; for (int i = 0; i < n; i++, o += s) a[o] = (int) buf[i]; }
            case I64 -> { long[] a = (long[]) array; for (int i = 0; i < n; i++, o += s) a[o] = buf[i]; }
            case BOOL -> { byte[] a = (byte[]) array; for (int i = 0; i < n; i++, o += s) a[o] = (byte) (buf[i] != 0 ? 1 : 0); }
            case F32 -> { float[] a = (float[]) array; for (int i = 0; i < n; i++, o += s) a[o] = (float) buf[i]; }
            case F64 -> { double[] a = (double[]) array; for (int i = 0; i < n; i++, o += s) a[o] = (double) buf[i]; }
            case BF16 -> { short[] a = (short[]) array; for (int i = 0; i < n; i++, o += s) a[o] = HalfFloats.floatToBf16((float) buf[i]); }
            case F16 -> { short[] a = (short[]) array; for (int i = 0; i < n; i++, o += s) a[o] = HalfFloats.floatToF16((float) buf[i]); }
        }
    }

    /** Stores one double, converted as by {@link #storeD}. */
    static void setD(DType type, Object array, long index, double v) {
        int o = (int) index;
        switch (type) {
            case F32 -> ((float[]) array)[o] = (float) v;
            case F64 -> ((double[]) array)[o] = v;
            case BF16 -> ((short[]) array)[o] = HalfFloats.floatToBf16((float) v);
            case F16 -> ((short[]) array)[o] = HalfFloats.floatToF16((float) v);
            case I32 -> ((int[]) array)[o] = (int) v;
            case I64 -> ((long[]) array)[o] = (long) v;
            case BOOL -> ((byte[]) array)[o] = (byte) (v != 0 ? 1 : 0);
        }
    }

    /** Stores one long, converted as by {@link #storeL}. */
    static void setL(DType type, Object array, long index, long v) {
        int o = (int) index;
        switch (type) {
            case I32 -> ((int[]) array)[o] = (int) v;
            case I64 -> ((long[]) array)[o] = v;
            case BOOL -> ((byte[]) array)[o] = (byte) (v != 0 ? 1 : 0);
            case F32 -> ((float[]) array)[o] = (float) v;
            case F64 -> ((double[]) array)[o] = (double) v;
            case BF16 -> ((short[]) array)[o] = HalfFloats.floatToBf16((float) v);
            case F16 -> ((short[]) array)[o] = HalfFloats.floatToF16((float) v);
        }
    }
}
