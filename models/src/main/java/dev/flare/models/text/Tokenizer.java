package dev.flare.models.text;

import java.util.OptionalInt;

/** Text to token ids and back. Implementations: {@link CharTokenizer}, {@link Gpt2Tokenizer}. */
public interface Tokenizer {
    int[] encode(String text);

    String decode(int[] ids);

    int vocabSize();

    /** A short name saved with models ("char", "gpt2"). */
    String name();

    /** The end-of-text token, if the vocabulary has one. */
    OptionalInt endOfText();
}
