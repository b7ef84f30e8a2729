package dev.flare.models.gpt;

import dev.flare.autograd.NoGrad;
import dev.flare.tensor.Tensor;
import dev.flare.tensor.random.Generator;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

/** Shapes and parameter counts, the loss at init, KV-cache decoding vs full recomputation, reproducible sampling. */
class GPTTest {
    private final long seed = new Random().nextLong();

    private static Tensor ids(Random r, int vocab, int b, int t) {
        long[] v = new long[b * t];
        for (int i = 0; i < v.length; i++) v[i] = r.nextInt(vocab);
        return Tensor.fromArray(v, b, t);
    }

    @Test
    void builtModelsHaveTheirConfigsParameterCounts() {
        for (String p : List.of("nano", "micro", "mini")) {
            GPTConfig cfg = GPTConfig.preset(p);
            GPT m = new GPT(cfg, new Generator(seed));
            assertEquals(cfg.parameterCount(), m.parameterCount(), p);
        }
        GPT nano = new GPT(GPTConfig.preset("nano"), new Generator(seed));
        assertTrue(nano.stateDict().containsKey("h.1.attn.c_attn.weight"));
        assertArrayEquals(new int[]{32, 96}, nano.stateDict().get("h.0.attn.c_attn.weight").shape(), "Conv1D layout (in, out)");
    }

    @Test
    void gpt2SmallHas124MParametersWithTying() {
        GPT m = new GPT(GPTConfig.preset("gpt2"), new Generator(seed));
        assertEquals(124_439_808L, m.parameterCount());
        assertEquals(124_475_904L, m.parameters().stream().mapToLong(Tensor::numel).sum(), "stored: wte padded to 50304 rows, not counted");
    }

    @Test
    void lossAtInitIsNearLnVocab() {
        GPTConfig cfg = GPTConfig.preset("nano");
        GPT m = new GPT(cfg, new Generator(seed));
        Random r = new Random(seed);
        GPT.Output out = m.forward(ids(r, cfg.vocabSize(), 2, 16), ids(r, cfg.vocabSize(), 2, 16));
        assertArrayEquals(new int[]{2, 16, cfg.vocabSize()}, out.logits().shape());
        assertEquals(Math.log(cfg.vocabSize()), out.loss().item(), 0.1, "seed " + seed);
        out.loss().backward();
        assertNotNull(m.wte.weight.value().grad(), "the tied LM head and the embedding share one gradient");
    }

    @Test
    void kvCacheDecodingEqualsFullRecomputation() {
        GPTConfig cfg = GPTConfig.preset("nano").withBlockSize(24);
        GPT m = new GPT(cfg, new Generator(seed)).eval() instanceof GPT g ? g : null;
        int[] prompt = {3, 14, 15, 9, 2};
        int[] cached = Generation.generate(m, prompt, Sampling.greedy(12), null);
        List<Integer> seq = new ArrayList<>();
        for (int p : prompt) seq.add(p);
        try (NoGrad ignored = NoGrad.enter()) {
            for (int i = 0; i < 12; i++) {
                long[] l = seq.stream().mapToLong(Integer::longValue).toArray();
                float[] logits = m.forward(Tensor.fromArray(l, 1, l.length), null, null, true).logits().toFloatArray();
                int next = Generation.pick(logits, Sampling.greedy(1), i);
                assertEquals(next, cached[i], "token " + i + " (seed " + seed + ")");
                seq.add(next);
            }
        }
        // Past the context: the cache is rebuilt and decoding goes on.
        assertEquals(40, Generation.generate(m, prompt, Sampling.greedy(40), null).length);
        // A prompt longer than the context is cropped to its last blockSize tokens, also when it fills the cache.
        int[] longPrompt = new int[30];
        for (int i = 0; i < longPrompt.length; i++) longPrompt[i] = (i * 7) % cfg.vocabSize();
        int[] fromLong = Generation.generate(m, longPrompt, Sampling.greedy(5), null);
        int[] fromTail = Generation.generate(m, java.util.Arrays.copyOfRange(longPrompt, 6, 30), Sampling.greedy(5), null);
        assertArrayEquals(fromTail, fromLong, "seed " + seed);
    }

    @Test
    void samplingIsReproducibleAndHonoursStopTokens() {
        GPT m = new GPT(GPTConfig.preset("nano"), new Generator(seed));
        int[] prompt = {1, 2, 3};
        Sampling s = Sampling.of(20, 1.0, 10, 0.9, 42);
        List<Integer> streamed = new ArrayList<>();
        int[] a = Generation.generate(m, prompt, s, streamed::add);
        assertArrayEquals(a, Generation.generate(m, prompt, s, null));
        assertEquals(a.length, streamed.size());
        int[] stopped = Generation.generate(m, prompt, s.withStopTokens(Set.of(a[4])), null);
        assertTrue(stopped.length <= 5 && stopped[stopped.length - 1] == a[4]);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Generation.generate(m, new int[]{99}, s, null));
        assertTrue(e.getMessage().contains("token 99"), e.getMessage());
    }

    @Test
    void topKOneIsGreedy() {
        float[] logits = {0.1f, 3f, -1f, 2.9f};
        for (long step = 0; step < 20; step++) assertEquals(1, Generation.pick(logits, Sampling.of(1, 1.5, 1, 1.0, step), step));
        int[] seen = new int[4];
        for (long step = 0; step < 400; step++) seen[Generation.pick(logits, Sampling.of(1, 1.0, 0, 1.0, 7), step)]++;
        assertTrue(seen[1] > 100 && seen[3] > 100 && seen[2] < 40, java.util.Arrays.toString(seen));
    }
}
