package dev.flare.examples.bench;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

/** Runs a CPU benchmark's main with one timed call and no warm-up ({@link Timing}'s properties), returning its lines. */
final class QuickBench {
    private QuickBench() {}

    interface Main {
        void run(String[] args);
    }

    /** The lines main printed that start with prefix; the properties and System.out are restored afterwards. */
    static List<String> lines(Main main, String[] args, String prefix) {
        String[] keys = {"bench.reps", "bench.minSeconds", "bench.warmSeconds"}, fast = {"1", "0", "0"};
        String[] was = new String[keys.length];
        for (int i = 0; i < keys.length; i++) {
            was[i] = System.getProperty(keys[i]);
            System.setProperty(keys[i], fast[i]);
        }
        PrintStream out = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
            main.run(args);
        } finally {
            System.setOut(out);
            for (int i = 0; i < keys.length; i++)
                if (was[i] == null) System.clearProperty(keys[i]); else System.setProperty(keys[i], was[i]);
        }
        return buf.toString(StandardCharsets.UTF_8).lines().filter(l -> l.startsWith(prefix)).toList();
    }
}
