package dev.flare.examples.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** The train command end to end on tiny settings, resuming, and its errors. */
class TrainCommandTest {

    @Test
    void trainOnAUserFileRunsAndSamples(@TempDir Path dir) throws Exception {
        Path f = Cli.text(dir);
        Cli r = Cli.run("train", "--data", f.toString(), "--steps", "20", "--preset", "nano", "--block-size", "16",
                "--sample-tokens", "10", "--out", dir.resolve("run").toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("--- sample ---"), r.out());
        assertEquals(21, Files.readAllLines(dir.resolve("run/metrics.csv")).size());
        assertTrue(Files.readString(dir.resolve("run/tokenizer.json")).contains("\"vocabulary\" : \"\\n abc\""));
    }

    @Test
    void resumeContinuesToMoreSteps(@TempDir Path dir) throws Exception {
        assertEquals(0, Cli.trainTiny(dir).code());
        Cli r = Cli.run("train", "--data", Cli.text(dir).toString(), "--steps", "6", "--sample-tokens", "3",
                "--out", dir.resolve("run").toString(), "--resume", dir.resolve("run/step-00000004").toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(Files.isDirectory(dir.resolve("run/step-00000006")));
        assertEquals(7, Files.readAllLines(dir.resolve("run/metrics.csv")).size());   // header + steps 1..6
    }

    @Test
    void badArgumentsExitWithTwo(@TempDir Path dir) throws Exception {
        assertEquals(2, Cli.run("train", "--steps", "0").code());
        Cli missing = Cli.run("train", "--data", dir.resolve("missing.txt").toString());
        assertEquals(2, missing.code());
        assertTrue(missing.err().contains("missing.txt") && missing.err().lines().count() == 1, missing.err());
        assertEquals(2, Cli.run("train", "--no-such-option").code());
        assertEquals(2, Cli.run("train", "--tokenizer", "bpe9").code());
        assertEquals(2, Cli.run("train", "--device", "tpu").code());
        assertEquals(2, Cli.run("train", "--preset", "huge").code());
        assertEquals(2, Cli.run("train", "--steps", "abc").code());
        assertEquals(2, Cli.trainTiny(dir, "--resume", dir.resolve("nope").toString()).code());
    }

    @Test
    void helpWorks() {
        assertEquals(0, Cli.run("--help").code());
        Cli r = Cli.run("train", "--help");
        assertEquals(0, r.code());
        for (String o : new String[]{"--data", "--tokenizer", "--preset", "--resume", "--config", "--set", "--steps"})
            assertTrue(r.out().contains(o), o + " missing from:\n" + r.out());
        Cli top = Cli.run("--help");
        for (String c : new String[]{"train", "sample", "finetune", "bench"}) assertTrue(top.out().contains(c), top.out());
        assertEquals(0, Cli.run("bench", "--help").code());
    }
}
