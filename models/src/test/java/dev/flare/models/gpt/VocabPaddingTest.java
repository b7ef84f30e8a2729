package dev.flare.models.gpt;

import dev.flare.autograd.NoGrad;
import dev.flare.nn.Embedding;
import dev.flare.nn.Parameter;
import dev.flare.tensor.DType;
import dev.flare.tensor.Tensor;
import dev.flare.tensor.random.Generator;
import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The padded token embedding (wte with paddedVocabSize rows) changes nothing a user can see: logits, loss and
 * gradients equal those of an unpadded model computed by hand, the padding rows are zero and get zero gradient,
 * initialisation draws the same numbers, and generation never yields a padding id.
 */
class VocabPaddingTest {
    private final long seed = new Random().nextLong();
    private final Random random = new Random(seed);

    private GPTConfig config(int vocab) {
        return new GPTConfig(vocab, 12, 2, 2, 16, 0.0, true);
    }

    private Tensor ids(int vocab, int b, int t, boolean someIgnored) {
        long[] v = new long[b * t];
        for (int i = 0; i < v.length; i++) v[i] = someIgnored && random.nextInt(5) == 0 ? -100 : random.nextInt(vocab);
        return Tensor.fromArray(v, b, t);
    }

    @Test
    void paddedVocabSizeRoundsUpToAMultipleOf64() {
        assertEquals(50304, config(50257).paddedVocabSize());
        assertEquals(128, config(65).paddedVocabSize());
        assertEquals(64, config(1).paddedVocabSize());
        assertEquals(64, config(64).paddedVocabSize());
        assertEquals(128, config(128).paddedVocabSize());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> config(Integer.MAX_VALUE));
        assertTrue(e.getMessage().startsWith("vocabSize: expected at most"), e.getMessage());
    }

    @Test
    void wteIsStoredPaddedWithTheSameDrawsAsAnUnpaddedTableAndZeroRows() {
        GPTConfig cfg = config(65);
        GPT model = new GPT(cfg, new Generator(seed));
        Tensor w = model.wte.weight.value();
        assertArrayEquals(new int[]{128, cfg.nEmbd()}, w.shape());
        // GPT draws wte then wpe: an unpadded table drawn from the same generator gives the same rows, and the
        // generator goes on to the same wpe (so CPU runs keep their numbers).
        Generator gen = new Generator(seed);
        Embedding unpaddedWte = new Embedding(cfg.vocabSize(), cfg.nEmbd(), gen);
        Embedding wpe = new Embedding(cfg.blockSize(), cfg.nEmbd(), gen);
        assertArrayEquals(unpaddedWte.weight.value().toFloatArray(), model.wte.unpaddedWeight().toFloatArray(), "seed " + seed);
        assertArrayEquals(wpe.weight.value().toFloatArray(), model.wpe.weight.value().toFloatArray(), "seed " + seed);
        assertPaddingIs(0f, model);
        assertEquals(cfg.parameterCount(), model.parameterCount(), "the padding is not counted");
    }

    @Test
    void paddedModelMatchesAnUnpaddedReferenceInLogitsLossAndGradients() {
        int notMultiple = 100 + random.nextInt(27);            // 100..126
        for (int vocab : new int[]{65, notMultiple, 128}) checkAgainstReference(config(vocab));
    }

    /** The model under test against the same weights run by hand with an unpadded (V, C) wte leaf, in F64. */
    private void checkAgainstReference(GPTConfig cfg) {
        String where = "vocab " + cfg.vocabSize() + ", seed " + seed;
        int b = 2, t = cfg.blockSize(), v = cfg.vocabSize();
        Tensor ids = ids(v, b, t, false), targets = ids(v, b, t, true);
        GPT model = new GPT(cfg, new Generator(seed)), ref = new GPT(cfg, new Generator(seed));
        model.to(DType.F64);
        ref.to(DType.F64);
        GPT.Output out = model.forward(ids, targets);
        out.loss().backward();

        Tensor wte = Tensor.zeros(DType.F64, ids.device(), v, cfg.nEmbd());
        try (NoGrad ignored = NoGrad.enter()) {
            wte.copyFrom(ref.wte.weight.value().narrow(0, 0, v));
        }
        wte.requiresGrad(true);
        Tensor x = Tensor.embedding(wte, ids).add(ref.wpe.forward(Tensor.arange(0, t, 1, DType.I64, ids.device())));
        for (int i = 0; i < ref.blocks.size(); i++) x = ref.blocks.get(i).forward(x, null, i);
        Tensor logits = ref.lnF.forward(x).matmul(wte.t());
        Tensor loss = Tensor.crossEntropy(logits, targets, -100);
        loss.backward();

        assertArrayEquals(new int[]{b, t, v}, out.logits().shape(), where);
        assertClose("logits, " + where, logits.toDoubleArray(), out.logits().toDoubleArray());
        assertClose("loss, " + where, new double[]{loss.item()}, new double[]{out.loss().item()});
        Tensor wteGrad = model.wte.weight.value().grad();
        assertClose("wte.weight grad rows [0, V), " + where, wte.grad().toDoubleArray(), wteGrad.narrow(0, 0, v).toDoubleArray());
        for (double g : wteGrad.narrow(0, v, cfg.paddedVocabSize() - v).toDoubleArray())
            assertEquals(0.0, g, 0.0, "a padding row of wte got a gradient, " + where);
        Map<String, Parameter> refParams = ref.namedParameters();
        for (var e : model.namedParameters().entrySet()) {
            if (e.getKey().equals("wte.weight")) continue;
            assertClose(e.getKey() + " grad, " + where, refParams.get(e.getKey()).value().grad().toDoubleArray(),
                    e.getValue().value().grad().toDoubleArray());
        }
    }

    /** Equal to 1e-12 of the largest magnitude: the padded GEMMs sum extra zeros, possibly in another order. */
    private void assertClose(String what, double[] expected, double[] actual) {
        assertEquals(expected.length, actual.length, what + ": length");
        double scale = 0;
        for (double e : expected) scale = Math.max(scale, Math.abs(e));
        for (int i = 0; i < expected.length; i++)
            if (!(Math.abs(expected[i] - actual[i]) <= 1e-12 * Math.max(scale, 1e-30)))
                fail(what + ": element " + i + " is " + actual[i] + ", the unpadded reference " + expected[i]);
    }

    private static void assertPaddingIs(float value, GPT model) {
        GPTConfig cfg = model.config();
        for (float x : model.wte.weight.value().narrow(0, cfg.vocabSize(), cfg.paddedVocabSize() - cfg.vocabSize()).toFloatArray())
            assertEquals(value, x, 0f, "a padding row of wte");
    }

    @Test
    void generationNeverYieldsAPaddingIdEvenWhenPaddingLogitsWouldWin() {
        GPTConfig cfg = config(65);
        GPT model = new GPT(cfg, new Generator(seed));
        try (NoGrad ignored = NoGrad.enter()) {
            // ln_f's output is then its bias (all ones) at every position, so a logit is its wte row's sum:
            // the padding rows (all 10) give 10 * C, far above any real row's.
            model.lnF.weight.value().fill(0);
            model.lnF.bias.value().fill(1);
            model.wte.weight.value().narrow(0, cfg.vocabSize(), cfg.paddedVocabSize() - cfg.vocabSize()).fill(10);
            Tensor ids = ids(cfg.vocabSize(), 1, 4, false);
            Tensor all = model.lnF.forward(Tensor.zeros(1, 1, cfg.nEmbd())).matmul(model.wte.weight.value().t());
            assertTrue(argmax(all.toFloatArray()) >= cfg.vocabSize(), "control: the padding logits win over all stored rows");
            GPT.Output out = model.forward(ids, null, null, true);
            assertArrayEquals(new int[]{1, 1, cfg.vocabSize()}, out.logits().shape());
            assertTrue(argmax(out.logits().toFloatArray()) < cfg.vocabSize());
        }
        int[] prompt = {1, 2, 3};
        for (Sampling s : new Sampling[]{Sampling.greedy(30), Sampling.of(30, 1.0, 0, 1.0, seed), Sampling.of(30, 2.0, 100, 1.0, seed)})
            for (int id : Generation.generate(model, prompt, s, null))
                assertTrue(id >= 0 && id < cfg.vocabSize(), "generated id " + id + " outside [0, " + cfg.vocabSize() + ") with " + s);
    }

    private static int argmax(float[] a) {
        int best = 0;
        for (int i = 1; i < a.length; i++) if (a[i] > a[best]) best = i;
        return best;
    }

    @Test
    void idsInThePaddingAreRejectedAsOutsideTheVocabulary() {
        GPTConfig cfg = config(65);
        GPT model = new GPT(cfg, new Generator(seed));
        Tensor ids = Tensor.fromArray(new long[]{1, 65}, 1, 2);
        IndexOutOfBoundsException e = assertThrows(IndexOutOfBoundsException.class, () -> model.forward(ids, null));
        assertTrue(e.getMessage().contains("[0, 65)"), e.getMessage());
        Tensor targets = Tensor.fromArray(new long[]{1, 70}, 1, 2);
        e = assertThrows(IndexOutOfBoundsException.class, () -> model.forward(Tensor.fromArray(new long[]{1, 2}, 1, 2), targets));
        assertTrue(e.getMessage().contains("[0, 65)"), e.getMessage());
    }
}
