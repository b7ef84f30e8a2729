package dev.flare.attention;

import dev.flare.tensor.DType;
import dev.flare.tensor.Device;
import dev.flare.tensor.Tensor;
import dev.flare.tensor.random.Generator;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The packed call against the unpacked one on the three views of the same tensor (CPU backends here; FLASH_CUDA's
 * own function in {@link QkvPackedAttentionCudaTest}): values, qkv's gradient, dropout draws, argument errors.
 */
class QkvPackedAttentionTest {
    private final long seed = new Random().nextLong();
    private final Random rnd = new Random(seed);

    private final Generator gen = new Generator(seed);

    private Tensor randn(int... shape) { return Tensor.randn(gen, DType.F64, Device.CPU, shape); }

    /** Part i of (B, S, 3, H, D) as (B, H, S, D), built here independently of the code under test. */
    static Tensor view(Tensor qkv, int i) {
        return qkv.narrow(2, i, 1).squeeze(2).permute(0, 2, 1, 3);
    }

    /** {out, qkv's gradient} for loss sum(out * w), packed or through the three views. */
    static Tensor[] run(Tensor qkvValues, Tensor w, AttentionOptions opts, boolean packed) {
        Tensor qkv = qkvValues.detach().requiresGrad(true);
        Tensor out = packed ? Attention.qkvPackedAttention(qkv, opts)
                : Attention.scaledDotProductAttention(view(qkv, 0), view(qkv, 1),
                        view(qkv, 2), opts).transpose(1, 2);
        out.mul(w).sum().backward();
        return new Tensor[]{out, qkv.grad()};
    }

    @Test
    void matchesTheUnpackedCallOnItsViews() {
        for (AttentionBackend backend : new AttentionBackend[]{AttentionBackend.FLASH_CPU, AttentionBackend.MATH, AttentionBackend.AUTO}) {
            int b = 1 + rnd.nextInt(2), s = 1 + rnd.nextInt(40), h = 1 + rnd.nextInt(3), d = 4 + rnd.nextInt(13);
            boolean causal = rnd.nextBoolean();
            Tensor values = randn(b, s, 3, h, d);
            // Non-contiguous too: the same values stored (B, 3, S, H, D) and viewed back.
            Tensor strided = values.permute(0, 2, 1, 3, 4).contiguous().permute(0, 2, 1, 3, 4);
            Tensor w = randn(b, s, h, d);
            long dropSeed = rnd.nextLong();
            AttentionOptions opts = AttentionOptions.DEFAULT.withCausal(causal).withBackend(backend).withDropout(0.25)
                    .withDropoutSeed(dropSeed, 3);
            String why = backend + " b=" + b + " s=" + s + " h=" + h + " d=" + d + " causal=" + causal + " seed " + seed;
            Tensor[] want = run(values, w, opts, false);
            for (Tensor in : new Tensor[]{values, strided}) {
                Tensor[] got = run(in, w, opts, true);
                assertArrayEquals(new int[]{b, s, h, d}, got[0].shape(), why);
                assertArrayEquals(want[0].toDoubleArray(), got[0].toDoubleArray(), 0.0, "output: " + why);
                assertArrayEquals(want[1].toDoubleArray(), got[1].toDoubleArray(), 0.0, "qkv gradient: " + why);
            }
        }
    }

    @Test
    void drawsOneDropoutOffsetFromTheGenerator() {
        Tensor values = randn(1, 9, 3, 2, 8);
        Generator a = new Generator(5), b = new Generator(5);
        AttentionOptions base = AttentionOptions.causal().withDropout(0.5);
        Tensor packed = Attention.qkvPackedAttention(values, base.withGenerator(a));
        Tensor unpacked = Attention.scaledDotProductAttention(view(values, 0), view(values, 1),
                view(values, 2), base.withGenerator(b)).transpose(1, 2);
        assertArrayEquals(unpacked.toDoubleArray(), packed.toDoubleArray(), 0.0);
        // The next call on each generator draws the same mask again: both advanced alike.
        assertArrayEquals(Attention.scaledDotProductAttention(view(values, 0), view(values, 1),
                        view(values, 2), base.withGenerator(b)).transpose(1, 2).toDoubleArray(),
                Attention.qkvPackedAttention(values, base.withGenerator(a)).toDoubleArray(), 0.0);
    }

    @Test
    void rejectsWhatIsNotPacked() {
        AttentionOptions o = AttentionOptions.DEFAULT;
        assertMessage("qkv must be (B, S, 3, H, D), got shape [1, 4, 2, 2, 8]", () -> Attention.qkvPackedAttention(Tensor.zeros(1, 4, 2, 2, 8), o));
        assertMessage("qkv must be (B, S, 3, H, D), got shape [4, 3, 2, 8]", () -> Attention.qkvPackedAttention(Tensor.zeros(4, 3, 2, 8), o));
        assertMessage("qkv must be a tensor, got null", () -> Attention.qkvPackedAttention(null, o));
        assertMessage("options: expected AttentionOptions, got null", () -> Attention.qkvPackedAttention(Tensor.zeros(1, 4, 3, 2, 8), null));
        assertMessage("enableGqa does not apply", () -> Attention.qkvPackedAttention(Tensor.zeros(1, 4, 3, 2, 8), o.withEnableGqa(true)));
        assertMessage("must be floating point, got I64", () -> Attention.qkvPackedAttention(Tensor.zeros(DType.I64, Device.CPU, 1, 4, 3, 2, 8), o));
    }

    private static void assertMessage(String fragment, org.junit.jupiter.api.function.Executable e) {
        IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, e);
        assertTrue(ex.getMessage().contains(fragment), "message: " + ex.getMessage());
    }
}
