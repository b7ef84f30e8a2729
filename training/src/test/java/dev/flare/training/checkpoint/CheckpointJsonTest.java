package dev.flare.training.checkpoint;

import com.fasterxml.jackson.core.JacksonException;
import dev.flare.models.gpt.GPTConfig;
import dev.flare.tensor.Device;
import dev.flare.training.Precision;
import dev.flare.training.TrainConfig;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** trainer.json round-trips every field, writes devices/paths/precisions as plain strings, and rejects unknown or missing fields. */
class CheckpointJsonTest {
    private final long seed = new Random().nextLong();

    private TrainingState state() {
        Random r = new Random(seed);
        TrainConfig cfg = TrainConfig.small(GPTConfig.preset("mini"), Path.of("runs", "x y")).toBuilder().device(Device.cuda(1))
                .precision(Precision.BF16).seed(r.nextLong()).peakFlops(989e12).prefetch(true).checkpointInterval(250).build();
        return new TrainingState(TrainingState.FORMAT_VERSION, 1000, 998, 2, r.nextLong(), 8000, r.nextLong(), 400,
                r.nextLong(), r.nextLong() >>> 1, 32768.0, 17, r.nextDouble(), cfg,
                Map.of("model.safetensors", new TrainingState.FileDigest(123, "0badf00d")));
    }

    @Test
    void roundTripsWithReadableValues() throws Exception {
        TrainingState s = state();
        String json = CheckpointJson.MAPPER.writeValueAsString(s);
        assertEquals(s, CheckpointJson.MAPPER.readValue(json, TrainingState.class), "seed " + seed);
        assertTrue(json.contains("\"device\" : \"cuda:1\""), json);
        assertTrue(json.contains("\"precision\" : \"bf16\""), json);
        assertTrue(json.contains("\"outDir\" : \"runs/x y\""), json);
        TrainingState noVal = new TrainingState(1, 1, 1, 0, 1, 1, 2, 0, 3, 4, 1, 0, null, s.config(), Map.of());
        assertNull(CheckpointJson.MAPPER.readValue(CheckpointJson.MAPPER.writeValueAsString(noVal), TrainingState.class).valLoss());
    }

    @Test
    void unknownAndMissingFieldsAreErrors() throws Exception {
        String json = CheckpointJson.MAPPER.writeValueAsString(state());
        assertThrows(JacksonException.class, () -> CheckpointJson.MAPPER.readValue(json.replace("\"skippedSteps\"", "\"skippedSteps2\""), TrainingState.class));
        assertThrows(JacksonException.class, () -> CheckpointJson.MAPPER.readValue(json.replaceFirst("\"step\" : 1000,", ""), TrainingState.class));
        Exception e = assertThrows(Exception.class, () -> CheckpointJson.MAPPER.readValue(json.replace("\"bf16\"", "\"fp8\""), TrainingState.class));
        assertTrue(e.getMessage().contains("precision: expected fp32, bf16 or fp16, got 'fp8'"), e.getMessage());
    }
}
