package dev.flare.examples.cli;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;

/** Runs the flare command line in-process, capturing its exit code, stdout and stderr. */
record Cli(int code, String out, String err) {

    static Cli run(String... args) {
        PrintStream oldOut = System.out, oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        System.setOut(new PrintStream(out, true));
        System.setErr(new PrintStream(err, true));
        try {
            int code = FlareMain.run(args);
            return new Cli(code, out.toString(), err.toString());
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    /** A small text file of the given characters, long enough for tiny runs. */
    static Path text(Path dir) throws java.io.IOException {
        Path f = dir.resolve("t.txt");
        Files.writeString(f, "abcabcabcabcabcabcabcabcabcabcabcabc abc abc abc\n".repeat(20));
        return f;
    }

    /** flare train on tiny settings into dir/run. */
    static Cli trainTiny(Path dir, String... more) throws java.io.IOException {
        String[] base = {"train", "--data", text(dir).toString(), "--steps", "4", "--preset", "nano", "--block-size", "16",
                "--batch-size", "4", "--sample-tokens", "5", "--out", dir.resolve("run").toString()};
        String[] all = java.util.Arrays.copyOf(base, base.length + more.length);
        System.arraycopy(more, 0, all, base.length, more.length);
        return run(all);
    }
}
