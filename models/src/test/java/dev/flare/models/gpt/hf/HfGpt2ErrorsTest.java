package dev.flare.models.gpt.hf;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.flare.models.gpt.GPT;
import dev.flare.models.gpt.GPTConfig;
import dev.flare.tensor.DType;
import dev.flare.tensor.Tensor;
import dev.flare.tensor.random.Generator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** Each way a config.json or a set of tensors can fail to be a GPT-2 that Flare computes, and its message. */
class HfGpt2ErrorsTest {
    @TempDir Path dir;
    private final long seed = new Random().nextLong();

    /** A valid export of a 2-layer, 2-head, 32-wide model (vocab 50, context 16). */
    private GPTConfig export() throws IOException {
        GPTConfig cfg = new GPTConfig(50, 16, 2, 2, 32, 0.1, true);
        HfGpt2.save(new GPT(cfg, new Generator(seed)), dir);
        return cfg;
    }

    private IllegalArgumentException loadFails() {
        return assertThrows(IllegalArgumentException.class, () -> HfGpt2.load(dir), "seed " + seed);
    }

    private static void assertMentions(Exception e, String... parts) {
        for (String p : parts) assertTrue(e.getMessage().contains(p), "expected '" + p + "' in: " + e.getMessage());
    }

    @ParameterizedTest(name = "{0} = {1}")
    @CsvSource(delimiter = '|', value = {
            "activation_function|\"gelu\"|activation_function: expected one of [gelu_new, gelu_pytorch_tanh] (the tanh GELU Flare computes), got \"gelu\"",
            "activation_function|\"relu\"|got \"relu\"",
            "model_type|\"llama\"|model_type: expected \"gpt2\", got \"llama\"",
            "n_embd|\"32\"|n_embd: expected a positive integer, got \"32\"",
            "n_embd|32.5|n_embd: expected a positive integer, got 32.5",
            "n_layer|0|n_layer: expected a positive integer, got 0",
            "n_head|3|n_embd: expected a multiple of n_head = 3, got 32",
            "vocab_size|-1|vocab_size: expected a positive integer, got -1",
            "n_positions|null|n_positions: expected a positive integer, got null",
            "n_inner|100|n_inner: expected null or 4 * n_embd = 128 (Flare's MLP width), got 100",
            "layer_norm_epsilon|1e-6|layer_norm_epsilon: expected 1.0E-5 (Flare's LayerNorm epsilon), got 1.0E-6",
            "layer_norm_epsilon|\"1e-5\"|layer_norm_epsilon: expected a number",
            "scale_attn_weights|false|scale_attn_weights: expected true (Flare's GPT has no other form), got false",
            "scale_attn_by_inverse_layer_idx|true|scale_attn_by_inverse_layer_idx: expected false",
            "add_cross_attention|true|add_cross_attention: expected false",
            "attn_pdrop|0.2|resid_pdrop, embd_pdrop and attn_pdrop: expected one value (Flare's GPT has a single dropout), got 0.1, 0.1, 0.2",
            "tie_word_embeddings|\"yes\"|tie_word_embeddings: expected true or false, got \"yes\"",
    })
    void aConfigFieldFlareCannotHonourIsAnErrorNamingIt(String field, String json, String expected) throws IOException {
        export();
        var value = new ObjectMapper().readTree(json);
        HfTestFiles.editConfig(dir, c -> c.set(field, value));
        assertMentions(loadFails(), dir.resolve("config.json").toString(), expected);
    }

    @Test
    void allDroppedDropoutsEqualLoadAsTheirOneValue() throws IOException {
        export();
        HfTestFiles.editConfig(dir, c -> {
            for (String f : new String[]{"resid_pdrop", "embd_pdrop", "attn_pdrop"}) c.put(f, 0.0);
            c.remove("n_positions");                 // falls back to n_ctx, as old configs have it
            c.put("activation_function", "gelu_pytorch_tanh");
        });
        GPTConfig cfg = HfGpt2.load(dir).config();
        assertEquals(0.0, cfg.dropout());
        assertEquals(16, cfg.blockSize());
    }

    @Test
    void aMissingOrBrokenConfigIsAnError() throws IOException {
        export();
        Files.writeString(dir.resolve("config.json"), "{\"n_embd\": 32,");
        assertMentions(loadFails(), "config.json: not valid JSON");
        Files.writeString(dir.resolve("config.json"), "[1, 2]");
        assertMentions(loadFails(), "config.json: expected a JSON object, got ARRAY");
        Files.delete(dir.resolve("config.json"));
        assertMentions(loadFails(), "no config.json");
    }

    @Test
    void aFolderWithoutSafetensorsSaysWhatItHolds() throws IOException {
        export();
        Files.delete(dir.resolve("model.safetensors"));
        Files.writeString(dir.resolve("pytorch_model.bin"), "not read");
        assertMentions(loadFails(), "no model.safetensors or model.safetensors.index.json", "pytorch_model.bin", "safetensors form only");
    }

    @Test
    void missingExtraAndMisShapedTensorsAreAllListed() throws IOException {
        export();
        Map<String, Tensor> t = HfTestFiles.readTensors(dir);
        t.remove("transformer.h.1.ln_2.bias");
        t.remove("transformer.ln_f.weight");
        t.put("transformer.h.0.attn.rotary.inv_freq", Tensor.ones(8));
        t.put("score.weight", Tensor.ones(32, 2));
        t.put("transformer.wpe.weight", Tensor.zeros(8, 32));
        t.put("transformer.h.0.mlp.c_fc.weight", Tensor.zeros(128, 32));        // transposed (nn.Linear layout)
        t.put("transformer.h.1.attn.c_proj.bias", Tensor.zeros(DType.I64, dev.flare.tensor.Device.CPU, 32));
        HfTestFiles.writeTensors(dir, t);
        HfCheckpointException e = assertThrows(HfCheckpointException.class, () -> HfGpt2.load(dir));
        assertEquals(List.of("transformer.h.1.ln_2.bias", "transformer.ln_f.weight"), e.report().missing().stream().sorted().toList());
        assertEquals(List.of("score.weight", "transformer.h.0.attn.rotary.inv_freq"), e.report().unexpected().stream().sorted().toList());
        assertEquals(List.of(
                "transformer.h.0.mlp.c_fc.weight: shape [128, 32] in the checkpoint, [32, 128] expected",
                "transformer.h.1.attn.c_proj.bias: dtype I64 in the checkpoint, a floating-point dtype expected",
                "transformer.wpe.weight: shape [8, 32] in the checkpoint, [16, 32] expected"), e.report().mismatched().stream().sorted().toList());
        assertMentions(e, "model.safetensors does not fit", "n_layer=2", "missing tensors", "unexpected tensors", "mismatched");
    }

    @Test
    void aTensorUnderBothItsNamesIsAnError() throws IOException {
        export();
        Map<String, Tensor> t = HfTestFiles.readTensors(dir);
        t.put("wte.weight", t.get("transformer.wte.weight"));
        HfTestFiles.writeTensors(dir, t);
        HfCheckpointException e = assertThrows(HfCheckpointException.class, () -> HfGpt2.load(dir));
        assertEquals(1, e.report().unexpected().size(), e.getMessage());
        assertMentions(e, "a second copy of");
    }

    @Test
    void aMissingTensorInABareNamedCheckpointIsNamedWithoutThePrefix() throws IOException {
        export();
        Map<String, Tensor> bare = new java.util.LinkedHashMap<>();
        HfTestFiles.readTensors(dir).forEach((k, v) -> bare.put(k.substring("transformer.".length()), v));
        bare.remove("h.0.ln_1.weight");
        HfTestFiles.writeTensors(dir, bare);
        HfCheckpointException e = assertThrows(HfCheckpointException.class, () -> HfGpt2.load(dir));
        assertEquals(List.of("h.0.ln_1.weight"), e.report().missing());
    }

    @Test
    void nonFloatModelDtypesAreRejected() throws IOException {
        export();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> HfGpt2.load(dir, DType.I32));
        assertMentions(e, "dtype: expected a floating-point dtype for GPT weights, got I32");
    }
}
