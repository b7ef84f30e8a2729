package dev.flare.attention;

import dev.flare.tensor.DType;
import dev.flare.tensor.Device;
import dev.flare.tensor.Tensor;
import dev.flare.tensor.cuda.Cuda;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/**
 * FLASH_CUDA's packed function (one gradient written by the kernels through three views) against the unpacked
 * FLASH_CUDA call on the same views, whose gradients autograd copies and adds into qkv's: the same kernels on the
 * same values, so equal bit for bit. Odd lengths, dropout, the deterministic backward, and a qkv the kernels cannot
 * read in place (copied first). Skipped without a GPU.
 */
@Tag("cuda")
class QkvPackedAttentionCudaTest {
    private static final Device GPU = Device.cuda(0);
    private final long seed = new Random().nextLong();
    private final Random rnd = new Random(seed);

    @BeforeEach
    void needsKernels() {
        Assumptions.assumeTrue(Cuda.isAvailable(), () -> "CUDA unavailable: " + Cuda.unavailableReason());
        Assumptions.assumeTrue(FlashCudaAttention.isAvailable(), "FlashAttentionKernels.fatbin was not built (no nvcc at build time)");
    }

    private Tensor randn(DType dtype, int... shape) {
        int n = 1;
        for (int s : shape) n *= s;
        double[] v = new double[n];
        for (int i = 0; i < n; i++) v[i] = rnd.nextGaussian();
        return Tensor.fromArray(v, shape).to(dtype).to(GPU);
    }

    private void check(DType dtype, int b, int s, int h, int d, double dropout, boolean deterministic, boolean misaligned) {
        check(dtype, b, s, h, d, dropout, deterministic, misaligned, true);
    }

    private void check(DType dtype, int b, int s, int h, int d, double dropout, boolean deterministic, boolean misaligned, boolean causal) {
        String why = (causal ? "causal " : "") + dtype + " b=" + b + " s=" + s + " h=" + h + " d=" + d + " dropout=" + dropout
                + (deterministic ? " deterministic" : "") + (misaligned ? " misaligned" : "") + " seed " + seed;
        Tensor values = randn(dtype, b, s, 3, h, d);
        if (misaligned)   // one element in: no 16-byte aligned start, so the packed function copies it first
            values = randn(dtype, b * s * 3 * h * d + 1).narrow(0, 1, b * s * 3 * h * d).reshape(b, s, 3, h, d);
        Tensor w = randn(dtype, b, s, h, d);
        AttentionOptions opts = AttentionOptions.DEFAULT.withCausal(causal).withBackend(AttentionBackend.FLASH_CUDA).withDeterministic(deterministic);
        if (dropout > 0) opts = opts.withDropout(dropout).withDropoutSeed(rnd.nextLong(), 11);
        Tensor[] want = QkvPackedAttentionTest.run(values, w, opts, false), got = QkvPackedAttentionTest.run(values, w, opts, true);
        assertArrayEquals(new int[]{b, s, h, d}, got[0].shape(), why);
        assertArrayEquals(want[0].to(Device.CPU).to(DType.F64).toDoubleArray(), got[0].to(Device.CPU).to(DType.F64).toDoubleArray(), 0.0, "output: " + why);
        assertArrayEquals(want[1].to(Device.CPU).to(DType.F64).toDoubleArray(), got[1].to(Device.CPU).to(DType.F64).toDoubleArray(), 0.0, "qkv gradient: " + why);
    }

    @Test
    void equalsTheUnpackedCallBitForBit() {
        check(DType.BF16, 2, 1 + rnd.nextInt(300), 3, 64, 0, true, false);
        check(DType.BF16, 1, 128, 2, 128, 0, true, false);
        check(DType.F32, 1, 77, 2, 32, 0, true, false);
        check(DType.F16, 2, 200 + rnd.nextInt(100), 2, 64, 0.1, true, false);
        check(DType.BF16, 1, 1 + rnd.nextInt(200), 2, 64, 0, true, true);
        check(DType.BF16, 2, 1 + rnd.nextInt(300), 2, 96, 0.2, true, false, false);
    }

    @Test
    void atomicBackwardMatchesTheUnpackedCall() {
        // The atomic dQ path adds in an order that may vary run to run: the gradients agree within bf16 rounding,
        // the output bit for bit.
        Tensor values = randn(DType.BF16, 2, 333, 3, 4, 64);
        Tensor w = randn(DType.BF16, 2, 333, 4, 64);
        AttentionOptions opts = AttentionOptions.causal().withBackend(AttentionBackend.FLASH_CUDA).withDropout(0.1).withDropoutSeed(rnd.nextLong(), 0);
        Tensor[] want = QkvPackedAttentionTest.run(values, w, opts, false), got = QkvPackedAttentionTest.run(values, w, opts, true);
        assertArrayEquals(want[0].to(Device.CPU).to(DType.F64).toDoubleArray(), got[0].to(Device.CPU).to(DType.F64).toDoubleArray(), 0.0, "seed " + seed);
        double[] x = got[1].to(Device.CPU).to(DType.F64).toDoubleArray(), y = want[1].to(Device.CPU).to(DType.F64).toDoubleArray();
        double num = 0, den = 0;
        for (int i = 0; i < x.length; i++) {
            num += (x[i] - y[i]) * (x[i] - y[i]);
            den += y[i] * y[i];
        }
        assertTrue(Math.sqrt(num / den) < 1e-2, "qkv gradient relative error " + Math.sqrt(num / den) + ", seed " + seed);
    }
}
