package dev.flare.tensor.cuda;

import dev.flare.tensor.DType;
import dev.flare.tensor.Device;
import dev.flare.tensor.HostArrays;
import dev.flare.tensor.Shapes;
import dev.flare.tensor.Storage;
import dev.flare.tensor.Tensor;
import dev.flare.tensor.cpu.CpuBackend;
import dev.flare.tensor.ops.UnaryOp;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static dev.flare.tensor.cuda.CudaTestSupport.*;

/**
 * GELU forward and backward on CUDA against the CPU backend on the same random inputs: contiguous aligned operands
 * (the fast-math vector kernels of GeluKernels.cu) at lengths around the vector and unrolled-step sizes, in place,
 * and the fallbacks for a transposed view and a view narrowed by one element (misaligned); then NaN/+-inf/+-0 and
 * saturated inputs on the vector kernels. A fresh seed per run, printed on failure; {@code -Dflare.test.seed=N}
 * replays it.
 */
@Tag("cuda")
class CudaGeluTest {
    private static final DType[] TYPES = {DType.F32, DType.BF16, DType.F16};
    private static final int[] LENGTHS = {1, 7, 8, 1023, 4097, 3 * 8192 + 8, (1 << 20) + 3};

    enum View { CONTIGUOUS, IN_PLACE, TRANSPOSED, NARROWED }

    @Test
    void forwardAndBackwardMatchTheCpu() {
        CudaBackend gpu = gpu();
        long seed = Long.getLong("flare.test.seed", System.nanoTime());
        Random rnd = new Random(seed);
        for (DType t : TYPES)
            for (int n : LENGTHS)
                for (View v : View.values()) {
                    double[] x = random(rnd, t, n, -8, 8), dy = random(rnd, t, n, -2, 2);
                    x[0] = round(t, -20);
                    if (n > 1) x[1] = round(t, 20);
                    check(gpu, t, x, dy, v, t + " n=" + n + " " + v + ", seed " + seed + " (replay with -Dflare.test.seed=" + seed + ")");
                }
    }

    @Test
    void specialValuesOnTheVectorKernels() {
        CudaBackend gpu = gpu();
        double inf = Double.POSITIVE_INFINITY;
        double[] x = {Double.NaN, inf, -inf, -0.0, 0.0, 30, -30, 1e30, -1e30, 9, -9, 1e-30, -1e-30, 0.5, -0.5, 3};
        for (DType t : TYPES) {
            double[] xr = rounded(t, x), dy = new double[x.length], expect = new double[x.length];
            java.util.Arrays.fill(dy, 1);
            for (int i = 0; i < x.length; i++) expect[i] = round(t, CudaElementwiseTest.unaryRef(UnaryOp.GELU, xr[i]));
            Tensor dx = tensor(gpu, t, xr, x.length);
            gpu.unary(UnaryOp.GELU, dx, dx);
            assertClose("gelu specials " + t, expect, values(dx), rt(t), at(t));
            // gelu'(+-inf) stays NaN (inf * 0) as on the CPU and in the strided kernel; compare with the CPU.
            check(gpu, t, xr, dy, View.CONTIGUOUS, "specials " + t);
            dx.release();
        }
    }

    private static double rt(DType t) { return CudaNNTest.rt(t) * 2; }

    private static double at(DType t) { return CudaNNTest.at(t); }

    /** Forward and backward of x (values in row-major order of the view) on both backends. */
    private static void check(CudaBackend gpu, DType t, double[] x, double[] dy, View v, String what) {
        CpuBackend cpu = CpuBackend.INSTANCE;
        int n = x.length;
        Tensor cx = host(cpu, t, x), cdy = host(cpu, t, dy), cy = onCpu(t, n), cdx = onCpu(t, n);
        cpu.unary(UnaryOp.GELU, cx, cy);
        cpu.geluBackward(cx, cdy, cdx);

        Tensor gx = view(gpu, t, x, v), gdy = view(gpu, t, dy, v);
        Tensor gy = v == View.IN_PLACE ? gx : output(gpu, t, n).reshape(gx.shape());
        Tensor gdx = v == View.IN_PLACE ? gdy : output(gpu, t, n).reshape(gx.shape());
        gpu.geluBackward(gx, gdy, gdx);   // before the forward, which may overwrite x in place
        gpu.unary(UnaryOp.GELU, gx, gy);
        assertClose("gelu " + what, values(cy), values(gy), rt(t), at(t));
        assertClose("gelu backward " + what, values(cdx), values(gdx), rt(t), at(t));
        gx.release();
        gdy.release();
        if (v != View.IN_PLACE) {
            gy.release();
            gdx.release();
        }
    }

    /** A device view holding values in row-major order: contiguous (aligned), transposed, or narrowed by one. */
    private static Tensor view(CudaBackend gpu, DType t, double[] values, View v) {
        int n = values.length;
        return switch (v) {
            case CONTIGUOUS, IN_PLACE -> tensor(gpu, t, values, n);
            case NARROWED -> {
                double[] padded = new double[n + 1];
                System.arraycopy(values, 0, padded, 1, n);
                yield tensor(gpu, t, padded, n + 1).narrow(0, 1, n);
            }
            case TRANSPOSED -> {
                // (r, c) as the transpose of a contiguous (c, r); for a prime n that is (n, 1), which is contiguous.
                int r = rowsOf(n), c = n / r;
                double[] tr = new double[n];   // storage (c, r) row-major, so that the view (r, c) reads values
                for (int i = 0; i < r; i++)
                    for (int j = 0; j < c; j++) tr[j * r + i] = values[i * c + j];
                yield tensor(gpu, t, tr, c, r).transpose(0, 1);
            }
        };
    }

    private static int rowsOf(int n) {
        for (int r = (int) Math.sqrt(n); r > 1; r--) if (n % r == 0) return r;
        return n;
    }

    private static Tensor onCpu(DType t, int n) { return Tensor.empty(t, Device.CPU, n); }

    private static Tensor host(CpuBackend cpu, DType t, double[] values) {
        int n = values.length;
        Storage st = cpu.allocate(t, n);
        Object a = HostArrays.allocate(t, n);
        for (int i = 0; i < n; i++) set(t, a, i, values[i]);
        st.copyFromHost(a, 0, 0, n);
        return Tensor.of(st, new int[]{n}, Shapes.contiguousStrides(new int[]{n}), 0);
    }
}
