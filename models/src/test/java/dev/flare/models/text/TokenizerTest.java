package dev.flare.models.text;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/** Both tokenizers round-trip text; GPT-2's ids match the published encoding; bad input is named. */
class TokenizerTest {

    @Test
    void charTokenizerRoundTripsAndRebuildsFromItsVocabulary() {
        String text = "hello, wörld 🔥 hello";
        CharTokenizer t = CharTokenizer.fromText(text);
        assertEquals(text, t.decode(t.encode(text)));
        CharTokenizer again = CharTokenizer.fromVocabulary(t.vocabulary());
        assertArrayEquals(t.encode(text), again.encode(text));
        assertEquals(text.codePoints().distinct().count(), t.vocabSize());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> t.encode("xyz"));
        assertTrue(e.getMessage().contains("'x'") && e.getMessage().contains("U+0078"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> t.decode(new int[]{t.vocabSize()}));
        assertTrue(e.getMessage().contains("outside the vocabulary"), e.getMessage());
    }

    @Test
    void gpt2TokenizerMatchesTheKnownEncoding() {
        Gpt2Tokenizer t = new Gpt2Tokenizer();
        // "Hello world" is [15496, 995] in GPT-2's vocabulary (tiktoken r50k_base / Hugging Face gpt2).
        assertArrayEquals(new int[]{15496, 995}, t.encode("Hello world"));
        String text = "It was the best of times, it was the worst of times. 🔥 Ünïcödé\n\t spaces";
        assertEquals(text, t.decode(t.encode(text)));
        assertEquals(50257, t.vocabSize());
        assertEquals(50256, t.endOfText().getAsInt());
        assertThrows(IllegalArgumentException.class, () -> t.decode(new int[]{50257}));
    }
}
