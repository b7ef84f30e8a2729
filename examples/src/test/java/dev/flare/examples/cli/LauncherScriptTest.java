package dev.flare.examples.cli;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The flare script's JVM flags: ParallelGC by default, none of ours when FLARE_JAVA_OPTS picks a collector (the JVM
 * refuses two: "Multiple garbage collectors selected"), transparent huge pages on Linux when the kernel's mode offers
 * them and FLARE_JAVA_OPTS does not decide, FLARE_JAVA_OPTS last and never globbed.
 */
class LauncherScriptTest {
    /** The repository root's script: Maven runs this from examples/, a run from the root finds it there. */
    private static final Path SCRIPT = (Files.isRegularFile(Path.of("flare")) ? Path.of("flare") : Path.of("..", "flare"))
            .toAbsolutePath().normalize();

    private static List<String> flags(String javaOpts) throws IOException, InterruptedException {
        return flags(javaOpts, null);
    }

    /** thpModeFile: the file the script reads the kernel's huge-page mode from (null: the kernel's own). */
    private static List<String> flags(String javaOpts, Path thpModeFile) throws IOException, InterruptedException {
        assertTrue(Files.isRegularFile(SCRIPT), "the flare script at " + SCRIPT);
        ProcessBuilder pb = new ProcessBuilder("bash", SCRIPT.toString(), "jvm-flags").redirectErrorStream(true);
        if (javaOpts == null) pb.environment().remove("FLARE_JAVA_OPTS");
        else pb.environment().put("FLARE_JAVA_OPTS", javaOpts);
        if (thpModeFile == null) pb.environment().remove("FLARE_THP_MODE_FILE");
        else pb.environment().put("FLARE_THP_MODE_FILE", thpModeFile.toString());
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), out);
        return out.lines().toList();
    }

    @Test
    void parallelGcUnlessTheUserPicksACollector() throws Exception {
        List<String> plain = flags(null);
        assertTrue(plain.contains("-XX:+UseParallelGC"), plain.toString());
        assertTrue(plain.contains("--add-modules") && plain.contains("jdk.incubator.vector"), plain.toString());
        for (String gc : new String[]{"-XX:+UseG1GC", "-XX:+UseZGC", "-XX:+UseSerialGC"}) {
            List<String> f = flags("-Xmx2g " + gc + " -Dpattern=*.java");
            assertFalse(f.contains("-XX:+UseParallelGC"), gc + ": " + f);
            assertEquals(List.of("-Xmx2g", gc, "-Dpattern=*.java"), f.subList(f.size() - 3, f.size()), "in order, unglobbed");
        }
        List<String> other = flags("-Xmx2g -XX:+UseCompressedOops");
        assertTrue(other.contains("-XX:+UseParallelGC"), "a -XX:+Use... flag that is not a collector: " + other);
    }

    @Test
    void hugePagesWhereTheKernelOffersThemUnlessTheUserDecides(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        boolean linux = System.getProperty("os.name").startsWith("Linux");
        String flag = "-XX:+UseTransparentHugePages";
        for (String mode : new String[]{"[always] madvise never", "always [madvise] never", "always madvise [never]"}) {
            Path file = Files.writeString(dir.resolve("enabled"), mode + "\n");
            boolean offered = !mode.contains("[never]");
            assertEquals(linux && offered, flags(null, file).contains(flag), mode);
            List<String> off = flags("-XX:-UseTransparentHugePages", file);
            assertFalse(off.contains(flag), "the user's -XX:-UseTransparentHugePages wins: " + off);
        }
        assertFalse(flags(null, dir.resolve("missing")).contains(flag), "no mode file: no flag");
    }
}
