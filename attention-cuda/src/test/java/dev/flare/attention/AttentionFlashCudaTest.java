package dev.flare.attention;

import dev.flare.tensor.DType;
import dev.flare.tensor.Device;
import dev.flare.tensor.Tensor;
import dev.flare.tensor.cuda.Cuda;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/**
 * FLASH_CUDA against FLASH_CPU in F64 on the same values (rounded to the tested dtype first): output, logsumexp
 * and the three gradients, over dtypes, every head dim, both causal alignments, GQA/MQA, odd lengths, dropout
 * (same mask by construction), strided inputs, and the deterministic backward. Skipped without a GPU.
 */
@Tag("cuda")
class AttentionFlashCudaTest {
    private static final Device GPU = Device.cuda(0);
    private final long seed = new Random().nextLong();
    private final Random rnd = new Random(seed);

    @BeforeEach
    void needsKernels() {
        Assumptions.assumeTrue(Cuda.isAvailable(), () -> "CUDA unavailable: " + Cuda.unavailableReason());
        Assumptions.assumeTrue(FlashCudaAttention.isAvailable(), "FlashAttentionKernels.fatbin was not built (no nvcc at build time)");
    }

    private record Case(int b, int hq, int hkv, int sq, int sk, int d, boolean causal, CausalAlignment align, double dropout) {
        AttentionOptions options(long dropSeed) {
            AttentionOptions o = AttentionOptions.DEFAULT.withCausal(causal).withCausalAlignment(align).withEnableGqa(hq != hkv);
            return dropout > 0 ? o.withDropout(dropout).withDropoutSeed(dropSeed, 7) : o;
        }
    }

    /** Random values already representable in dtype, as an F64 CPU tensor. */
    private Tensor randn(DType dtype, int... shape) {
        double[] v = new double[Arrays.stream(shape).reduce(1, (x, y) -> x * y)];
        for (int i = 0; i < v.length; i++) v[i] = rnd.nextGaussian();
        return Tensor.fromArray(v, shape).to(dtype).to(DType.F64);
    }

    private static double relErr(Tensor got, Tensor want) {
        assertArrayEquals(want.shape(), got.shape());
        double[] x = got.to(Device.CPU).to(DType.F64).toDoubleArray(), y = want.toDoubleArray();
        double num = 0, den = 0;
        for (int i = 0; i < x.length; i++) {
            if (Double.isNaN(x[i]) != Double.isNaN(y[i]) || Double.isInfinite(x[i]) != Double.isInfinite(y[i])) return Double.NaN;
            if (Double.isInfinite(y[i])) continue;
            num += (x[i] - y[i]) * (x[i] - y[i]);
            den += y[i] * y[i];
        }
        return Math.sqrt(num / Math.max(den, 1e-30));
    }

    /** Runs FLASH_CPU (F64) and FLASH_CUDA (dtype); returns the worst relative error, asserting each is within tol. */
    private void compare(Case c, DType dtype, boolean deterministic, boolean stridedInputs) {
        double tol = dtype == DType.F32 ? 1e-4 : 1e-2;
        String why = c + " " + dtype + (deterministic ? " deterministic" : "") + (stridedInputs ? " strided" : "") + " seed " + seed;
        Tensor q = randn(dtype, c.b, c.hq, c.sq, c.d), k = randn(dtype, c.b, c.hkv, c.sk, c.d), v = randn(dtype, c.b, c.hkv, c.sk, c.d);
        Tensor w = randn(dtype, c.b, c.hq, c.sq, c.d);
        long dropSeed = rnd.nextLong();
        AttentionOptions opts = c.options(dropSeed);

        Tensor[] ref = run(q, k, v, w, opts.withBackend(AttentionBackend.FLASH_CPU));
        Tensor[] got = run(onGpu(q, dtype, stridedInputs), onGpu(k, dtype, stridedInputs), onGpu(v, dtype, stridedInputs),
                w.to(dtype).to(GPU), opts.withBackend(AttentionBackend.FLASH_CUDA).withDeterministic(deterministic));
        String[] names = {"O", "lse", "dq", "dk", "dv"};
        for (int i = 0; i < names.length; i++) {
            double e = relErr(got[i], ref[i]);
            assertTrue(e <= tol, names[i] + " relative error " + e + " > " + tol + ": " + why);
        }
    }

    /** A GPU copy; strided: stored as (B, S, H, D) and viewed as (B, H, S, D), the layout of a split QKV. */
    private static Tensor onGpu(Tensor t, DType dtype, boolean strided) {
        Tensor g = t.to(dtype).to(GPU);
        return strided ? g.transpose(1, 2).contiguous().transpose(1, 2) : g;
    }

    /** {O, lse, dq, dk, dv} with loss sum(O * w). */
    private static Tensor[] run(Tensor q, Tensor k, Tensor v, Tensor w, AttentionOptions opts) {
        Tensor lq = q.detach().requiresGrad(true), lk = k.detach().requiresGrad(true), lv = v.detach().requiresGrad(true);
        Tensor[] ol = Attention.withLogsumexp(lq, lk, lv, opts);
        ol[0].mul(w).sum().backward();
        return new Tensor[]{ol[0], ol[1], lq.grad(), lk.grad(), lv.grad()};
    }

    private static final int[] HEAD_DIMS = {32, 64, 96, 128, 256};

    @Test
    void matchesFlashCpuForEveryDtypeAndHeadDim() {
        for (DType dtype : new DType[]{DType.BF16, DType.F16, DType.F32}) {
            for (int d : HEAD_DIMS) {
                compare(new Case(2, 2, 2, 77, 77, d, false, CausalAlignment.TOP_LEFT, 0), dtype, false, false);
                compare(new Case(1, 2, 2, 130, 130, d, true, CausalAlignment.TOP_LEFT, 0), dtype, false, false);
            }
        }
    }

    @Test
    void oddLengthsAlignmentsAndGroupedQueries() {
        Case[] cases = {
                new Case(1, 4, 2, 17, 257, 64, true, CausalAlignment.BOTTOM_RIGHT, 0),  // GQA, decoding-style
                new Case(2, 4, 1, 257, 130, 128, true, CausalAlignment.TOP_LEFT, 0),    // MQA, Sq > Sk
                new Case(1, 2, 2, 1, 77, 64, true, CausalAlignment.BOTTOM_RIGHT, 0),    // one query
                new Case(1, 2, 2, 130, 17, 128, true, CausalAlignment.BOTTOM_RIGHT, 0), // rows that see no key
                new Case(1, 3, 3, 200 + rnd.nextInt(100), 150 + rnd.nextInt(200), 64, rnd.nextBoolean(), CausalAlignment.TOP_LEFT, 0),
        };
        for (Case c : cases) for (DType dtype : new DType[]{DType.BF16, DType.F32}) compare(c, dtype, false, false);
    }

    @Test
    void dropoutUsesTheSameMaskAsTheCpu() {
        for (DType dtype : new DType[]{DType.BF16, DType.F16, DType.F32}) {
            compare(new Case(2, 2, 2, 130, 130, 64, true, CausalAlignment.TOP_LEFT, 0.1), dtype, false, false);
            compare(new Case(1, 4, 2, 77, 200, 128, false, CausalAlignment.TOP_LEFT, 0.3), dtype, false, false);
            compare(new Case(1, 2, 2, 65, 65, 256, true, CausalAlignment.TOP_LEFT, 0.2), dtype, false, false);
        }
    }

    @Test
    void stridedInputsAreReadInPlaceOrCopied() {
        compare(new Case(2, 4, 4, 100, 100, 64, true, CausalAlignment.TOP_LEFT, 0), DType.BF16, false, true);
        compare(new Case(1, 2, 2, 33, 47, 32, false, CausalAlignment.TOP_LEFT, 0.1), DType.F32, false, true);
    }

    /**
     * O and the gradients come out in their inputs' memory layout: from (B, S, H, D) storage viewed (B, H, S, D) (a
     * split QKV projection), O and dQ/dK/dV are (B, S, H, D) in memory, so the model's transpose back is a view and
     * not a copy; contiguous inputs give contiguous results. The values of both layouts are checked against the CPU
     * by the strided cases above.
     */
    @Test
    void outputAndGradientsTakeTheLayoutOfTheirInputs() {
        int b = 2, h = 3, s = 40, d = 64;
        for (boolean strided : new boolean[]{true, false}) {
            Tensor q = onGpu(randn(DType.BF16, b, h, s, d), DType.BF16, strided), k = onGpu(randn(DType.BF16, b, h, s, d), DType.BF16, strided);
            Tensor v = onGpu(randn(DType.BF16, b, h, s, d), DType.BF16, strided), dO = onGpu(randn(DType.BF16, b, h, s, d), DType.BF16, strided);
            AttentionParams p = new AttentionParams(b, h, h, s, s, d, d, 1 / Math.sqrt(d), true, 0, 0, 0, 0);
            Tensor[] ol = FlashCudaAttention.forward(q, k, v, p, false);
            Tensor[] g = FlashCudaAttention.backward(q, k, v, ol[0], ol[1], dO, p, false);
            Tensor[] outs = {ol[0], g[0], g[1], g[2]};
            String[] names = {"O", "dq", "dk", "dv"};
            for (int i = 0; i < outs.length; i++) {
                assertArrayEquals(new int[]{b, h, s, d}, outs[i].shape(), names[i]);
                Tensor memoryOrder = strided ? outs[i].transpose(1, 2) : outs[i];
                assertTrue(memoryOrder.isContiguous(), names[i] + (strided ? " not (B, S, H, D)" : " not contiguous") + ": strides "
                        + Arrays.toString(outs[i].strides()));
            }
        }
    }

    /** An expanded input (stride 0 over the batch) keeps the head dim innermost in O and in its gradient. */
    @Test
    void expandedInputsGiveContiguousHeadDims() {
        int b = 2, h = 2, s = 33, d = 64;
        Tensor q1 = randn(DType.BF16, 1, h, s, d), k = randn(DType.BF16, b, h, s, d), v = randn(DType.BF16, b, h, s, d);
        Tensor w = randn(DType.BF16, b, h, s, d);
        AttentionOptions opts = AttentionOptions.causal();
        Tensor[] ref = run(q1.expand(b, h, s, d), k, v, w, opts.withBackend(AttentionBackend.FLASH_CPU));
        Tensor qg = q1.to(DType.BF16).to(GPU).expand(b, h, s, d);
        Tensor[] got = run(qg, k.to(DType.BF16).to(GPU), v.to(DType.BF16).to(GPU), w.to(DType.BF16).to(GPU),
                opts.withBackend(AttentionBackend.FLASH_CUDA));
        assertEquals(1, got[0].stride(3), "O's head dim: strides " + Arrays.toString(got[0].strides()));
        String[] names = {"O", "lse", "dq", "dk", "dv"};
        for (int i = 0; i < names.length; i++) {
            double e = relErr(got[i], ref[i]);
            assertTrue(e <= 1e-2, names[i] + " relative error " + e + " (expanded q) seed " + seed);
        }
    }

    @Test
    void deterministicBackwardIsBitwiseReproducibleAndCorrect() {
        Case c = new Case(2, 4, 2, 190, 190, 64, true, CausalAlignment.TOP_LEFT, 0.1);
        compare(c, DType.BF16, true, false);
        Tensor q = randn(DType.BF16, 2, 4, 190, 64), k = randn(DType.BF16, 2, 2, 190, 64), v = randn(DType.BF16, 2, 2, 190, 64);
        Tensor w = randn(DType.BF16, 2, 4, 190, 64).to(DType.BF16).to(GPU);
        AttentionOptions o = c.options(42).withBackend(AttentionBackend.FLASH_CUDA).withDeterministic(true);
        Tensor[] a = run(onGpu(q, DType.BF16, false), onGpu(k, DType.BF16, false), onGpu(v, DType.BF16, false), w, o);
        Tensor[] b = run(onGpu(q, DType.BF16, false), onGpu(k, DType.BF16, false), onGpu(v, DType.BF16, false), w, o);
        for (int i = 2; i < 5; i++)
            assertArrayEquals(a[i].to(Device.CPU).to(DType.F32).toFloatArray(), b[i].to(Device.CPU).to(DType.F32).toFloatArray(),
                    "gradient " + i + " differs between two deterministic runs");
    }

    /**
     * Reads the kernels' dropout masks back exactly: with q = k = 0 every visible probability is 1/Sk, so with
     * V = I the forward writes O[i][j] = keep(i, j) / (Sk (1 - p)); with dO = I the backward writes
     * dV[j][i] = the same. Both must equal AttentionDropout's mask bit for bit (tensor-core and SIMT paths).
     */
    @Test
    void dropoutMaskIsBitwiseTheCpuMaskInForwardAndBackward() {
        int b = 2, h = 3, n = 64;
        double p = 0.25;
        long dropSeed = rnd.nextLong(), offset = (1L << 33) + rnd.nextInt(1000);
        double[] eye = new double[b * h * n * n];
        for (int m = 0; m < b * h; m++) for (int i = 0; i < n; i++) eye[(m * n + i) * n + i] = 1;
        for (DType dtype : new DType[]{DType.BF16, DType.F16, DType.F32}) {
            Tensor zero = Tensor.zeros(dtype, GPU, b, h, n, n).requiresGrad(true);
            Tensor k = Tensor.zeros(dtype, GPU, b, h, n, n).requiresGrad(true);
            Tensor v = Tensor.fromArray(eye, b, h, n, n).to(dtype).to(GPU).requiresGrad(true);
            AttentionOptions o = AttentionOptions.DEFAULT.withDropout(p).withDropoutSeed(dropSeed, offset)
                    .withBackend(AttentionBackend.FLASH_CUDA);
            Tensor out = Attention.scaledDotProductAttention(zero, k, v, o);
            out.backward(Tensor.fromArray(eye, b, h, n, n).to(dtype).to(GPU));
            double[] fwd = out.to(Device.CPU).to(DType.F64).toDoubleArray();
            double[] dv = v.grad().to(Device.CPU).to(DType.F64).toDoubleArray();
            int threshold = AttentionDropout.threshold(p);
            for (int bi = 0; bi < b; bi++)
                for (int hi = 0; hi < h; hi++)
                    for (int i = 0; i < n; i++)
                        for (int j = 0; j < n; j++) {
                            boolean keep = AttentionDropout.keep(dropSeed, offset, bi, hi, h, i, j, threshold);
                            int base = (bi * h + hi) * n * n;
                            String at = dtype + " b" + bi + " h" + hi + " row " + i + " col " + j + " seed " + dropSeed;
                            assertEquals(keep, fwd[base + i * n + j] != 0, "forward mask at " + at);
                            assertEquals(keep, dv[base + j * n + i] != 0, "backward mask at " + at);
                        }
        }
    }

    @Test
    void autoPicksFlashCudaForSupportedGpuInputs() {
        Tensor q = randn(DType.BF16, 1, 2, 16, 64);
        assertEquals(AttentionBackend.FLASH_CUDA, Attention.choose(q.to(DType.BF16).to(GPU), 64, 64, AttentionOptions.DEFAULT));
        assertEquals(AttentionBackend.MATH, Attention.choose(randn(DType.BF16, 1, 2, 16, 48).to(DType.BF16).to(GPU), 48, 48,
                AttentionOptions.DEFAULT));
    }
}
