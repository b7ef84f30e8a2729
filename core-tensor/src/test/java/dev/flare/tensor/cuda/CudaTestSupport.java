package dev.flare.tensor.cuda;

import dev.flare.tensor.DType;
import dev.flare.tensor.HostArrays;
import dev.flare.tensor.Shapes;
import dev.flare.tensor.Storage;
import dev.flare.tensor.Tensor;
import org.junit.jupiter.api.Assumptions;

import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * Helpers of the CUDA tests: device tensors from host values in several layouts (contiguous, unaligned offset,
 * padded rows, permuted dims), reading any view back in row-major order, dtype rounding and tolerant comparison.
 * Everything goes through Storage.copyFromHost/copyToHost and index arithmetic on the host, so the checks do not
 * depend on the CPU backend's kernels.
 */
final class CudaTestSupport {
    private CudaTestSupport() {}

    static final DType[] FLOATS = {DType.F32, DType.F64, DType.BF16, DType.F16};
    static final DType[] ALL = DType.values();

    /** The backend of cuda:0, or the test is skipped saying why CUDA is unavailable. */
    static CudaBackend gpu() {
        Assumptions.assumeTrue(Cuda.isAvailable(), () -> "CUDA unavailable: " + Cuda.unavailableReason());
        return CudaBackend.of(0);
    }

    /** How a test tensor is laid out in its storage. */
    enum Layout {
        /** Contiguous from element 0 (16-byte aligned: vectorized paths). */
        CONTIGUOUS,
        /** Contiguous from element 3 (unaligned: scalar paths). */
        OFFSET,
        /** Last dim padded by 3 elements, offset 1. */
        PADDED,
        /** Dims stored in reverse order (a transposed / permuted view). */
        PERMUTED
    }

    // ---- dtype conversions on the host (the CPU backend's rules) -------------------------------------------------

    static double round(DType t, double v) {
        return switch (t) {
            case F32 -> (float) v;
            case F64 -> v;
            case BF16 -> HostConvert.bf16ToFloat(HostConvert.floatToBf16((float) v));
            case F16 -> HostConvert.f16ToFloat(HostConvert.floatToF16((float) v));
            case I32 -> (int) v;
            case I64 -> (long) v;
            case BOOL -> v != 0 ? 1 : 0;
        };
    }

    static void set(DType t, Object array, int i, double v) {
        switch (t) {
            case F32 -> ((float[]) array)[i] = (float) v;
            case F64 -> ((double[]) array)[i] = v;
            case BF16 -> ((short[]) array)[i] = HostConvert.floatToBf16((float) v);
            case F16 -> ((short[]) array)[i] = HostConvert.floatToF16((float) v);
            case I32 -> ((int[]) array)[i] = (int) v;
            case I64 -> ((long[]) array)[i] = (long) v;
            case BOOL -> ((byte[]) array)[i] = (byte) (v != 0 ? 1 : 0);
        }
    }

    static double get(DType t, Object array, int i) {
        return switch (t) {
            case F32 -> ((float[]) array)[i];
            case F64 -> ((double[]) array)[i];
            case BF16 -> HostConvert.bf16ToFloat(((short[]) array)[i]);
            case F16 -> HostConvert.f16ToFloat(((short[]) array)[i]);
            case I32 -> ((int[]) array)[i];
            case I64 -> ((long[]) array)[i];
            case BOOL -> ((byte[]) array)[i];
        };
    }

    // ---- building device tensors ----------------------------------------------------------------------------------

    /** Random values already representable in dtype: floats in [lo, hi), integers in [lo, hi], BOOL 0/1. */
    static double[] random(Random rnd, DType t, int n, double lo, double hi) {
        double[] v = new double[n];
        for (int i = 0; i < n; i++) {
            if (t == DType.BOOL) v[i] = rnd.nextBoolean() ? 1 : 0;
            else if (t.isIntegral()) v[i] = Math.floor(lo + rnd.nextDouble() * (hi - lo + 1));
            else v[i] = round(t, lo + rnd.nextDouble() * (hi - lo));
        }
        return v;
    }

    /** A device tensor holding {@code values} (row-major over shape, already representable) in the given layout. */
    static Tensor tensor(CudaBackend b, DType t, double[] values, int[] shape, Layout layout) {
        int r = shape.length;
        long numel = Shapes.numel(shape);
        if (values.length != numel) throw new IllegalArgumentException("values: " + values.length + " for " + Arrays.toString(shape));
        long[] strides;
        long offset;
        long storageSize;
        switch (layout) {
            case CONTIGUOUS, OFFSET -> {
                strides = Shapes.contiguousStrides(shape);
                offset = layout == Layout.OFFSET ? 3 : 0;
                storageSize = numel + offset;
            }
            case PADDED -> {
                strides = new long[r];
                long s = 1;
                for (int d = r - 1; d >= 0; d--) {
                    strides[d] = s;
                    s *= Math.max(shape[d], 1) + (d == r - 1 ? 3 : 0);
                }
                offset = 1;
                storageSize = s + offset;
            }
            case PERMUTED -> {
                strides = new long[r];
                long s = 1;
                for (int d = 0; d < r; d++) {
                    strides[d] = s;
                    s *= Math.max(shape[d], 1);
                }
                offset = 0;
                storageSize = s;
            }
            default -> throw new IllegalStateException();
        }
        Storage st = b.allocate(t, Math.max(storageSize, 1));
        Object host = HostArrays.allocate(t, (int) st.numel());
        // Sentinels everywhere, so reads outside the view are noticed.
        for (int i = 0; i < st.numel(); i++) set(t, host, i, t == DType.BOOL ? 1 : (t.isIntegral() ? 77 : 1234.5));
        int[] idx = new int[r];
        for (int i = 0; i < numel; i++) {
            long o = offset;
            for (int d = 0; d < r; d++) o += idx[d] * strides[d];
            set(t, host, (int) o, values[i]);
            for (int d = r - 1; d >= 0; d--) {
                if (++idx[d] < shape[d]) break;
                idx[d] = 0;
            }
        }
        st.copyFromHost(host, 0, 0, (int) st.numel());
        return Tensor.of(st, shape, strides, offset);
    }

    static Tensor tensor(CudaBackend b, DType t, double[] values, int... shape) {
        return tensor(b, t, values, shape, Layout.CONTIGUOUS);
    }

    /** A contiguous device tensor of the given shape filled with a sentinel (to catch unwritten outputs). */
    static Tensor output(CudaBackend b, DType t, int... shape) {
        double[] v = new double[(int) Shapes.numel(shape)];
        Arrays.fill(v, t == DType.BOOL ? 1 : (t.isIntegral() ? -77 : Double.NaN));
        return tensor(b, t, v, shape, Layout.CONTIGUOUS);
    }

    /** A view of x broadcast to shape (size-1 dims get stride 0; leading dims added). */
    static Tensor expand(Tensor x, int... shape) {
        int r = shape.length, xr = x.dim();
        long[] st = new long[r];
        int[] xs = x.shape();
        long[] xst = x.strides();
        for (int d = 0; d < r; d++) {
            int xd = d - (r - xr);
            st[d] = xd < 0 || (xs[xd] == 1 && shape[d] != 1) ? 0 : xst[xd];
        }
        return Tensor.of(x.storage(), shape, st, x.offset());
    }

    /** A permuted view (no copy). */
    static Tensor permute(Tensor x, int... perm) { return CudaBackend.permuted(x, perm); }

    // ---- reading back ------------------------------------------------------------------------------------------

    /** The tensor's elements in row-major order of its shape, as doubles (waits for queued work). */
    static double[] values(Tensor x) {
        Storage st = x.storage();
        Object host = HostArrays.allocate(x.dtype(), (int) st.numel());
        st.copyToHost(0, host, 0, (int) st.numel());
        int[] shape = x.shape();
        long[] strides = x.strides();
        int n = (int) x.numel();
        double[] out = new double[n];
        int[] idx = new int[shape.length];
        for (int i = 0; i < n; i++) {
            long o = x.offset();
            for (int d = 0; d < shape.length; d++) o += idx[d] * strides[d];
            out[i] = get(x.dtype(), host, (int) o);
            for (int d = shape.length - 1; d >= 0; d--) {
                if (++idx[d] < shape[d]) break;
                idx[d] = 0;
            }
        }
        return out;
    }

    /** The whole storage as doubles (to check elements outside a view were left alone). */
    static double[] storageValues(Tensor x) {
        Storage st = x.storage();
        Object host = HostArrays.allocate(x.dtype(), (int) st.numel());
        st.copyToHost(0, host, 0, (int) st.numel());
        double[] out = new double[(int) st.numel()];
        for (int i = 0; i < out.length; i++) out[i] = get(x.dtype(), host, i);
        return out;
    }

    // ---- comparisons -------------------------------------------------------------------------------------------

    /** Relative tolerance of one rounding to dtype, with some slack for float math (1-2 ulp functions). */
    static double rtol(DType t) {
        return switch (t) {
            case F32 -> 4e-6;
            case F64 -> 1e-12;
            case BF16 -> 1.6e-2;
            case F16 -> 2e-3;
            default -> 0;
        };
    }

    static double atol(DType t) {
        return switch (t) {
            case F32 -> 1e-6;
            case F64 -> 1e-13;
            case BF16 -> 1e-5;
            case F16 -> 1e-6;
            default -> 0;
        };
    }

    static void assertClose(String what, double[] expected, double[] actual, double rtol, double atol) {
        if (expected.length != actual.length) fail(what + ": " + expected.length + " expected values, got " + actual.length);
        int bad = 0, first = -1;
        double worst = 0;
        for (int i = 0; i < expected.length; i++) {
            double e = expected[i], a = actual[i];
            boolean ok;
            if (Double.isNaN(e)) ok = Double.isNaN(a);
            else if (Double.isInfinite(e)) ok = e == a;
            else ok = Math.abs(a - e) <= atol + rtol * Math.abs(e);
            if (!ok) {
                if (first < 0) first = i;
                bad++;
                if (Double.isFinite(e)) worst = Math.max(worst, Math.abs(a - e));
            }
        }
        if (bad > 0)
            fail(what + ": " + bad + " of " + expected.length + " values differ (rtol " + rtol + ", atol " + atol + "); first at "
                    + first + ": expected " + expected[first] + ", got " + actual[first] + "; worst abs error " + worst);
    }

    static void assertClose(String what, DType t, double[] expected, double[] actual) {
        assertClose(what, expected, actual, rtol(t), atol(t));
    }

    /** Exact equality (NaN equals NaN, -0 equals +0). */
    static void assertSame(String what, double[] expected, double[] actual) { assertClose(what, expected, actual, 0, 0); }

    static double[] rounded(DType t, double[] v) {
        double[] r = new double[v.length];
        for (int i = 0; i < v.length; i++) r[i] = round(t, v[i]);
        return r;
    }
}
