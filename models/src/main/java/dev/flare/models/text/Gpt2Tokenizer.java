package dev.flare.models.text;

import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingType;
import com.knuddels.jtokkit.api.IntArrayList;

import java.util.OptionalInt;

/**
 * GPT-2's byte-level BPE (the r50k_base encoding, 50257 tokens, end-of-text 50256) through JTokkit, whose jar
 * carries the merge table: no download at run time.
 */
public final class Gpt2Tokenizer implements Tokenizer {
    public static final int VOCAB_SIZE = 50257;
    public static final int END_OF_TEXT = 50256;
    private static final Encoding ENCODING = Encodings.newLazyEncodingRegistry().getEncoding(EncodingType.R50K_BASE);

    /** Encodes ordinary text; the literal string "<|endoftext|>" is encoded as text, not as the special token. */
    @Override
    public int[] encode(String text) {
        return ENCODING.encodeOrdinary(text).toArray();
    }

    @Override
    public String decode(int[] ids) {
        IntArrayList list = new IntArrayList(ids.length);
        for (int id : ids) {
            if (id < 0 || id >= VOCAB_SIZE)
                throw new IllegalArgumentException("ids: token " + id + " is outside GPT-2's vocabulary [0, " + VOCAB_SIZE + ")");
            list.add(id);
        }
        return ENCODING.decode(list);
    }

    @Override public int vocabSize() { return VOCAB_SIZE; }

    @Override public String name() { return "gpt2"; }

    @Override public OptionalInt endOfText() { return OptionalInt.of(END_OF_TEXT); }
}
