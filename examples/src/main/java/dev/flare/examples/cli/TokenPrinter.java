package dev.flare.examples.cli;

import dev.flare.models.text.Tokenizer;

import java.io.PrintStream;
import java.util.Arrays;
import java.util.function.IntConsumer;

/**
 * Prints tokens as they are generated. A GPT-2 token can hold part of a UTF-8 character, so tokens are held back
 * while their text ends in an incomplete character (U+FFFD) and printed together once it completes.
 */
final class TokenPrinter implements IntConsumer {
    private static final int MAX_HELD = 8;               // a UTF-8 character is at most 4 byte tokens
    private final Tokenizer tok;
    private final PrintStream out;
    private int[] held = new int[0];

    TokenPrinter(Tokenizer tok, PrintStream out) {
        this.tok = tok;
        this.out = out;
    }

    @Override
    public void accept(int token) {
        if (tok.endOfText().isPresent() && tok.endOfText().getAsInt() == token) return;
        held = Arrays.copyOf(held, held.length + 1);
        held[held.length - 1] = token;
        String text = tok.decode(held);
        if (!text.endsWith("\uFFFD") || held.length >= MAX_HELD) {
            out.print(text);
            out.flush();
            held = new int[0];
        }
    }

    /** Prints whatever is still held back (an incomplete character at the end of the sample). */
    void finish() {
        if (held.length > 0) out.print(tok.decode(held));
        held = new int[0];
        out.println();
        out.flush();
    }
}
