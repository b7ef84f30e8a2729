package dev.flare.attention;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** FlashCpuKernelF32 must be FlashCpuKernelF64 with double replaced by float (its header gives the sed). */
class AttentionKernelSyncTest {
    private static String body(String src) {
        int start = src.indexOf("final class");   // skip the header comment, which differs
        return src.substring(start);
    }

    @Test
    void f32KernelIsGeneratedFromTheF64One() throws Exception {
        Path dir = Path.of("src/main/java/dev/flare/attention");
        String f64 = Files.readString(dir.resolve("FlashCpuKernelF64.java"));
        String f32 = Files.readString(dir.resolve("FlashCpuKernelF32.java"));
        String generated = f64.replace("F64", "F32").replace("double", "float").replace("Double", "Float");
        assertEquals(body(generated), body(f32), "regenerate FlashCpuKernelF32.java from FlashCpuKernelF64.java (see its header)");
    }
}
