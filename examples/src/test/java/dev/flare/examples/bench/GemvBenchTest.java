package dev.flare.examples.bench;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** flare bench gemv prints one line per GPT-2 case in the format bench/cpu-gemv.sh joins with NumPy's. */
class GemvBenchTest {
    @Test
    void printsOneParsableLinePerCase() {
        String[] keys = {"bench.reps", "bench.minSeconds", "bench.warmSeconds"};
        String[] was = new String[keys.length];
        for (int i = 0; i < keys.length; i++) was[i] = System.getProperty(keys[i]);
        System.setProperty("bench.reps", "1");
        System.setProperty("bench.minSeconds", "0");
        System.setProperty("bench.warmSeconds", "0");
        PrintStream out = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
            GemvBench.main(new String[0]);
        } finally {
            System.setOut(out);
            for (int i = 0; i < keys.length; i++)
                if (was[i] == null) System.clearProperty(keys[i]); else System.setProperty(keys[i], was[i]);
        }
        List<String> lines = buf.toString(StandardCharsets.UTF_8).lines().filter(l -> l.startsWith("case=")).toList();
        assertEquals(List.of("qkv", "fc", "proj", "lmhead"), lines.stream().map(l -> l.substring(5, l.indexOf(' '))).toList(), lines.toString());
        for (String l : lines)
            assertTrue(l.matches("case=\\w+ best=[0-9.]+ median=[0-9.]+ reps=\\d+ check=-?[0-9.]+"), l);
    }
}
