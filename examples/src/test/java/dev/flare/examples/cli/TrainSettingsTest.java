package dev.flare.examples.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** flare train --config FILE and --set key=value: what reaches the run, precedence, and the errors. */
class TrainSettingsTest {

    /** The config the run saved with its checkpoint. */
    private static JsonNode savedConfig(Path dir) throws Exception {
        return new ObjectMapper().readTree(dir.resolve("run/step-00000004/trainer.json").toFile()).get("config");
    }

    @Test
    void yamlConfigAndSetReachTheRun(@TempDir Path dir) throws Exception {
        Path yaml = dir.resolve("c.yaml");
        Files.writeString(yaml, "weightDecay: 0.05\nbatchSize: 3\nmodel:\n  nLayer: 1\n  nEmbd: 16\n");
        Cli r = Cli.trainTiny(dir, "--config", yaml.toString(), "--set", "model.nHead=4", "--set", "lr=1e-3");
        assertEquals(0, r.code(), r.err());
        JsonNode c = savedConfig(dir);
        assertEquals(0.05, c.get("weightDecay").asDouble());
        assertEquals(4, c.get("batchSize").asInt());           // --batch-size 4 on the command line wins over the file
        assertEquals(1e-3, c.get("lr").asDouble());
        assertEquals(1, c.get("model").get("nLayer").asInt());
        assertEquals(4, c.get("model").get("nHead").asInt());
        assertEquals(16, c.get("model").get("nEmbd").asInt());
    }

    @Test
    void jsonConfigWorksAndSetWinsOverOptions(@TempDir Path dir) throws Exception {
        Path json = dir.resolve("c.json");
        Files.writeString(json, "{\"gradClip\": 0.5, \"model\": {\"bias\": false}}");
        assertEquals(0, Cli.trainTiny(dir, "--config", json.toString(), "--set", "batchSize=2").code());
        JsonNode c = savedConfig(dir);
        assertEquals(0.5, c.get("gradClip").asDouble());
        assertFalse(c.get("model").get("bias").asBoolean());
        assertEquals(2, c.get("batchSize").asInt());
    }

    @Test
    void deviceDefaultsToTheGpuWhenOneIsPresentAndOptionsOverrideIt(@TempDir Path dir) throws Exception {
        Cli r = Cli.trainTiny(dir);
        assertEquals(0, r.code(), r.err());
        String expected = dev.flare.attention.FlashCudaAttention.isAvailable() ? "cuda:0" : "cpu";
        assertEquals(expected, savedConfig(dir).get("device").asText());
        assertEquals(0, Cli.trainTiny(dir, "--device", "cpu").code());
        assertEquals("cpu", savedConfig(dir).get("device").asText());
    }

    @Test
    void unknownKeysAndWrongTypesAreOneClearLine(@TempDir Path dir) throws Exception {
        Cli unknown = Cli.trainTiny(dir, "--set", "model.nLayers=6");
        assertEquals(2, unknown.code());
        assertTrue(unknown.err().contains("unknown setting 'model.nLayers'") && unknown.err().contains("model.nLayer,"), unknown.err());
        assertEquals(1, unknown.err().strip().lines().count(), unknown.err());

        Cli type = Cli.trainTiny(dir, "--set", "model.nLayer=six");
        assertEquals(2, type.code());
        assertTrue(type.err().contains("model.nLayer: expected an integer, got 'six'"), type.err());

        Cli bool = Cli.trainTiny(dir, "--set", "prefetch=yes");
        assertTrue(bool.code() == 2 && bool.err().contains("prefetch: expected true or false, got 'yes'"), bool.err());

        Cli range = Cli.trainTiny(dir, "--set", "weightDecay=0.1", "--set", "minLr=1");
        assertTrue(range.code() == 2 && range.err().contains("minLr: expected in [0, lr]"), range.err());

        Path yaml = dir.resolve("bad.yaml");
        Files.writeString(yaml, "model:\n  depth: 3\n");
        Cli file = Cli.trainTiny(dir, "--config", yaml.toString());
        assertTrue(file.code() == 2 && file.err().contains("bad.yaml: unknown setting 'model.depth'"), file.err());

        Files.writeString(yaml, "lr: [1, 2\n");
        Cli syntax = Cli.trainTiny(dir, "--config", yaml.toString());
        assertTrue(syntax.code() == 2 && syntax.err().contains("not valid YAML"), syntax.err());

        assertEquals(2, Cli.trainTiny(dir, "--config", dir.resolve("missing.yaml").toString()).code());
        assertEquals(2, Cli.trainTiny(dir, "--set", "lr").code());
    }
}
