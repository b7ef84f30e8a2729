package dev.flare.examples.library;

import dev.flare.attention.AttentionBackend;
import dev.flare.attention.AttentionOptions;
import dev.flare.tensor.Tensor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/** AttentionOnTensors: AUTO runs FLASH_CPU on the CPU, the GQA shapes, and outputs and gradients that match MATH. */
class AttentionOnTensorsTest {

    @Test
    void autoPicksFlashCpuAndAgreesWithMath() {
        AttentionOnTensors.Result flash = AttentionOnTensors.run(1, 4, 2, 8, 8, 0.2, AttentionOptions.DEFAULT);
        assertEquals(AttentionBackend.FLASH_CPU, flash.backend());
        assertArrayEquals(new int[]{1, 4, 8, 8}, flash.out().shape());
        assertArrayEquals(new int[]{1, 4, 8, 8}, flash.q().grad().shape());
        assertArrayEquals(new int[]{1, 2, 8, 8}, flash.k().grad().shape());   // kv heads, not query heads
        assertArrayEquals(new int[]{1, 2, 8, 8}, flash.v().grad().shape());

        AttentionOnTensors.Result math = AttentionOnTensors.run(1, 4, 2, 8, 8, 0.2,
                AttentionOptions.DEFAULT.withBackend(AttentionBackend.MATH));
        assertEquals(AttentionBackend.MATH, math.backend());
        close(math.out(), flash.out());
        close(math.k().grad(), flash.k().grad());
        close(math.v().grad(), flash.v().grad());
    }

    @Test
    void dropoutChangesTheOutput() {
        Tensor with = AttentionOnTensors.run(1, 2, 1, 8, 8, 0.5, AttentionOptions.DEFAULT).out();
        Tensor without = AttentionOnTensors.run(1, 2, 1, 8, 8, 0.0, AttentionOptions.DEFAULT).out();
        assertTrue(maxDiff(with, without) > 1e-3, "dropout 0.5 should change the output");
    }

    private static void close(Tensor expected, Tensor actual) {
        assertTrue(maxDiff(expected, actual) < 1e-4, "max |diff| " + maxDiff(expected, actual));
    }

    private static double maxDiff(Tensor a, Tensor b) {
        float[] x = a.toFloatArray(), y = b.toFloatArray();
        assertEquals(x.length, y.length);
        double m = 0;
        for (int i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i] - y[i]));
        return m;
    }
}
