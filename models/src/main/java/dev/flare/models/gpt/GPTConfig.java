package dev.flare.models.gpt;

import dev.flare.attention.AttentionDropout;

import java.util.Locale;
import java.util.Map;

/**
 * The shape of a GPT: vocabulary, context length (blockSize), layers, heads, embedding width, dropout and
 * whether Linear/LayerNorm layers carry biases. Presets match GPT-2 (124M to 1.5B) and a few CPU-sized models.
 * vocabSize is the logical vocabulary (token ids, logits, the loss); the token embedding is stored with
 * {@link #paddedVocabSize()} rows.
 */
public record GPTConfig(int vocabSize, int blockSize, int nLayer, int nHead, int nEmbd, double dropout, boolean bias) {
    public GPTConfig {
        positive("vocabSize", vocabSize);
        if (vocabSize > Integer.MAX_VALUE - (VOCAB_PADDING_MULTIPLE - 1))
            throw new IllegalArgumentException("vocabSize: expected at most " + (Integer.MAX_VALUE - (VOCAB_PADDING_MULTIPLE - 1))
                    + " (its padding to a multiple of " + VOCAB_PADDING_MULTIPLE + " must fit an int), got " + vocabSize);
        positive("blockSize", blockSize);
        positive("nLayer", nLayer);
        positive("nHead", nHead);
        positive("nEmbd", nEmbd);
        if (nEmbd % nHead != 0)
            throw new IllegalArgumentException("nEmbd: must be a multiple of nHead (" + nHead + "), got " + nEmbd);
        AttentionDropout.threshold("dropout", dropout);  // in [0, 1) and realizable by attention's 8-bit dropout mask
    }

    private static void positive(String name, int v) {
        if (v <= 0) throw new IllegalArgumentException(name + ": expected > 0, got " + v);
    }

    public int headDim() { return nEmbd / nHead; }

    /**
     * The multiple the token embedding's row count is rounded up to. A constant, not a field: 64 is what llm.c
     * pads to (nanoGPT's 50304 is the same rounding), it makes the tied LM head's GEMM dimensions multiples of the
     * tensor-core tile sizes, and a record field would change the config's JSON (trainer.json of every checkpoint)
     * and the command line's settings for a knob nobody needs to turn.
     */
    public static final int VOCAB_PADDING_MULTIPLE = 64;

    /**
     * Rows of the stored token embedding: vocabSize rounded up to a multiple of {@value #VOCAB_PADDING_MULTIPLE}
     * (50257 -> 50304, 65 -> 128). The rows past vocabSize are zero, get zero gradient, and never enter the softmax.
     */
    public int paddedVocabSize() {
        return (vocabSize + VOCAB_PADDING_MULTIPLE - 1) / VOCAB_PADDING_MULTIPLE * VOCAB_PADDING_MULTIPLE;
    }

    private static final Map<String, GPTConfig> PRESETS = Map.of(
            "gpt2", new GPTConfig(50257, 1024, 12, 12, 768, 0.0, true),
            "gpt2-medium", new GPTConfig(50257, 1024, 24, 16, 1024, 0.0, true),
            "gpt2-large", new GPTConfig(50257, 1024, 36, 20, 1280, 0.0, true),
            "gpt2-xl", new GPTConfig(50257, 1024, 48, 25, 1600, 0.0, true),
            // CPU-sized: "nano" for tests, "micro" for `flare train` on two cores, "mini" as nanoGPT's shakespeare-char.
            "nano", new GPTConfig(65, 64, 2, 2, 32, 0.0, true),
            "micro", new GPTConfig(65, 128, 4, 4, 128, 0.0, true),
            "mini", new GPTConfig(65, 256, 6, 6, 384, 0.2, true));

    /** A preset by name: gpt2, gpt2-medium, gpt2-large, gpt2-xl, nano, micro, mini. */
    public static GPTConfig preset(String name) {
        GPTConfig c = PRESETS.get(name.toLowerCase(Locale.ROOT));
        if (c == null) throw new IllegalArgumentException("preset: expected one of " + new java.util.TreeSet<>(PRESETS.keySet()) + ", got '" + name + "'");
        return c;
    }

    public GPTConfig withVocabSize(int v) { return new GPTConfig(v, blockSize, nLayer, nHead, nEmbd, dropout, bias); }

    public GPTConfig withBlockSize(int t) { return new GPTConfig(vocabSize, t, nLayer, nHead, nEmbd, dropout, bias); }

    public GPTConfig withDropout(double p) { return new GPTConfig(vocabSize, blockSize, nLayer, nHead, nEmbd, p, bias); }

    /**
     * Parameters with the LM head tied to the token embedding, as GPT-2 counts them: vocabSize rows of the
     * embedding, not the padding (124,439,808 for GPT-2 small).
     */
    public long parameterCount() {
        long c = nEmbd, b = bias ? 1 : 0;
        long ln = c + b * c;
        long attn = c * 3 * c + b * 3 * c + c * c + b * c;
        long mlp = c * 4 * c + b * 4 * c + 4 * c * c + b * c;
        return (long) vocabSize * c + (long) blockSize * c + nLayer * (2 * ln + attn + mlp) + ln;
    }
}
