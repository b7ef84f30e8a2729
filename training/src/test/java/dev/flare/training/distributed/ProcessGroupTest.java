package dev.flare.training.distributed;

import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

class ProcessGroupTest {
    @Test
    void readsTorchrunStyleVariables() {
        ProcessGroup g = ProcessGroup.fromEnv(Map.of("FLARE_RANK", "2", "FLARE_WORLD_SIZE", "4",
                "FLARE_MASTER_ADDR", "10.0.0.1", "FLARE_MASTER_PORT", "29500"));
        assertEquals(new ProcessGroup(2, 4, "10.0.0.1", 29500), g);
        assertFalse(g.isMain());
        assertTrue(g.isDistributed());
    }

    @Test
    void withoutVariablesOrWithOneRankIsAWorldOfOne() {
        assertEquals(ProcessGroup.single(), ProcessGroup.fromEnv(Map.of()));
        assertEquals(ProcessGroup.single(), ProcessGroup.fromEnv(Map.of("FLARE_WORLD_SIZE", "1", "FLARE_RANK", "0")));
        assertTrue(ProcessGroup.single().isMain());
    }

    @Test
    void badValuesNameTheVariable() {
        var e = assertThrows(IllegalArgumentException.class, () -> ProcessGroup.fromEnv(Map.of("FLARE_WORLD_SIZE", "2", "FLARE_MASTER_PORT", "1")));
        assertTrue(e.getMessage().startsWith("FLARE_RANK"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ProcessGroup.fromEnv(Map.of("FLARE_WORLD_SIZE", "2", "FLARE_RANK", "2", "FLARE_MASTER_PORT", "1")));
        assertTrue(e.getMessage().startsWith("FLARE_RANK"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ProcessGroup.fromEnv(Map.of("FLARE_WORLD_SIZE", "two")));
        assertTrue(e.getMessage().contains("'two'"), e.getMessage());
    }

    @Test
    void rankZeroKeepsTheSeedAndOtherRanksGetTheirOwn() {
        assertEquals(1337, DataParallel.shardSeed(1337, 0));
        assertNotEquals(DataParallel.shardSeed(1337, 1), DataParallel.shardSeed(1337, 2));
        assertNotEquals(1337, DataParallel.shardSeed(1337, 1));
    }
}
