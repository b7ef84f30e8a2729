package dev.flare.models.gpt;

import dev.flare.autograd.NoGrad;
import dev.flare.tensor.DType;
import dev.flare.tensor.MemoryScope;
import dev.flare.tensor.Tensor;
import dev.flare.tensor.random.PhiloxStream;

import java.util.Arrays;
import java.util.function.IntConsumer;

/**
 * Autoregressive decoding with a KV cache: the prompt is run once, then each new token attends to the cached
 * keys and values (bottom-right causal alignment). When the context (blockSize) is full, the cache is rebuilt
 * from the last half of the context and decoding continues.
 */
public final class Generation {
    private Generation() {}

    /** Generates up to maxNewTokens after prompt, calling onToken for each as it is produced; returns the new tokens. */
    public static int[] generate(GPT model, int[] prompt, Sampling s, IntConsumer onToken) {
        if (prompt.length == 0) throw new IllegalArgumentException("prompt: expected at least one token");
        GPTConfig cfg = model.config();
        for (int t : prompt)
            if (t < 0 || t >= cfg.vocabSize())
                throw new IllegalArgumentException("prompt: token " + t + " is outside the vocabulary [0, " + cfg.vocabSize() + ")");
        boolean wasTraining = model.isTraining();
        model.eval();
        int[] all = Arrays.copyOf(prompt, prompt.length + s.maxNewTokens());
        int len = prompt.length, produced = 0;
        KvCache cache = null;
        try (NoGrad ignored = NoGrad.enter()) {
            float[] logits = null;
            while (produced < s.maxNewTokens()) {
                try (MemoryScope step = MemoryScope.open()) {
                    if (cache == null) {   // prefill with the prompt's last blockSize tokens
                        cache = model.newCache(1, cfg.blockSize());
                        logits = lastLogits(model, Arrays.copyOfRange(all, len - Math.min(len, cfg.blockSize()), len), cache);
                    }
                    int next = pick(logits, s, produced);
                    all[len++] = next;
                    produced++;
                    if (onToken != null) onToken.accept(next);
                    if (s.stopTokens().contains(next) || produced == s.maxNewTokens()) break;
                    if (cache.length() + 1 > cfg.blockSize()) {
                        // Context full: restart the cache from the last half context (nanoGPT crops the same way).
                        cache.release();
                        cache = model.newCache(1, cfg.blockSize());
                        int keep = Math.min(len, Math.max(1, cfg.blockSize() / 2));
                        logits = lastLogits(model, Arrays.copyOfRange(all, len - keep, len), cache);
                    } else {
                        logits = lastLogits(model, new int[]{next}, cache);
                    }
                }
            }
        } finally {
            if (cache != null) cache.release();
            model.train(wasTraining);
        }
        return Arrays.copyOfRange(all, prompt.length, len);
    }

    private static float[] lastLogits(GPT model, int[] ids, KvCache cache) {
        long[] l = new long[ids.length];
        for (int i = 0; i < ids.length; i++) l[i] = ids[i];
        Tensor in = Tensor.fromArray(l, 1, ids.length).to(model.device());
        return model.forward(in, null, cache, true).logits().to(DType.F32).toFloatArray();
    }

    /**
     * Indices of logits from the largest logit down (Float.compare's order, NaN first), equal logits by index: the
     * order of a stable sort. One primitive sort of (logit, index) keys: sorting boxed indices with a comparator was a
     * quarter of a GPT-2 decoding step on the CPU.
     */
    static int[] byLogitDescending(float[] logits) {
        long[] keys = new long[logits.length];
        for (int i = 0; i < logits.length; i++) {
            int bits = Float.floatToIntBits(logits[i]);                // NaN canonical: above +infinity, as Float.compare
            int ascending = bits ^ ((bits >> 31) & 0x7fffffff);       // ints ordered as Float.compare orders the floats
            keys[i] = ((long) ~ascending << 32) | i;                 // ~: largest logit first; then the lower index
        }
        Arrays.sort(keys);
        int[] order = new int[logits.length];
        for (int i = 0; i < order.length; i++) order[i] = (int) keys[i];
        return order;
    }

    /** Greedy, or temperature / top-k / top-p sampling with the step's Philox uniform number. */
    static int pick(float[] logits, Sampling s, long step) {
        int v = logits.length;
        if (s.temperature() == 0) {
            int best = 0;
            for (int i = 1; i < v; i++) if (logits[i] > logits[best]) best = i;
            return best;
        }
        int[] order = byLogitDescending(logits);
        int k = s.topK() == 0 ? v : Math.min(s.topK(), v);
        double max = logits[order[0]] / s.temperature();
        double[] p = new double[k];
        double total = 0;
        for (int i = 0; i < k; i++) total += p[i] = Math.exp(logits[order[i]] / s.temperature() - max);
        int keep = k;
        if (s.topP() < 1) {                                  // smallest prefix whose mass reaches topP
            double acc = 0;
            for (int i = 0; i < k; i++) {
                acc += p[i] / total;
                if (acc >= s.topP()) { keep = i + 1; break; }
            }
        }
        double mass = 0;
        for (int i = 0; i < keep; i++) mass += p[i];
        double u = PhiloxStream.uniformDouble(s.seed(), 0, step) * mass;
        for (int i = 0; i < keep; i++) {
            u -= p[i];
            if (u < 0) return order[i];
        }
        return order[keep - 1];
    }
}
