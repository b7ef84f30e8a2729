package dev.flare.training.distributed;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.function.Supplier;

/**
 * Hands bytes made by rank 0 (NCCL's unique id) to every other rank over TCP: rank 0 listens on
 * FLARE_MASTER_ADDR:FLARE_MASTER_PORT and answers worldSize - 1 connections; the others connect (retrying while
 * rank 0 starts), say their rank, and read the bytes. Every rank returns the same bytes.
 */
public final class Rendezvous {
    private static final int MAGIC = 0x464C5231;     // "FLR1": refuses strangers on the port

    private Rendezvous() {}

    public static byte[] share(ProcessGroup group, Supplier<byte[]> onRank0, Duration timeout) throws IOException {
        if (!group.isDistributed()) return onRank0.get();
        return group.isMain() ? serve(group, onRank0.get(), timeout) : fetch(group, timeout);
    }

    private static byte[] serve(ProcessGroup g, byte[] payload, Duration timeout) throws IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
        boolean[] seen = new boolean[g.worldSize()];
        try (ServerSocket server = new ServerSocket()) {
            server.setReuseAddress(true);
            server.bind(new InetSocketAddress(g.masterAddr(), g.masterPort()));
            for (int joined = 1; joined < g.worldSize(); ) {
                server.setSoTimeout(remainingMillis(deadline, g, joined));
                try (Socket s = server.accept()) {
                    s.setSoTimeout(remainingMillis(deadline, g, joined));
                    DataInputStream in = new DataInputStream(s.getInputStream());
                    if (in.readInt() != MAGIC) continue;       // not one of ours
                    int rank = in.readInt();
                    if (rank <= 0 || rank >= g.worldSize() || seen[rank])
                        throw new IOException("rendezvous: rank " + rank + " joined twice or is outside world size " + g.worldSize());
                    seen[rank] = true;
                    DataOutputStream out = new DataOutputStream(s.getOutputStream());
                    out.writeInt(payload.length);
                    out.write(payload);
                    out.flush();
                    joined++;
                } catch (SocketTimeoutException e) {
                    throw new IOException("rendezvous: only " + joined + " of " + g.worldSize() + " ranks joined "
                            + g.masterAddr() + ":" + g.masterPort() + " within " + timeoutText(deadline), e);
                }
            }
        }
        return payload;
    }

    private static byte[] fetch(ProcessGroup g, Duration timeout) throws IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(g.masterAddr(), g.masterPort()), remainingMillis(deadline, g, -1));
                s.setSoTimeout(remainingMillis(deadline, g, -1));
                DataOutputStream out = new DataOutputStream(s.getOutputStream());
                out.writeInt(MAGIC);
                out.writeInt(g.rank());
                out.flush();
                DataInputStream in = new DataInputStream(s.getInputStream());
                byte[] payload = new byte[in.readInt()];
                in.readFully(payload);
                return payload;
            } catch (ConnectException e) {
                // rank 0 is not listening yet
                if (System.nanoTime() > deadline)
                    throw new IOException("rendezvous: rank " + g.rank() + " could not reach rank 0 at " + g.masterAddr() + ":" + g.masterPort(), e);
                try {
                    Thread.sleep(50);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw new IOException("rendezvous interrupted", ie);
                }
            }
        }
    }

    private static int remainingMillis(long deadline, ProcessGroup g, int joined) throws IOException {
        long ms = (deadline - System.nanoTime()) / 1_000_000;
        if (ms <= 0)
            throw new IOException("rendezvous at " + g.masterAddr() + ":" + g.masterPort() + " timed out"
                    + (joined >= 0 ? " with " + joined + " of " + g.worldSize() + " ranks joined" : " for rank " + g.rank()));
        return (int) Math.min(Integer.MAX_VALUE, ms);
    }

    private static String timeoutText(long deadline) { return "the timeout (" + Math.max(0, (deadline - System.nanoTime()) / 1_000_000) + " ms left)"; }
}
