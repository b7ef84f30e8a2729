package dev.flare.examples.cli;

import dev.flare.models.gpt.GPT;
import dev.flare.models.gpt.GPTConfig;
import dev.flare.models.gpt.hf.HfGpt2;
import dev.flare.models.text.Gpt2Tokenizer;
import dev.flare.tensor.random.Generator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** flare sample from what flare train wrote and from a Hugging Face folder, and its errors. */
class SampleCommandTest {

    @Test
    void samplesFromACheckpointOfTrain(@TempDir Path dir) throws Exception {
        assertEquals(0, Cli.trainTiny(dir).code());
        assertTrue(Files.isRegularFile(dir.resolve("run/tokenizer.json")));
        Path ckpt = dir.resolve("run/step-00000004");
        Cli r = Cli.run("sample", "--checkpoint", ckpt.toString(), "--prompt", "abc", "--max-new-tokens", "12", "--seed", "3");
        assertEquals(0, r.code(), r.err());
        // the prompt, then 12 characters of the char vocabulary (a, b, c, space, newline), then a newline
        String text = r.out();
        assertTrue(text.startsWith("abc"), text);
        assertEquals(3 + 12 + System.lineSeparator().length(), text.length(), text);
        assertTrue(text.substring(3).strip().chars().allMatch(ch -> "abc \n".indexOf(ch) >= 0), text);
        // the same seed gives the same text; the run folder means its newest checkpoint
        assertEquals(text, Cli.run("sample", "--checkpoint", dir.resolve("run").toString(), "--prompt", "abc",
                "--max-new-tokens", "12", "--seed", "3").out());
    }

    @Test
    void samplesFromAHuggingFaceFolder(@TempDir Path dir) throws Exception {
        GPT tiny = new GPT(new GPTConfig(Gpt2Tokenizer.VOCAB_SIZE, 16, 1, 2, 16, 0.0, true), new Generator(1));
        HfGpt2.save(tiny, dir.resolve("hf"));
        Cli r = Cli.run("sample", "--checkpoint", dir.resolve("hf").toString(), "--prompt", "Hello", "--max-new-tokens", "5", "--temperature", "0");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().startsWith("Hello") && r.out().length() > "Hello".length() + 1, r.out());
    }

    @Test
    void badInputsExitWithTwoAndOneLine(@TempDir Path dir) throws Exception {
        Cli missing = Cli.run("sample", "--checkpoint", dir.resolve("nope").toString(), "--prompt", "a");
        assertEquals(2, missing.code());
        assertTrue(missing.err().contains("nope"), missing.err());
        assertEquals(1, missing.err().strip().lines().count(), missing.err());

        Files.createDirectories(dir.resolve("empty"));
        Cli empty = Cli.run("sample", "--checkpoint", dir.resolve("empty").toString(), "--prompt", "a");
        assertEquals(2, empty.code());
        assertTrue(empty.err().contains("expected a checkpoint folder"), empty.err());

        assertEquals(0, Cli.trainTiny(dir).code());
        Cli foreign = Cli.run("sample", "--checkpoint", dir.resolve("run").toString(), "--prompt", "xyz");
        assertEquals(2, foreign.code());
        assertTrue(foreign.err().contains("'x'") && foreign.err().contains("vocabulary"), foreign.err());

        Files.delete(dir.resolve("run/tokenizer.json"));
        Cli noTok = Cli.run("sample", "--checkpoint", dir.resolve("run").toString(), "--prompt", "a");
        assertEquals(2, noTok.code());
        assertTrue(noTok.err().contains("tokenizer.json"), noTok.err());

        Files.writeString(dir.resolve("run/step-00000004/trainer.json"), "{ truncated");
        Cli corrupt = Cli.run("sample", "--checkpoint", dir.resolve("run/step-00000004").toString(), "--prompt", "a");
        assertEquals(2, corrupt.code());
        assertTrue(corrupt.err().contains("trainer.json"), corrupt.err());

        assertEquals(2, Cli.run("sample", "--prompt", "a").code());                       // --checkpoint is required
        assertEquals(2, Cli.run("sample", "--checkpoint", "x", "--prompt", "a", "--top-p", "0").code());
        assertEquals(2, Cli.run("sample", "--checkpoint", "x", "--prompt", "a", "--device", "tpu").code());
    }

    @Test
    void helpListsTheOptions() {
        Cli r = Cli.run("sample", "--help");
        assertEquals(0, r.code());
        for (String o : new String[]{"--checkpoint", "--prompt", "--max-new-tokens", "--temperature", "--top-k", "--top-p", "--seed", "--device"})
            assertTrue(r.out().contains(o), o + " missing from:\n" + r.out());
    }
}
