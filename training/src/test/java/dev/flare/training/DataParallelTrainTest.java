package dev.flare.training;

import dev.flare.tensor.Device;
import dev.flare.training.distributed.DataParallel;
import dev.flare.training.distributed.ProcessGroup;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** A world of one through the data-parallel entry points trains exactly as plain training (CPU, bit for bit). */
class DataParallelTrainTest {
    @TempDir Path dir;

    private List<long[]> run(Path out, boolean parallel) throws Exception {
        TrainConfig cfg = TinyRuns.config(TinyRuns.model(0.1), out, 4, 7).toBuilder().gradAccum(2).build();
        List<long[]> bits = new ArrayList<>();
        DataParallel dp = parallel ? DataParallel.join(ProcessGroup.fromEnv(Map.of()), Device.CPU) : null;
        try (Trainer t = parallel ? Trainer.create(cfg, TinyRuns.pattern(600), TinyRuns.pattern(300), dp)
                : Trainer.create(cfg, TinyRuns.pattern(600), TinyRuns.pattern(300))) {
            t.run(m -> bits.add(new long[]{Double.doubleToRawLongBits(m.loss()), Double.doubleToRawLongBits(m.gradNorm()),
                    Double.doubleToRawLongBits(m.valLoss())}));
        }
        return bits;
    }

    @Test
    void worldOfOneGivesThePlainLossesBitForBit() throws Exception {
        List<long[]> plain = run(dir.resolve("plain"), false), parallel = run(dir.resolve("dp"), true);
        assertEquals(4, plain.size());
        for (int i = 0; i < plain.size(); i++) assertArrayEquals(plain.get(i), parallel.get(i), "step " + (i + 1));
    }

    @Test
    void aCpuDeviceCannotJoinALargerWorld() {
        var e = assertThrows(IllegalArgumentException.class,
                () -> DataParallel.join(new ProcessGroup(0, 2, "127.0.0.1", 29500), Device.CPU));
        assertTrue(e.getMessage().contains("needs CUDA"), e.getMessage());
    }
}
