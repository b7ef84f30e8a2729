package dev.flare.examples.bench;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** flare bench attention-cpu prints one parsable line per shape and backend, and names a bad shape. */
class AttentionCpuBenchTest {
    @Test
    void printsOneLinePerShapeAndBackend() {
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
            AttentionCpuBench.main(new String[]{"2,2,65,16", "1,3,17,8"});
        } finally {
            System.setOut(out);
            for (int i = 0; i < keys.length; i++)
                if (was[i] == null) System.clearProperty(keys[i]); else System.setProperty(keys[i], was[i]);
        }
        List<String> lines = buf.toString(StandardCharsets.UTF_8).lines().filter(l -> l.startsWith("shape=")).toList();
        assertEquals(4, lines.size(), lines.toString());
        for (String l : lines)
            assertTrue(l.matches("shape=\\d+,\\d+,\\d+,\\d+ backend=(FLASH_CPU|MATH) best=[0-9.]+ median=[0-9.]+ reps=\\d+"), l);
    }

    @Test
    void badShapeIsNamed() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> AttentionCpuBench.main(new String[]{"2,2,x,16"}));
        assertTrue(e.getMessage().contains("B,H,S,D") && e.getMessage().contains("2,2,x,16"), e.getMessage());
    }
}
