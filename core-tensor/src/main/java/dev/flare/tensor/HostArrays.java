package dev.flare.tensor;

/** The Java array type that holds each dtype on the host: float[], double[], short[] (BF16/F16), int[], long[], byte[] (BOOL). */
public final class HostArrays {
    private HostArrays() {}

    public static Object allocate(DType dtype, int numel) {
        return switch (dtype) {
            case F32 -> new float[numel];
            case F64 -> new double[numel];
            case BF16, F16 -> new short[numel];
            case I32 -> new int[numel];
            case I64 -> new long[numel];
            case BOOL -> new byte[numel];
        };
    }

    public static int length(Object array) { return java.lang.reflect.Array.getLength(array); }

    /** Checks that a host element count fits a Java array. */
    public static int checkedSize(String what, long numel) {
        if (numel > Integer.MAX_VALUE - 8)
            throw new IllegalArgumentException(what + ": " + numel + " elements do not fit a Java array (max "
                    + (Integer.MAX_VALUE - 8) + ")");
        return (int) numel;
    }
}
