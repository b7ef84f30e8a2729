package dev.flare.examples.bench;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** flare bench gemv prints one line per GPT-2 case in the format bench/cpu-gemv.sh joins with NumPy's. */
class GemvBenchTest {
    @Test
    void printsOneParsableLinePerCase() {
        List<String> lines = QuickBench.lines(GemvBench::main, new String[0], "case=");
        assertEquals(List.of("qkv", "fc", "proj", "lmhead"), lines.stream().map(l -> l.substring(5, l.indexOf(' '))).toList(), lines.toString());
        for (String l : lines)
            assertTrue(l.matches("case=\\w+ best=[0-9.]+ median=[0-9.]+ reps=\\d+ check=-?[0-9.]+"), l);
    }
}
