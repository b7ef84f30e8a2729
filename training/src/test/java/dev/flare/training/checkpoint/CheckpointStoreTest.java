package dev.flare.training.checkpoint;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/** Atomic publication, keep-last-K plus best, and a checkpoint that survives its writer being killed mid-save. */
class CheckpointStoreTest {
    @TempDir Path dir;

    private static AtomicDirectory.Filler files(int bytes) {
        return d -> {
            Files.write(d.resolve("model.bin"), new byte[bytes]);
            Files.writeString(d.resolve("state.json"), "{\"ok\":true}");
        };
    }

    @Test
    void keepsTheLastKAndTheBest() throws IOException {
        CheckpointStore store = new CheckpointStore(dir, 2);
        double[] losses = {3.0, 2.0, 2.5, Double.NaN, 2.8};
        for (int i = 0; i < losses.length; i++) store.save(100L * (i + 1), losses[i], files(16));
        assertEquals(List.of(200L, 400L, 500L), store.steps());
        assertEquals(200L, store.best().orElseThrow().step());
        assertEquals(dir.resolve("step-00000500"), store.latest().orElseThrow());
    }

    @Test
    void neverOverwritesAnExistingCheckpointAndCleansFailedWrites() throws IOException {
        CheckpointStore store = new CheckpointStore(dir, 3);
        store.save(1, 1.0, files(8));
        IOException e = assertThrows(IOException.class, () -> store.save(1, 0.5, files(8)));
        assertTrue(e.getMessage().contains("already exists"), e.getMessage());
        assertThrows(IOException.class, () -> store.save(2, 0.5, d -> { throw new IOException("disk full"); }));
        assertEquals(List.of(1L), store.steps());
        try (var s = Files.list(dir)) {
            assertTrue(s.noneMatch(p -> p.getFileName().toString().contains(".tmp-")));
        }
        assertEquals(1.0, store.best().orElseThrow().valLoss());
    }

    /** Run by the kill test in a child JVM: writes large checkpoints until killed. */
    public static void main(String[] args) throws Exception {
        CheckpointStore store = new CheckpointStore(Path.of(args[0]), 2);
        for (long step = 1; ; step++) {
            store.save(step, 1.0 / step, files(64 << 20));
            System.out.println("saved " + step);
            System.out.flush();
        }
    }

    @Test
    void aSaveKilledMidwayLeavesTheLastCheckpointComplete() throws Exception {
        String java = ProcessHandle.current().info().command().orElse("java");
        Process p = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), CheckpointStoreTest.class.getName(), dir.toString())
                .redirectErrorStream(true).start();
        try (var out = new java.io.BufferedReader(new java.io.InputStreamReader(p.getInputStream()))) {
            assertEquals("saved 1", out.readLine());
            assertEquals("saved 2", out.readLine());
            Thread.sleep(30);                      // inside the third save
            p.destroyForcibly();
            assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        }
        CheckpointStore store = new CheckpointStore(dir, 2);   // cleans the interrupted write's leftovers
        Path latest = store.latest().orElseThrow();
        assertEquals(64 << 20, Files.size(latest.resolve("model.bin")));
        assertEquals("{\"ok\":true}", Files.readString(latest.resolve("state.json")));
        try (var s = Files.list(dir)) {
            assertTrue(s.noneMatch(q -> q.getFileName().toString().contains(".tmp-")));
        }
    }
}
