package dev.flare.training.checkpoint;

import dev.flare.models.gpt.GPTConfig;
import dev.flare.tensor.Tensor;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Checkpoints written before Flare padded its token embedding hold {@code wte.weight} and its AdamW moments with
 * vocabSize rows. Appending zero rows up to {@link GPTConfig#paddedVocabSize()} gives exactly the state a padded run
 * would have had: padding rows start at zero and get zero gradient, so they and their moments stay zero. A tensor of
 * any other shape is left as it is, for the loader's shape check to report.
 */
final class UnpaddedVocabCheckpoints {
    static final String WTE = "wte.weight";

    private UnpaddedVocabCheckpoints() {}

    /** weights with an unpadded wte.weight padded; the same map when there is nothing to pad. */
    static Map<String, Tensor> padWeights(GPTConfig cfg, Map<String, Tensor> weights) {
        Tensor wte = weights.get(WTE);
        if (!isUnpadded(cfg, wte)) return weights;
        Map<String, Tensor> out = new LinkedHashMap<>(weights);
        out.put(WTE, padRows(wte, cfg.paddedVocabSize()));
        return out;
    }

    /** moments with unpadded moments of wte.weight padded; the same map when there is nothing to pad. */
    static Map<String, Tensor[]> padMoments(GPTConfig cfg, Map<String, Tensor[]> moments) {
        Tensor[] mv = moments.get(WTE);
        if (mv == null || !isUnpadded(cfg, mv[0]) || !isUnpadded(cfg, mv[1])) return moments;
        Map<String, Tensor[]> out = new LinkedHashMap<>(moments);
        out.put(WTE, new Tensor[]{padRows(mv[0], cfg.paddedVocabSize()), padRows(mv[1], cfg.paddedVocabSize())});
        return out;
    }

    private static boolean isUnpadded(GPTConfig cfg, Tensor t) {
        return t != null && cfg.paddedVocabSize() != cfg.vocabSize() && t.dim() == 2
                && t.size(0) == cfg.vocabSize() && t.size(1) == cfg.nEmbd();
    }

    private static Tensor padRows(Tensor t, int rows) {
        return Tensor.cat(List.of(t, Tensor.zeros(t.dtype(), t.device(), rows - t.size(0), t.size(1))), 0);
    }
}
