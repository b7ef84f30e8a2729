package dev.flare.nn;

import dev.flare.models.gpt.GPT;
import dev.flare.models.gpt.GPTConfig;
import dev.flare.tensor.Tensor;
import dev.flare.tensor.random.Generator;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Skipped initialisation builds zero weights and draws nothing; outside it layers draw as before, and the skip is
 * confined to the building thread and the call.
 */
class ParameterInitTest {
    private final long seed = new Random().nextLong();

    @Test
    void skippedBuildsZeroWeightsAndDrawsNothing() {
        Generator gen = new Generator(seed);
        GPT gpt = ParameterInit.skipped(() -> new GPT(GPTConfig.preset("nano").withVocabSize(50), gen));
        assertEquals(0, gen.offset(), "nothing drawn");
        long nonZeroLayerNorm = 0;
        for (var e : gpt.namedParameters().entrySet()) {
            double absSum = e.getValue().value().abs().sum().item();
            if (e.getKey().contains("ln")) nonZeroLayerNorm += absSum > 0 ? 1 : 0;   // layer norms start at 1 / 0 anyway
            else assertEquals(0.0, absSum, e.getKey() + " must be zero");
        }
        assertTrue(nonZeroLayerNorm > 0, "layer-norm weights are ones either way");
        assertFalse(ParameterInit.isSkipping(), "the skip ends with the call");
    }

    @Test
    void outsideTheSkipLayersDrawTheirNormalNumbers() throws InterruptedException {
        Linear skippedHere = ParameterInit.skipped(() -> {
            Linear[] other = new Linear[1];
            Thread t = new Thread(() -> other[0] = new Linear(8, 5, true, new Generator(seed)));   // another thread: not skipped
            t.start();
            try {
                t.join();
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
            assertArrayEquals(Tensor.randn(new Generator(seed), 8, 5).mul(0.02).toFloatArray(), other[0].weight.value().toFloatArray(),
                    "seed " + seed);
            return new Linear(8, 5, true, new Generator(seed));
        });
        assertEquals(0.0, skippedHere.weight.value().abs().sum().item());
        Embedding e = new Embedding(7, 9, 3, new Generator(seed));
        float[] w = e.weight.value().toFloatArray(), drawn = Tensor.randn(new Generator(seed), 7, 3).mul(0.02).toFloatArray();
        for (int i = 0; i < drawn.length; i++) assertEquals(drawn[i], w[i], 0f, "seed " + seed);
        for (int i = drawn.length; i < w.length; i++) assertEquals(0f, w[i], "padding rows stay zero");
    }
}
