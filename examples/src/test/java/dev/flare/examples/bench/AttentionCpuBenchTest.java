package dev.flare.examples.bench;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** flare bench attention-cpu prints one parsable line per shape and backend, and names a bad shape. */
class AttentionCpuBenchTest {
    @Test
    void printsOneLinePerShapeAndBackend() {
        List<String> lines = QuickBench.lines(AttentionCpuBench::main, new String[]{"2,2,65,16", "1,3,17,8"}, "shape=");
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
