package dev.flare.models.text;

import java.util.Arrays;
import java.util.OptionalInt;
import java.util.TreeSet;

/**
 * One token per distinct character (Unicode code point) of the training text, in code-point order. The
 * vocabulary is saved with the model ({@link #vocabulary()}) so a checkpoint decodes the same way later.
 */
public final class CharTokenizer implements Tokenizer {
    private final int[] codePoints;                     // sorted; the id of a code point is its index

    private CharTokenizer(int[] sortedCodePoints) {
        this.codePoints = sortedCodePoints;
    }

    /** The vocabulary of {@code text}. */
    public static CharTokenizer fromText(String text) {
        if (text == null || text.isEmpty()) throw new IllegalArgumentException("text: expected non-empty text to build a vocabulary from");
        TreeSet<Integer> set = new TreeSet<>();
        text.codePoints().forEach(set::add);
        return new CharTokenizer(set.stream().mapToInt(Integer::intValue).toArray());
    }

    /** Rebuilds a tokenizer from {@link #vocabulary()}. */
    public static CharTokenizer fromVocabulary(String vocabulary) {
        int[] cps = vocabulary.codePoints().toArray();
        for (int i = 1; i < cps.length; i++)
            if (cps[i] <= cps[i - 1])
                throw new IllegalArgumentException("vocabulary: expected distinct characters in increasing order, got a repeat or disorder at position " + i);
        if (cps.length == 0) throw new IllegalArgumentException("vocabulary: expected at least one character");
        return new CharTokenizer(cps);
    }

    /** Every character of the vocabulary, in id order, as one string. */
    public String vocabulary() { return new String(codePoints, 0, codePoints.length); }

    @Override
    public int[] encode(String text) {
        return text.codePoints().map(cp -> {
            int id = Arrays.binarySearch(codePoints, cp);
            if (id < 0)
                throw new IllegalArgumentException("text: character '" + Character.toString(cp) + "' (U+"
                        + String.format("%04X", cp) + ") is not in this model's " + codePoints.length + "-character vocabulary");
            return id;
        }).toArray();
    }

    @Override
    public String decode(int[] ids) {
        StringBuilder sb = new StringBuilder(ids.length);
        for (int id : ids) {
            if (id < 0 || id >= codePoints.length)
                throw new IllegalArgumentException("ids: token " + id + " is outside the vocabulary [0, " + codePoints.length + ")");
            sb.appendCodePoint(codePoints[id]);
        }
        return sb.toString();
    }

    @Override public int vocabSize() { return codePoints.length; }

    @Override public String name() { return "char"; }

    @Override public OptionalInt endOfText() { return OptionalInt.empty(); }
}
