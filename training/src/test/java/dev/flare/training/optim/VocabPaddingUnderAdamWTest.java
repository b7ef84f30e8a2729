package dev.flare.training.optim;

import dev.flare.models.gpt.GPT;
import dev.flare.models.gpt.GPTConfig;
import dev.flare.tensor.Tensor;
import dev.flare.tensor.random.Generator;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** GPT's padding rows of wte get zero gradient every step and stay zero under AdamW, weight decay included. */
class VocabPaddingUnderAdamWTest {
    private final long seed = new Random().nextLong();
    private final Random random = new Random(seed);

    private Tensor ids(int vocab, int b, int t) {
        long[] v = new long[b * t];
        for (int i = 0; i < v.length; i++) v[i] = random.nextInt(vocab);
        return Tensor.fromArray(v, b, t);
    }

    @Test
    void paddingRowsGetZeroGradientAndStayZeroThroughAdamWStepsWithWeightDecay() {
        GPTConfig cfg = GPTConfig.preset("nano").withVocabSize(65).withBlockSize(16);
        int v = cfg.vocabSize(), pad = cfg.paddedVocabSize() - v;
        GPT model = new GPT(cfg, new Generator(seed));
        Tensor wte = model.wte.weight.value();
        float[] before = model.wte.unpaddedWeight().toFloatArray();
        // One decayed group holding every parameter, wte too (the default groups would exempt embeddings from decay).
        AdamW opt = new AdamW(List.of(new AdamW.Group("all", model.parameters(), 0.1)), 0.9, 0.95, 1e-8);
        for (int step = 0; step < 4; step++) {
            model.forward(ids(v, 2, 16), ids(v, 2, 16)).loss().backward();
            for (double g : wte.grad().narrow(0, v, pad).toDoubleArray())
                assertEquals(0.0, g, 0.0, "a padding row got a gradient at step " + step + ", seed " + seed);
            opt.step(1e-2);
            for (Tensor p : model.parameters()) p.setGrad(null);
            for (double w : wte.narrow(0, v, pad).toDoubleArray())
                assertEquals(0.0, w, 0.0, "a padding row moved at step " + step + ", seed " + seed);
            Tensor[] mv = opt.moments(wte);
            assertEquals(0.0, mv[0].narrow(0, v, pad).abs().sum().item(), 0.0, "first moment of the padding, seed " + seed);
            assertEquals(0.0, mv[1].narrow(0, v, pad).abs().sum().item(), 0.0, "second moment of the padding, seed " + seed);
        }
        float[] after = model.wte.unpaddedWeight().toFloatArray();
        int moved = 0;
        for (int i = 0; i < after.length; i++) if (after[i] != before[i]) moved++;
        assertEquals(after.length, moved, "control: every real row of wte is updated and decayed");
    }
}
