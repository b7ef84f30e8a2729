package dev.flare.tensor.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * GemmKernelF64 must stay the twin of GemmKernelF32 (same source after float -> double, Float -> Double,
 * F32 -> F64, 0f -> 0d, class comments aside), so that a fix to one kernel is not forgotten in the other.
 * Reads the sources from the module folder (Maven's working directory); skipped when they are not there.
 */
class GemmKernelTwinsTest {
    private static final Path DIR = Path.of("src/main/java/dev/flare/tensor/cpu");

    @Test
    void f64KernelIsTheF32KernelWithDoubles() throws IOException {
        Path f32 = DIR.resolve("GemmKernelF32.java"), f64 = DIR.resolve("GemmKernelF64.java");
        assumeTrue(Files.exists(f32) && Files.exists(f64), "kernel sources not found under " + DIR.toAbsolutePath());
        String expected = withoutClassComment(Files.readString(f32))
                .replace("F32", "F64").replace("float", "double").replace("Float", "Double")
                .replaceAll("\\b0f\\b", "0d");
        String[] want = expected.split("\n", -1), got = withoutClassComment(Files.readString(f64)).split("\n", -1);
        for (int i = 0; i < Math.max(want.length, got.length); i++) {
            String w = i < want.length ? want[i] : "<end of file>", g = i < got.length ? got[i] : "<end of file>";
            assertEquals(w, g, "GemmKernelF64.java is no longer the twin of GemmKernelF32.java (line " + (i + 1)
                    + " after the class comment): make the same change to both");
        }
    }

    /** The source without its first Javadoc comment (the class comment, which differs on purpose). */
    private static String withoutClassComment(String source) {
        int start = source.indexOf("/**"), end = source.indexOf("*/", start);
        return start < 0 || end < 0 ? source : source.substring(0, start) + source.substring(end + 2);
    }
}
