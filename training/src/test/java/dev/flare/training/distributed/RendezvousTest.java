package dev.flare.training.distributed;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.*;

/** The unique-id exchange on the CPU: threads stand in for ranks, fake bytes for NCCL's id. */
class RendezvousTest {
    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) { return s.getLocalPort(); }
    }

    private static byte[] fakeId() {
        byte[] id = new byte[128];
        for (int i = 0; i < id.length; i++) id[i] = (byte) (i * 31 + 7);
        return id;
    }

    @Test
    void threeRanksReceiveRankZerosBytes() throws Exception {
        int port = freePort();
        ExecutorService pool = Executors.newFixedThreadPool(3);
        try {
            List<Future<byte[]>> got = new ArrayList<>();
            // the non-zero ranks start first: they must retry until rank 0 listens
            for (int rank : new int[]{2, 1, 0}) {
                ProcessGroup g = new ProcessGroup(rank, 3, "127.0.0.1", port);
                got.add(pool.submit(() -> Rendezvous.share(g, () -> {
                    assertEquals(0, g.rank(), "only rank 0 makes the id");
                    return fakeId();
                }, Duration.ofSeconds(20))));
                if (rank != 0) Thread.sleep(100);
            }
            for (Future<byte[]> f : got) assertArrayEquals(fakeId(), f.get());
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void rankZeroTimesOutWhenARankNeverComes() throws Exception {
        ProcessGroup g = new ProcessGroup(0, 2, "127.0.0.1", freePort());
        IOException e = assertThrows(IOException.class, () -> Rendezvous.share(g, RendezvousTest::fakeId, Duration.ofMillis(300)));
        assertTrue(e.getMessage().contains("1 of 2"), e.getMessage());
    }

    @Test
    void aWorldOfOneNeedsNoNetwork() throws Exception {
        assertArrayEquals(fakeId(), Rendezvous.share(ProcessGroup.single(), RendezvousTest::fakeId, Duration.ofMillis(1)));
    }
}
