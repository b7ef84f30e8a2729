package dev.flare.tensor.cpu;

import dev.flare.tensor.HalfFloats;
import dev.flare.tensor.DType;
import dev.flare.tensor.Shapes;
import dev.flare.tensor.Tensor;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * Builds CPU tensors straight over host arrays (no op layer, so no dependency on the elementwise kernels) and
 * reads them back, for the NN kernel tests. Strided layouts permute the physical dim order, pad every physical
 * dim and start at an offset; the unused elements hold NaN so that reading one shows up in the results.
 */
final class NNFixtures {
    private NNFixtures() {}

    /** The kernels under test, called through the Backend contract. */
    static final dev.flare.tensor.Backend CPU = CpuBackend.INSTANCE;

    /** The seed of one test: -Dflare.test.seed=N to replay, else fresh. */
    static long seed() {
        return Long.getLong("flare.test.seed", System.nanoTime());
    }

    static String replay(long seed) {
        return "seed " + seed + " (replay with -Dflare.test.seed=" + seed + ")";
    }

    static double[] gaussian(Random rnd, int n, double scale) {
        double[] v = new double[n];
        for (int i = 0; i < n; i++) v[i] = rnd.nextGaussian() * scale;
        return v;
    }

    static int numel(int[] shape) { return Math.toIntExact(Shapes.numel(shape)); }

    /** A contiguous tensor holding {@code values} (row-major), rounded to dt. */
    static Tensor tensor(DType dt, double[] values, int... shape) {
        return layout(dt, values, shape, identity(shape.length), new int[shape.length], 0);
    }

    /** A tensor holding {@code values}, contiguous or (when strided) in a random permuted, padded, offset layout. */
    static Tensor tensor(DType dt, double[] values, int[] shape, Random rnd, boolean strided) {
        int r = shape.length;
        int[] perm = identity(r);
        int[] pad = new int[r];
        int off = 0;
        if (strided) {
            for (int i = r - 1; i > 0; i--) {
                int j = rnd.nextInt(i + 1);
                int t = perm[i]; perm[i] = perm[j]; perm[j] = t;
            }
            for (int i = 0; i < r; i++) pad[i] = rnd.nextInt(3);
            if (r > 0) pad[r - 1] = 1 + rnd.nextInt(2);       // always some gap in the innermost physical dim
            off = 1 + rnd.nextInt(3);
        }
        return layout(dt, values, shape, perm, pad, off);
    }

    /** Logical shape {@code shape}; physical dim p holds logical dim perm[p] with pad[p] extra slots. */
    static Tensor layout(DType dt, double[] values, int[] shape, int[] perm, int[] pad, int off) {
        int r = shape.length;
        long[] strides = new long[r];
        long s = 1;
        for (int p = r - 1; p >= 0; p--) {
            strides[perm[p]] = s;
            s *= Math.max(1, shape[perm[p]] + pad[p]);
        }
        int total = Math.toIntExact(off + s);
        Object arr = junk(dt, total);
        int n = numel(shape);
        if (values.length != n) throw new IllegalArgumentException("values: " + values.length + " for " + n);
        int[] idx = new int[r];
        for (int i = 0; i < n; i++) {
            long pos = off;
            for (int d = 0; d < r; d++) pos += idx[d] * strides[d];
            put(arr, dt, (int) pos, values[i]);
            for (int d = r - 1; d >= 0; d--) {
                if (++idx[d] < shape[d]) break;
                idx[d] = 0;
            }
        }
        return Tensor.of(new CpuStorage(dt, arr), shape, strides, off);
    }

    /** A contiguous output of the given shape over a fresh array pre-filled with NaN (so unwritten slots show). */
    static Tensor out(DType dt, int... shape) {
        return Tensor.of(new CpuStorage(dt, junk(dt, numel(shape))), shape, Shapes.contiguousStrides(shape), 0);
    }

    static int[] identity(int r) {
        int[] p = new int[r];
        for (int i = 0; i < r; i++) p[i] = i;
        return p;
    }

    private static Object junk(DType dt, int n) {
        Object arr = switch (dt) {
            case F32 -> new float[n];
            case F64 -> new double[n];
            case BF16, F16 -> new short[n];
            case I32 -> new int[n];
            case I64 -> new long[n];
            default -> throw new IllegalArgumentException(dt.toString());
        };
        if (dt.isFloatingPoint()) for (int i = 0; i < n; i++) put(arr, dt, i, Double.NaN);
        else for (int i = 0; i < n; i++) put(arr, dt, i, -7);
        return arr;
    }

    static void put(Object arr, DType dt, int i, double v) {
        switch (dt) {
            case F32 -> ((float[]) arr)[i] = (float) v;
            case F64 -> ((double[]) arr)[i] = v;
            case BF16 -> ((short[]) arr)[i] = HalfFloats.floatToBf16((float) v);
            case F16 -> ((short[]) arr)[i] = HalfFloats.floatToF16((float) v);
            case I32 -> ((int[]) arr)[i] = (int) v;
            case I64 -> ((long[]) arr)[i] = (long) v;
            default -> throw new IllegalArgumentException(dt.toString());
        }
    }

    static double get(Object arr, DType dt, int i) {
        return switch (dt) {
            case F32 -> ((float[]) arr)[i];
            case F64 -> ((double[]) arr)[i];
            case BF16 -> HalfFloats.bf16ToFloat(((short[]) arr)[i]);
            case F16 -> HalfFloats.f16ToFloat(((short[]) arr)[i]);
            case I32 -> ((int[]) arr)[i];
            case I64 -> ((long[]) arr)[i];
            default -> throw new IllegalArgumentException(dt.toString());
        };
    }

    /** v stored to dt and read back (F32 rounding first for BF16/F16, as the kernels compute in float). */
    static double round(DType dt, double v) {
        Object arr = junk(dt, 1);
        put(arr, dt, 0, v);
        return get(arr, dt, 0);
    }

    /** The logical elements of t in row-major order, as doubles, honoring offset and strides. */
    static double[] read(Tensor t) {
        int[] shape = t.shape();
        long[] strides = t.strides();
        int r = shape.length, n = numel(shape);
        double[] v = new double[n];
        Object arr = ((CpuStorage) t.storage()).array();
        int[] idx = new int[r];
        for (int i = 0; i < n; i++) {
            long pos = t.offset();
            for (int d = 0; d < r; d++) pos += idx[d] * strides[d];
            v[i] = get(arr, t.dtype(), (int) pos);
            for (int d = r - 1; d >= 0; d--) {
                if (++idx[d] < shape[d]) break;
                idx[d] = 0;
            }
        }
        return v;
    }

    /** |expected - actual| <= atol + rtol |expected| elementwise (equal infinities pass; NaN never does). */
    static void assertClose(String what, double[] expected, double[] actual, double atol, double rtol, long seed) {
        if (expected.length != actual.length)
            fail(what + ": expected " + expected.length + " elements, got " + actual.length + "; " + replay(seed));
        for (int i = 0; i < expected.length; i++) {
            double e = expected[i], a = actual[i];
            if (e == a) continue;
            if (!(Math.abs(e - a) <= atol + rtol * Math.abs(e)))
                fail(what + " [" + i + "]: expected " + e + ", got " + a + " (atol " + atol + ", rtol " + rtol + "); " + replay(seed));
        }
    }

    /** Relative tolerance of one rounding to dt (a few ulps for F32/F64). */
    static double eps(DType dt) {
        return switch (dt) {
            case F64 -> 1e-12;
            case F32 -> 2e-6;
            case F16 -> 1.0 / 1024;      // 2^-10: one f16 rounding is 2^-11
            case BF16 -> 1.0 / 128;      // 2^-7: one bf16 rounding is 2^-8
            default -> throw new IllegalArgumentException(dt.toString());
        };
    }

    static Tensor ids(DType dt, long[] values, int[] shape, Random rnd, boolean strided) {
        double[] v = new double[values.length];
        for (int i = 0; i < v.length; i++) v[i] = values[i];
        return tensor(dt, v, shape, rnd, strided);
    }
}
