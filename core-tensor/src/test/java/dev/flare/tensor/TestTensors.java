package dev.flare.tensor;

import dev.flare.tensor.cpu.CpuStorage;

import java.util.Arrays;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Randomized-test support for tensor ops: a seeded random source (fresh per run, see {@link TestSeeds}),
 * random shapes and exactly representable values per dtype, tensors with random layouts built directly on
 * host arrays (no kernel involved), an independent strided reader, reference rounding per dtype, and
 * comparisons whose failure messages carry the seed.
 */
public final class TestTensors {
    public final long seed;
    public final SplittableRandom rnd;

    /** Placed in storage gaps around strided views, to catch reads and writes outside the view. */
    public static final double SENTINEL = 96;

    public TestTensors() {
        this(TestSeeds.fresh());
    }

    public TestTensors(long seed) {
        this.seed = seed;
        this.rnd = new SplittableRandom(seed);
    }

    /** A failure-message text: what, plus the seed and how to rerun with it. */
    public String at(String what) {
        return what + " [" + TestSeeds.describe(seed) + "]";
    }

    public int nextInt(int lo, int hiExclusive) { return rnd.nextInt(lo, hiExclusive); }

    public boolean chance(double p) { return rnd.nextDouble() < p; }

    public <T> T pick(T[] options) { return options[rnd.nextInt(options.length)]; }

    // ---- shapes -------------------------------------------------------------------------------------------

    /** Rank in [0, maxRank]; sizes mostly in [1, maxSize] (size 1 often), 0 with probability pZero per dim. */
    public int[] shape(int maxRank, int maxSize, double pZero) {
        int[] s = new int[rnd.nextInt(maxRank + 1)];
        for (int i = 0; i < s.length; i++) {
            s[i] = chance(pZero) ? 0 : chance(0.25) ? 1 : rnd.nextInt(1, maxSize + 1);
        }
        return s;
    }

    /** A shape that broadcasts to {@code out}: a random suffix of it with some sizes replaced by 1. */
    public int[] broadcastableTo(int[] out) {
        int rank = rnd.nextInt(out.length + 1);
        int[] s = Arrays.copyOfRange(out, out.length - rank, out.length);
        for (int i = 0; i < s.length; i++) if (chance(0.3)) s[i] = 1;
        return s;
    }

    public static long numel(int[] shape) {
        long n = 1;
        for (int d : shape) n *= d;
        return n;
    }

    public static int[] unravel(long flat, int[] shape) {
        int[] idx = new int[shape.length];
        for (int d = shape.length - 1; d >= 0; d--) {
            if (shape[d] == 0) return idx;
            idx[d] = (int) (flat % shape[d]);
            flat /= shape[d];
        }
        return idx;
    }

    public static int ravel(int[] idx, int[] shape) {
        int f = 0;
        for (int d = 0; d < shape.length; d++) f = f * shape[d] + idx[d];
        return f;
    }

    // ---- values -------------------------------------------------------------------------------------------

    public enum Kind {
        /** Roughly standard normal (floats) or small integers. */
        NORMAL,
        /** Strictly positive, away from 0 (for log, sqrt, reciprocal, pow bases). */
        POSITIVE,
        /** NORMAL mixed with NaN, +-Inf, +-0, 1, -1, tiny and huge values (floats only). */
        SPECIAL,
        /** Small integers (many ties), as any dtype. */
        TIES
    }

    /** n random values exactly representable in dtype. */
    public double[] values(DType dt, int n, Kind kind) {
        double[] v = new double[n];
        for (int i = 0; i < n; i++) v[i] = value(dt, kind);
        return v;
    }

    private static final double[] SPECIALS = {Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, 0.0, -0.0,
            1, -1, 1e-30, -3e-8, 1e30, 65504, 3e38};

    public double value(DType dt, Kind kind) {
        if (dt == DType.BOOL) return rnd.nextInt(2);
        if (!dt.isFloatingPoint()) {
            return switch (kind) {
                case POSITIVE -> rnd.nextInt(1, 60);
                case TIES -> rnd.nextInt(-3, 4);
                // Large I64 values stay below 2^31 in magnitude, so squares and products fit a long.
                default -> dt == DType.I64 && chance(0.2) ? rnd.nextLong(-(1L << 31), 1L << 31) : rnd.nextInt(-1000, 1000);
            };
        }
        double x = switch (kind) {
            case NORMAL -> rnd.nextGaussian() * 2;
            case POSITIVE -> 0.1 + Math.abs(rnd.nextGaussian() * 3);
            case SPECIAL -> chance(0.3) ? SPECIALS[rnd.nextInt(SPECIALS.length)] : rnd.nextGaussian() * 2;
            case TIES -> rnd.nextInt(-3, 4);
        };
        return representable(dt, x);
    }

    /** x made exactly representable in a floating dtype by truncating extra bits (not the rounding under test). */
    public static double representable(DType dt, double x) {
        return switch (dt) {
            case F64 -> x;
            case F32 -> (float) x;
            case BF16 -> Float.isNaN((float) x) ? Double.NaN
                    : Float.intBitsToFloat(Float.floatToRawIntBits((float) x) & 0xFFFF_0000);
            case F16 -> Float.float16ToFloat(Float.floatToFloat16((float) x));
            case I32, I64 -> Math.rint(x);
            case BOOL -> x != 0 ? 1 : 0;
        };
    }

    // ---- reference rounding -------------------------------------------------------------------------------

    /** The value a kernel must store for an exact result v in dtype dt (the documented conversion rules). */
    public static double round(DType dt, double v) {
        return switch (dt) {
            case F64 -> v;
            case F32 -> (float) v;
            case BF16 -> refBf16((float) v);
            case F16 -> Float.float16ToFloat(Float.floatToFloat16((float) v));
            case I32 -> (int) v;
            case I64 -> (long) v;
            case BOOL -> v != 0 ? 1 : 0;
        };
    }

    /** A cast from src to dst: as {@link #round}, except that integer sources narrow to I32 by wrapping. */
    public static double convert(DType src, DType dst, double v) {
        if (!src.isFloatingPoint() && dst == DType.I32) return (int) (long) v;
        return round(dst, v);
    }

    /** Round-to-nearest-even float to bfloat16, by comparing the two neighbouring candidates in double. */
    public static float refBf16(float f) {
        if (Float.isNaN(f) || Float.isInfinite(f)) return f;
        int bits = Float.floatToRawIntBits(f);
        int loBits = bits & 0xFFFF_0000, hiBits = loBits + 0x1_0000;
        double lo = Float.intBitsToFloat(loBits);
        // The candidate away from zero may be the infinity past the largest bfloat16: measure it as 2^128.
        boolean hiInf = (hiBits & 0x7FFF_FFFF) == 0x7F80_0000;
        double hi = hiInf ? Math.copySign(0x1p128, f) : Float.intBitsToFloat(hiBits);
        double dLo = Math.abs(f - lo), dHi = Math.abs(hi - f);
        boolean takeHi = dHi < dLo || (dHi == dLo && (loBits & 0x1_0000) != 0);
        return takeHi ? Float.intBitsToFloat(hiBits) : (float) lo;
    }

    // ---- tensors on host arrays ---------------------------------------------------------------------------

    /** A contiguous tensor holding {@code logical} (row-major), built without any kernel. */
    public static Tensor contiguous(double[] logical, int[] shape, DType dt) {
        Object arr = HostArrays.allocate(dt, logical.length);
        for (int i = 0; i < logical.length; i++) put(arr, dt, i, logical[i]);
        return Tensor.of(new CpuStorage(dt, arr), shape, Shapes.contiguousStrides(shape), 0);
    }

    /** A tensor with a random layout (contiguous, or permuted/padded/offset inside a larger storage). */
    public Tensor tensor(double[] logical, int[] shape, DType dt) {
        return chance(0.3) ? contiguous(logical, shape, dt) : strided(logical, shape, dt);
    }

    /**
     * A view of shape {@code shape} holding {@code logical}, with dims nested in a random order in memory,
     * random gaps between rows and a random offset; every storage element outside the view is SENTINEL.
     */
    public Tensor strided(double[] logical, int[] shape, DType dt) {
        int r = shape.length;
        int[] order = new int[r];                  // order[0] is the outermost dim in memory
        for (int i = 0; i < r; i++) order[i] = i;
        for (int i = r - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1), t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        long[] strides = new long[r];
        long s = chance(0.2) ? 2 : 1;
        for (int k = r - 1; k >= 0; k--) {
            int d = order[k];
            strides[d] = s;
            s *= Math.max(shape[d], 1) + (chance(0.5) ? rnd.nextInt(1, 3) : 0);
        }
        long offset = rnd.nextInt(0, 4);
        long max = offset;
        for (int d = 0; d < r; d++) max += (long) (Math.max(shape[d], 1) - 1) * strides[d];
        int size = (int) max + 1 + rnd.nextInt(0, 3);
        Object arr = HostArrays.allocate(dt, size);
        for (int i = 0; i < size; i++) put(arr, dt, i, dt == DType.BOOL ? 1 : SENTINEL);
        for (int f = 0; f < logical.length; f++) {
            int[] idx = unravel(f, shape);
            long o = offset;
            for (int d = 0; d < r; d++) o += idx[d] * strides[d];
            put(arr, dt, (int) o, logical[f]);
        }
        return Tensor.of(new CpuStorage(dt, arr), shape, strides, offset);
    }

    /** Random values of a random layout. */
    public Tensor random(DType dt, Kind kind, int... shape) {
        return tensor(values(dt, (int) numel(shape), kind), shape, dt);
    }

    public static void put(Object arr, DType dt, int i, double v) {
        switch (dt) {
            case F32 -> ((float[]) arr)[i] = (float) v;
            case F64 -> ((double[]) arr)[i] = v;
            case BF16 -> {
                float f = (float) v;
                if (Float.isNaN(f)) ((short[]) arr)[i] = (short) 0x7FC0;
                else {
                    int bits = Float.floatToRawIntBits(f);
                    if ((bits & 0xFFFF) != 0) throw new IllegalArgumentException(v + " is not a bfloat16 value");
                    ((short[]) arr)[i] = (short) (bits >>> 16);
                }
            }
            case F16 -> ((short[]) arr)[i] = Float.floatToFloat16((float) v);
            case I32 -> ((int[]) arr)[i] = (int) v;
            case I64 -> ((long[]) arr)[i] = (long) v;
            case BOOL -> ((byte[]) arr)[i] = (byte) (v != 0 ? 1 : 0);
        }
    }

    public static double get(Object arr, DType dt, int i) {
        return switch (dt) {
            case F32 -> ((float[]) arr)[i];
            case F64 -> ((double[]) arr)[i];
            case BF16 -> Float.intBitsToFloat((((short[]) arr)[i] & 0xFFFF) << 16);
            case F16 -> Float.float16ToFloat(((short[]) arr)[i]);
            case I32 -> ((int[]) arr)[i];
            case I64 -> ((long[]) arr)[i];
            case BOOL -> ((byte[]) arr)[i];
        };
    }

    public static Object raw(Tensor t) { return ((CpuStorage) t.storage()).array(); }

    /** The logical elements of t in row-major order, read by explicit index math (no kernel involved). */
    public static double[] read(Tensor t) {
        int[] shape = t.shape();
        long[] strides = t.strides();
        Object arr = raw(t);
        double[] out = new double[(int) numel(shape)];
        for (int f = 0; f < out.length; f++) {
            int[] idx = unravel(f, shape);
            long o = t.offset();
            for (int d = 0; d < shape.length; d++) o += idx[d] * strides[d];
            out[f] = get(arr, t.dtype(), (int) o);
        }
        return out;
    }

    /** The elements of {@code v} (shape {@code in}) broadcast to {@code out}, by explicit index math. */
    public static double[] broadcast(double[] v, int[] in, int[] out) {
        double[] r = new double[(int) numel(out)];
        int off = out.length - in.length;
        for (int f = 0; f < r.length; f++) {
            int[] idx = unravel(f, out);
            int src = 0;
            for (int d = 0; d < in.length; d++) src = src * in[d] + (in[d] == 1 ? 0 : idx[d + off]);
            r[f] = v[src];
        }
        return r;
    }

    // ---- comparisons --------------------------------------------------------------------------------------

    /** {rtol, atol} for results of transcendental math stored in dt. */
    public static double[] tolerance(DType dt) {
        return switch (dt) {
            case F64 -> new double[]{1e-12, 1e-300};
            case F32 -> new double[]{2e-6, 1e-6};
            case BF16 -> new double[]{1.6e-2, 1e-6};
            case F16 -> new double[]{2e-3, 1e-6};
            default -> new double[]{0, 0};
        };
    }

    public void assertClose(double[] expected, double[] actual, double rtol, double atol, String what) {
        assertEquals(expected.length, actual.length, at(what + ": element count"));
        for (int i = 0; i < expected.length; i++) {
            double e = expected[i], a = actual[i];
            boolean ok = Double.isNaN(e) ? Double.isNaN(a)
                    : Double.isInfinite(e) ? e == a
                    : Math.abs(a - e) <= atol + rtol * Math.abs(e);
            if (!ok) fail(at(what + ": element " + i + ": expected " + e + ", got " + a + " (rtol " + rtol + ", atol " + atol
                    + ")\n expected " + head(expected) + "\n actual   " + head(actual)));
        }
    }

    public void assertExact(double[] expected, double[] actual, String what) {
        assertClose(expected, actual, 0, 0, what);
    }

    /** Values and shape of t equal the reference (exactly, or within dtype tolerance when approx). */
    public void assertTensor(double[] expected, int[] shape, Tensor t, boolean approx, String what) {
        assertEquals(Arrays.toString(shape), Arrays.toString(t.shape()), at(what + ": shape"));
        double[] tol = approx ? tolerance(t.dtype()) : new double[]{0, 0};
        assertClose(expected, read(t), tol[0], tol[1], what);
    }

    private static String head(double[] v) {
        return Arrays.toString(Arrays.copyOf(v, Math.min(v.length, 12))) + (v.length > 12 ? "..." : "");
    }

    public static double[] map(double[] v, java.util.function.DoubleUnaryOperator f) {
        double[] r = new double[v.length];
        for (int i = 0; i < v.length; i++) r[i] = f.applyAsDouble(v[i]);
        return r;
    }

    public static double[] roundAll(DType dt, double[] v) {
        return map(v, x -> round(dt, x));
    }
}
