package dev.flare.attention;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The CUDA kernels' dropout decisions come from Philox bytes that lanes exchange by shuffles and byte permutes, and
 * the wgmma forward turns them into 16-bit masks with PTX tricks (sign-replicating prmt, subnormal f16x2 compares).
 * src/test/cuda/dropout_check.py emulates that code lane by lane, as written, and compares every decision with the
 * direct definition; this test runs it, so a change to the exchange that is not mirrored there (or is wrong) fails on
 * the CPU, before any GPU run. Skips when no python3 is on the PATH.
 */
class DropoutLaneExchangeTest {
    @Test
    void laneSharedDropoutBytesAndMasksMatchTheDirectDefinition() throws Exception {
        Path script = Path.of("src/test/cuda/dropout_check.py");
        assertTrue(Files.exists(script), "missing " + script.toAbsolutePath());
        Process proc;
        try {
            proc = new ProcessBuilder("python3", script.toString()).redirectErrorStream(true).start();
        } catch (IOException e) {
            assumeTrue(false, "python3 is not available: " + e.getMessage());
            return;
        }
        boolean done = proc.waitFor(120, TimeUnit.SECONDS);
        if (!done) proc.destroyForcibly();
        String out = new String(proc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(done, "dropout_check.py did not finish in 120 s");
        assertEquals(0, proc.exitValue(), "dropout_check.py: " + out);
        assertTrue(out.contains(" 0 of "), "dropout_check.py reported differences: " + out);
    }
}
