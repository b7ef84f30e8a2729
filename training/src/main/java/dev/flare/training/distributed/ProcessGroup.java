package dev.flare.training.distributed;

import java.util.Map;

/**
 * This process's place in a data-parallel run, read from the environment as torchrun does: FLARE_RANK,
 * FLARE_WORLD_SIZE, FLARE_MASTER_ADDR, FLARE_MASTER_PORT (set by {@code flare train --nproc N}). Without them,
 * a world of one. Rank r trains on cuda:r (one process per GPU of one host).
 */
public record ProcessGroup(int rank, int worldSize, String masterAddr, int masterPort) {
    public static final String RANK = "FLARE_RANK", WORLD_SIZE = "FLARE_WORLD_SIZE",
            MASTER_ADDR = "FLARE_MASTER_ADDR", MASTER_PORT = "FLARE_MASTER_PORT";

    public ProcessGroup {
        if (worldSize < 1) throw new IllegalArgumentException(WORLD_SIZE + ": expected >= 1, got " + worldSize);
        if (rank < 0 || rank >= worldSize)
            throw new IllegalArgumentException(RANK + ": expected 0 <= rank < " + worldSize + ", got " + rank);
        if (worldSize > 1 && (masterPort < 1 || masterPort > 65535))
            throw new IllegalArgumentException(MASTER_PORT + ": expected a TCP port 1..65535, got " + masterPort);
    }

    /** A world of one: no communication at all. */
    public static ProcessGroup single() { return new ProcessGroup(0, 1, "127.0.0.1", 0); }

    /** From FLARE_* variables; a world of one when FLARE_WORLD_SIZE is unset. */
    public static ProcessGroup fromEnv(Map<String, String> env) {
        String world = env.get(WORLD_SIZE);
        if (world == null || world.isBlank()) return single();
        int n = parse(env, WORLD_SIZE);
        if (n == 1) return single();
        return new ProcessGroup(parse(env, RANK), n, env.getOrDefault(MASTER_ADDR, "127.0.0.1"), parse(env, MASTER_PORT));
    }

    private static int parse(Map<String, String> env, String name) {
        String v = env.get(name);
        if (v == null) throw new IllegalArgumentException(name + ": required when " + WORLD_SIZE + " > 1, but unset");
        try {
            return Integer.parseInt(v.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + ": expected an integer, got '" + v + "'");
        }
    }

    /** Rank 0 logs, writes metrics and checkpoints. */
    public boolean isMain() { return rank == 0; }

    public boolean isDistributed() { return worldSize > 1; }
}
