package dev.flare.examples.cli;

import dev.flare.examples.demo.CharMlpDemo;
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
    void theDemoModelLearnsTheEmbeddedCorpus() throws Exception {
        String text = TrainCommand.embeddedCorpus();
        CharMlpDemo.Config d = CharMlpDemo.Config.defaults();
        CharMlpDemo model = new CharMlpDemo(text, new CharMlpDemo.Config(d.context(), d.embed(), d.hidden(), d.batch(), 150, d.lr(), d.momentum(), 7));
        double[] first = {Double.NaN};
        double last = model.train(10, (l, s) -> { if (s == 1) first[0] = l; });
        assertTrue(last < first[0] - 0.8, "loss " + first[0] + " -> " + last);
        String sample = model.sample("It was", 40, 0.8, c -> { });
        assertEquals(40, sample.length());
    }

    @Test
    void trainOnAUserFileRunsAndSamples(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("t.txt");
        Files.writeString(f, "abcabcabcabcabcabcabcabcabcabcabcabc abc abc abc\n".repeat(20));
        PrintStream old = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setOut(new PrintStream(buf, true));
        int code;
        try {
            code = FlareMain.run("train", "--data", f.toString(), "--steps", "20", "--sample-chars", "10");
        } finally {
            System.setOut(old);
        }
        assertEquals(0, code);
        assertTrue(buf.toString().contains("--- sample ---"), buf.toString());
    }

    @Test
    void badArgumentsExitWithTwo(@TempDir Path dir) {
        assertEquals(2, FlareMain.run("train", "--steps", "0"));
        assertEquals(2, FlareMain.run("train", "--data", dir.resolve("missing.txt").toString()));
        assertEquals(2, FlareMain.run("train", "--no-such-option"));
    }

    @Test
    void helpWorks() {
        assertEquals(0, FlareMain.run("--help"));
        assertEquals(0, FlareMain.run("train", "--help"));
    }
}
