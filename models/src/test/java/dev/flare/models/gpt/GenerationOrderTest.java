package dev.flare.models.gpt;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/** Sampling's candidate order equals a stable sort of the indices by Float.compare, largest first. */
class GenerationOrderTest {
    private final long seed = new Random().nextLong();

    private static int[] reference(float[] logits) {
        Integer[] order = new Integer[logits.length];
        for (int i = 0; i < order.length; i++) order[i] = i;
        Arrays.sort(order, (a, b) -> Float.compare(logits[b], logits[a]));       // stable: equal logits by index
        return Arrays.stream(order).mapToInt(Integer::intValue).toArray();
    }

    @Test
    void orderIsAStableSortByLogitLargestFirst() {
        Random r = new Random(seed);
        float[] specials = {0f, -0f, Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.MIN_VALUE,
                -Float.MIN_VALUE, Float.MAX_VALUE, -Float.MAX_VALUE, 1f, -1f};
        for (int n : new int[]{1, 2, 17, 1000, 50257}) {
            float[] logits = new float[n];
            for (int i = 0; i < n; i++) {
                int pick = r.nextInt(10);
                logits[i] = pick == 0 ? specials[r.nextInt(specials.length)]
                        : pick < 4 ? (float) r.nextInt(5)                                    // many ties
                        : (float) (r.nextGaussian() * 10);
            }
            assertArrayEquals(reference(logits), Generation.byLogitDescending(logits), "n " + n + ", seed " + seed);
        }
    }
}
