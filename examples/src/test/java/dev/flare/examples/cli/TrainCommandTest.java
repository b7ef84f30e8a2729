package dev.flare.examples.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** The train command end to end on tiny settings, and its errors. */
class TrainCommandTest {

    @Test
    void trainOnAUserFileRunsAndSamples(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("t.txt");
        Files.writeString(f, "abcabcabcabcabcabcabcabcabcabcabcabc abc abc abc\n".repeat(20));
        PrintStream old = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setOut(new PrintStream(buf, true));
        int code;
        try {
            code = FlareMain.run("train", "--data", f.toString(), "--steps", "20", "--preset", "nano", "--block-size", "16", "--sample-tokens", "10", "--out", dir.resolve("run").toString());
        } finally {
            System.setOut(old);
        }
        assertEquals(0, code);
        assertTrue(buf.toString().contains("--- sample ---"), buf.toString());
        assertEquals(21, Files.readAllLines(dir.resolve("run/metrics.csv")).size());
    }

    @Test
    void badArgumentsExitWithTwo(@TempDir Path dir) {
        assertEquals(2, FlareMain.run("train", "--steps", "0"));
        assertEquals(2, FlareMain.run("train", "--data", dir.resolve("missing.txt").toString()));
        assertEquals(2, FlareMain.run("train", "--no-such-option"));
        assertEquals(2, FlareMain.run("train", "--tokenizer", "bpe9"));
        assertEquals(2, FlareMain.run("train", "--device", "tpu"));
    }

    @Test
    void helpWorks() {
        assertEquals(0, FlareMain.run("--help"));
        assertEquals(0, FlareMain.run("train", "--help"));
    }
}
