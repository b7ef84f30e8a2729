package dev.flare.models.gpt;

import java.util.Set;

/**
 * Generation settings. temperature 0 means greedy; topK 0 and topP 1 disable those filters. The seed makes
 * sampling reproducible: step i draws its uniform number from Philox keyed by the seed and counted by i.
 */
public record Sampling(int maxNewTokens, double temperature, int topK, double topP, Set<Integer> stopTokens, long seed) {
    public Sampling {
        if (maxNewTokens < 0) throw new IllegalArgumentException("maxNewTokens: expected >= 0, got " + maxNewTokens);
        if (!(temperature >= 0)) throw new IllegalArgumentException("temperature: expected >= 0, got " + temperature);
        if (topK < 0) throw new IllegalArgumentException("topK: expected >= 0 (0 = off), got " + topK);
        if (!(topP > 0 && topP <= 1)) throw new IllegalArgumentException("topP: expected in (0, 1], got " + topP);
        stopTokens = Set.copyOf(stopTokens);
    }

    public static Sampling greedy(int maxNewTokens) { return new Sampling(maxNewTokens, 0, 0, 1, Set.of(), 0); }

    public static Sampling of(int maxNewTokens, double temperature, int topK, double topP, long seed) {
        return new Sampling(maxNewTokens, temperature, topK, topP, Set.of(), seed);
    }

    public Sampling withStopTokens(Set<Integer> stop) { return new Sampling(maxNewTokens, temperature, topK, topP, stop, seed); }
}
