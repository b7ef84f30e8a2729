package dev.flare.attention;

import dev.flare.tensor.DType;
import dev.flare.tensor.Tensor;
import dev.flare.tensor.random.Generator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

import static org.junit.jupiter.api.Assertions.*;

/** Argument checks, option validation and AUTO dispatch. */
class AttentionApiTest {
    private static Tensor t(int... shape) { return Tensor.zeros(shape); }

    private static void fails(String expectedFragment, Executable e) {
        IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, e);
        assertTrue(ex.getMessage().contains(expectedFragment), "message: " + ex.getMessage());
    }

    @Test
    void mismatchedHeadsWithoutGqa() {
        fails("q heads must equal k/v heads 2, got 4", () -> Attention.scaledDotProductAttention(t(1, 4, 3, 8), t(1, 2, 3, 8), t(1, 2, 3, 8)));
        fails("multiple of k/v heads", () -> Attention.scaledDotProductAttention(t(1, 3, 3, 8), t(1, 2, 3, 8), t(1, 2, 3, 8),
                AttentionOptions.DEFAULT.withEnableGqa(true)));
    }

    @Test
    void wrongRanksAndShapes() {
        fails("k must be 4-d", () -> Attention.scaledDotProductAttention(t(1, 2, 3, 8), t(2, 3, 8), t(1, 2, 3, 8)));
        fails("k head dim must equal q's 8, got 4", () -> Attention.scaledDotProductAttention(t(1, 2, 3, 8), t(1, 2, 3, 4), t(1, 2, 3, 8)));
        fails("v length must equal k's 3, got 5", () -> Attention.scaledDotProductAttention(t(1, 2, 3, 8), t(1, 2, 3, 8), t(1, 2, 5, 8)));
        fails("k batch must equal q's 1, got 2", () -> Attention.scaledDotProductAttention(t(1, 2, 3, 8), t(2, 2, 3, 8), t(2, 2, 3, 8)));
        fails("v must have q's dtype F32, got F64", () -> Attention.scaledDotProductAttention(t(1, 2, 3, 8), t(1, 2, 3, 8),
                Tensor.zeros(DType.F64, dev.flare.tensor.Device.CPU, 1, 2, 3, 8)));
        fails("attnMask must be broadcastable to [1, 2, 3, 3]", () -> Attention.scaledDotProductAttention(t(1, 2, 3, 8), t(1, 2, 3, 8),
                t(1, 2, 3, 8), AttentionOptions.DEFAULT.withAttnMask(t(4, 3))));
    }

    @Test
    void optionValidation() {
        fails("dropoutP: expected 0 <= p < 1, got 1.0", () -> AttentionOptions.DEFAULT.withDropout(1.0));
        fails("dropoutP: expected 0 <= p < 1, got -0.5", () -> AttentionOptions.DEFAULT.withDropout(-0.5));
        fails("attnMask and isCausal", () -> AttentionOptions.causal().withAttnMask(t(3, 3)));
        fails("attnMask and isCausal", () -> AttentionOptions.DEFAULT.withAttnMask(t(3, 3)).withCausal(true));
        fails("scale", () -> AttentionOptions.DEFAULT.withScale(-1.0));
    }

    @Test
    void forcedFlashCpuRejectsDenseMask() {
        Tensor mask = Tensor.ones(3, 3).gt(0.0);
        fails("backend FLASH_CPU: a dense attnMask (BOOL) is not supported", () -> Attention.scaledDotProductAttention(
                t(1, 2, 3, 8), t(1, 2, 3, 8), t(1, 2, 3, 8),
                AttentionOptions.DEFAULT.withAttnMask(mask).withBackend(AttentionBackend.FLASH_CPU)));
    }

    @Test
    void forcedFlashCudaRejectsCpuTensors() {
        fails("backend FLASH_CUDA: expected CUDA tensors", () -> Attention.scaledDotProductAttention(t(1, 2, 3, 8), t(1, 2, 3, 8),
                t(1, 2, 3, 8), AttentionOptions.DEFAULT.withBackend(AttentionBackend.FLASH_CUDA)));
    }

    @Test
    void autoPicksFlashCpuOnCpuAndMathWithADenseMask() {
        Tensor q = t(1, 2, 3, 8);
        assertEquals(AttentionBackend.FLASH_CPU, Attention.choose(q, 8, 8, AttentionOptions.causal()));
        assertEquals(AttentionBackend.FLASH_CPU, Attention.choose(q, 8, 8, AttentionOptions.DEFAULT));
        assertEquals(AttentionBackend.MATH, Attention.choose(q, 8, 8, AttentionOptions.DEFAULT.withAttnMask(Tensor.ones(3, 3).gt(0.0))));
        assertEquals(AttentionBackend.MATH, Attention.choose(q, 8, 8, AttentionOptions.DEFAULT.withBackend(AttentionBackend.MATH)));
    }

    @Test
    void boolAndAdditiveMasksAgreeWithCausal() {
        java.util.Random rnd = new java.util.Random(7);
        double[] data = new double[2 * 5 * 4];
        for (int i = 0; i < data.length; i++) data[i] = rnd.nextGaussian();
        Tensor q = Tensor.fromArray(data, 1, 2, 5, 4);
        boolean[] allowed = new boolean[25];
        double[] additive = new double[25];
        for (int i = 0; i < 5; i++)
            for (int j = 0; j < 5; j++) {
                allowed[i * 5 + j] = j <= i;
                additive[i * 5 + j] = j <= i ? 0 : Double.NEGATIVE_INFINITY;
            }
        Tensor causal = Attention.scaledDotProductAttention(q, q, q, AttentionOptions.causal());
        Tensor bool = Attention.scaledDotProductAttention(q, q, q, AttentionOptions.DEFAULT.withAttnMask(Tensor.fromArray(allowed, 5, 5)));
        Tensor add = Attention.scaledDotProductAttention(q, q, q, AttentionOptions.DEFAULT.withAttnMask(Tensor.fromArray(additive, 5, 5)));
        assertArrayEquals(causal.toDoubleArray(), bool.toDoubleArray(), 1e-12);
        assertArrayEquals(causal.toDoubleArray(), add.toDoubleArray(), 1e-12);
    }

    @Test
    void generatorReservesOneOffsetPerCall() {
        Generator g = new Generator(42);
        Tensor q = t(1, 1, 4, 8);
        AttentionOptions o = AttentionOptions.DEFAULT.withDropout(0.5).withGenerator(g);
        long before = g.offset();
        Attention.scaledDotProductAttention(q, q, q, o);
        Attention.scaledDotProductAttention(q, q, q, o);
        assertEquals(before + 2, g.offset());
        // Without dropout nothing is reserved.
        Attention.scaledDotProductAttention(q, q, q, AttentionOptions.DEFAULT.withGenerator(g));
        assertEquals(before + 2, g.offset());
    }

    @Test
    void backendForReportsThePickAndChecksForcedBackends() {
        Tensor q4 = t(1, 2, 3, 8), v3 = t(2, 3, 5);
        assertEquals(AttentionBackend.FLASH_CPU, Attention.backendFor(q4, t(1, 2, 3, 5), AttentionOptions.causal()));
        assertEquals(AttentionBackend.FLASH_CPU, Attention.backendFor(t(2, 3, 8), v3, AttentionOptions.DEFAULT));
        assertEquals(AttentionBackend.MATH, Attention.backendFor(q4, q4, AttentionOptions.DEFAULT.withAttnMask(Tensor.ones(3, 3).gt(0.0))));
        fails("backend FLASH_CUDA: expected CUDA tensors", () -> Attention.backendFor(q4, q4,
                AttentionOptions.DEFAULT.withBackend(AttentionBackend.FLASH_CUDA)));
    }
}
