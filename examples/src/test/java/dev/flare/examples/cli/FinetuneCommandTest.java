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

/** flare finetune from a Hugging Face GPT-2 folder and from a run of flare train, and its errors. */
class FinetuneCommandTest {

    @Test
    void finetunesAHuggingFaceFolderThenSamples(@TempDir Path dir) throws Exception {
        GPT tiny = new GPT(new GPTConfig(Gpt2Tokenizer.VOCAB_SIZE, 32, 1, 2, 16, 0.0, true), new Generator(1));
        HfGpt2.save(tiny, dir.resolve("hf"));
        Path text = dir.resolve("t.txt");
        Files.writeString(text, "The quick brown fox jumps over the lazy dog. ".repeat(60));
        Path out = dir.resolve("ft");
        Cli r = Cli.run("finetune", "--from", dir.resolve("hf").toString(), "--data", text.toString(), "--steps", "3",
                "--block-size", "16", "--batch-size", "2", "--sample-tokens", "4", "--out", out.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("--- sample ---"), r.out());
        assertEquals(4, Files.readAllLines(out.resolve("metrics.csv")).size());   // header + 3 steps
        assertTrue(Files.readString(out.resolve("tokenizer.json")).contains("gpt2"));
        Cli s = Cli.run("sample", "--checkpoint", out.toString(), "--prompt", "The", "--max-new-tokens", "3");
        assertEquals(0, s.code(), s.err());
    }

    @Test
    void finetunesARunOfTrain(@TempDir Path dir) throws Exception {
        assertEquals(0, Cli.trainTiny(dir).code());
        Cli r = Cli.run("finetune", "--from", dir.resolve("run").toString(), "--data", Cli.text(dir).toString(), "--steps", "2",
                "--block-size", "8", "--batch-size", "2", "--sample-tokens", "3", "--out", dir.resolve("ft").toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(Files.isDirectory(dir.resolve("ft/step-00000002")));
    }

    @Test
    void badInputsExitWithTwo(@TempDir Path dir) throws Exception {
        assertEquals(0, Cli.trainTiny(dir).code());
        String run = dir.resolve("run").toString(), data = Cli.text(dir).toString();
        Cli noData = Cli.run("finetune", "--from", run);
        assertEquals(2, noData.code());
        assertTrue(noData.err().contains("--data"), noData.err());
        Cli fixed = Cli.run("finetune", "--from", run, "--data", data, "--set", "model.nLayer=3");
        assertEquals(2, fixed.code());
        assertTrue(fixed.err().contains("model.nLayer: fixed by the --from model"), fixed.err());
        Cli longer = Cli.run("finetune", "--from", run, "--data", data, "--block-size", "99");
        assertEquals(2, longer.code());
        assertTrue(longer.err().contains("at most the model's context 16"), longer.err());
        assertEquals(2, Cli.run("finetune", "--from", dir.resolve("nope").toString(), "--data", data).code());
        assertEquals(2, Cli.run("finetune", "--data", data).code());     // --from is required
    }

    @Test
    void helpListsTheOptions() {
        Cli r = Cli.run("finetune", "--help");
        assertEquals(0, r.code());
        for (String o : new String[]{"--from", "--data", "--steps", "--config", "--set", "--out"})
            assertTrue(r.out().contains(o), o + " missing from:\n" + r.out());
    }
}
