package dev.flare.models.gpt.hf;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.flare.autograd.NoGrad;
import dev.flare.models.gpt.GPT;
import dev.flare.models.gpt.GPTConfig;
import dev.flare.nn.io.SafeTensors;
import dev.flare.tensor.DType;
import dev.flare.tensor.Device;
import dev.flare.tensor.Tensor;
import dev.flare.tensor.random.Generator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.*;

/** Export/import round trips, the files save writes, and checkpoints laid out as transformers writes them. */
class HfGpt2Test {
    @TempDir Path dir;
    private final long seed = new Random().nextLong();
    private final Random random = new Random(seed);

    /** A small random shape: 1-3 layers, 1/2/4 heads of width 4 or 8, vocab 20-80, context 8-24. */
    private GPTConfig smallConfig(double dropout) {
        int heads = 1 << random.nextInt(3);
        return new GPTConfig(20 + random.nextInt(61), 8 + random.nextInt(17), 1 + random.nextInt(3), heads,
                heads * (4 << random.nextInt(2)), dropout, true);
    }

    private Tensor ids(GPTConfig cfg, int batch) {
        long[] v = new long[batch * cfg.blockSize()];
        for (int i = 0; i < v.length; i++) v[i] = random.nextInt(cfg.vocabSize());
        return Tensor.fromArray(v, batch, cfg.blockSize());
    }

    private static float[] logits(GPT model, Tensor ids) {
        model.eval();
        try (NoGrad ignored = NoGrad.enter()) {
            return model.forward(ids, null).logits().to(DType.F32).toFloatArray();
        }
    }

    private void assertSameParameters(GPT expected, GPT actual) {
        Map<String, Tensor> a = expected.stateDict(), b = actual.stateDict();
        assertEquals(a.keySet(), b.keySet());
        for (String k : a.keySet()) {
            assertEquals(a.get(k).dtype(), b.get(k).dtype(), k);
            assertArrayEquals(a.get(k).shape(), b.get(k).shape(), k);
            assertArrayEquals(a.get(k).to(DType.F32).toFloatArray(), b.get(k).to(DType.F32).toFloatArray(), k + " (seed " + seed + ")");
        }
    }

    @Test
    void exportThenImportGivesBitwiseEqualParametersAndLogits() throws IOException {
        GPTConfig cfg = smallConfig(0.1);
        GPT model = new GPT(cfg, new Generator(seed));
        HfGpt2.save(model, dir);
        GPT back = HfGpt2.load(dir);
        assertEquals(cfg, back.config(), "seed " + seed);
        assertFalse(back.isTraining(), "from_pretrained returns eval mode; so does load");
        assertSameParameters(model, back);
        Tensor ids = ids(cfg, 2);
        assertArrayEquals(logits(model, ids), logits(back, ids), "seed " + seed);
    }

    private static void assertPaddingIsZero(GPT model) {
        GPTConfig cfg = model.config();
        Tensor w = model.wte.weight.value();
        assertArrayEquals(new int[]{cfg.paddedVocabSize(), cfg.nEmbd()}, w.shape(), "wte is stored padded");
        for (float v : w.narrow(0, cfg.vocabSize(), cfg.paddedVocabSize() - cfg.vocabSize()).toFloatArray())
            assertEquals(0f, v, 0f, "a padding row of wte is not zero");
    }

    @Test
    void exportWritesVocabSizeRowsOfWteAndImportRestoresTheZeroPadding() throws IOException {
        GPTConfig cfg = GPTConfig.preset("nano").withVocabSize(50257);       // GPT-2's vocabulary, padded to 50304
        assertEquals(50304, cfg.paddedVocabSize());
        GPT model = new GPT(cfg, new Generator(seed));
        HfGpt2.save(model, dir);
        try (SafeTensors st = SafeTensors.open(dir.resolve("model.safetensors"))) {
            assertArrayEquals(new int[]{50257, cfg.nEmbd()}, st.shape("transformer.wte.weight"), "the file holds GPT-2's 50257 rows");
            assertArrayEquals(model.wte.unpaddedWeight().toFloatArray(), st.load("transformer.wte.weight").toFloatArray(), "seed " + seed);
        }
        assertEquals(50257, new ObjectMapper().readTree(dir.resolve("config.json").toFile()).get("vocab_size").asInt());
        GPT back = HfGpt2.load(dir);
        assertEquals(cfg, back.config());
        assertPaddingIsZero(back);
        assertSameParameters(model, back);
        Tensor ids = ids(cfg.withBlockSize(8), 1);
        assertArrayEquals(logits(model, ids), logits(back, ids), "seed " + seed);

        // A file whose wte holds the padded row count does not fit vocab_size 50257: the shape error names both.
        Map<String, Tensor> tensors = HfTestFiles.readTensors(dir);
        tensors.put("transformer.wte.weight", model.wte.weight.value());
        HfTestFiles.writeTensors(dir, tensors);
        HfCheckpointException e = assertThrows(HfCheckpointException.class, () -> HfGpt2.load(dir));
        assertTrue(e.getMessage().contains("transformer.wte.weight: shape [50304, " + cfg.nEmbd() + "] in the checkpoint, [50257, "
                + cfg.nEmbd() + "] expected"), e.getMessage());
    }

    @Test
    void saveWritesTheNamesAndConfigOfSavePretrained() throws IOException {
        GPTConfig cfg = smallConfig(0.0);
        GPT model = new GPT(cfg, new Generator(seed));
        HfGpt2.save(model, dir);
        try (SafeTensors st = SafeTensors.open(dir.resolve("model.safetensors"))) {
            Set<String> expected = new TreeSet<>();
            for (String k : model.stateDict().keySet()) expected.add("transformer." + k);
            assertEquals(expected, new TreeSet<>(st.names()), "tied lm_head.weight left out, everything else prefixed");
            assertTrue(st.names().contains("transformer.h.0.attn.c_attn.weight"));
            assertArrayEquals(new int[]{cfg.nEmbd(), 3 * cfg.nEmbd()}, st.shape("transformer.h.0.attn.c_attn.weight"), "Conv1D (in, out)");
            assertEquals("pt", st.metadata().get("format"), "from_pretrained refuses safetensors without format=pt");
        }
        JsonNode c = new ObjectMapper().readTree(dir.resolve("config.json").toFile());
        assertEquals("gpt2", c.get("model_type").asText());
        assertEquals("GPT2LMHeadModel", c.get("architectures").get(0).asText());
        assertEquals("gelu_new", c.get("activation_function").asText());
        assertTrue(c.get("tie_word_embeddings").asBoolean());
        assertEquals(cfg.blockSize(), c.get("n_positions").asInt());
        assertEquals(cfg.blockSize(), c.get("n_ctx").asInt());
        assertEquals(cfg.nEmbd(), c.get("n_embd").asInt());
        assertEquals("float32", c.get("dtype").asText());
        assertTrue(c.get("bos_token_id").isNull(), "no <|endoftext|> in a vocabulary of " + cfg.vocabSize());
        HfGpt2.save(new GPT(GPTConfig.preset("nano").withVocabSize(50257), new Generator(seed)), dir.resolve("gpt2vocab"));
        JsonNode g = new ObjectMapper().readTree(dir.resolve("gpt2vocab/config.json").toFile());
        assertEquals(50256, g.get("eos_token_id").asInt());
    }

    @Test
    void bf16ModelsRoundTripInBf16AndWidenToF32() throws IOException {
        GPTConfig cfg = smallConfig(0.0);
        GPT model = new GPT(cfg, new Generator(seed));
        model.to(DType.BF16);
        HfGpt2.save(model, dir);
        try (SafeTensors st = SafeTensors.open(dir.resolve("model.safetensors"))) {
            assertEquals(DType.BF16, st.dtype("transformer.wte.weight"));
        }
        assertEquals("bfloat16", new ObjectMapper().readTree(dir.resolve("config.json").toFile()).get("dtype").asText());
        assertSameParameters(model, HfGpt2.load(dir, DType.BF16));
        GPT widened = HfGpt2.load(dir);
        assertEquals(DType.F32, widened.wte.weight.value().dtype());
        assertArrayEquals(model.wte.weight.value().toFloatArray(), widened.wte.weight.value().toFloatArray(), "seed " + seed);
    }

    @Test
    void biasFreeModelsExportZeroBiasesAndComputeTheSame() throws IOException {
        GPTConfig c = smallConfig(0.0);
        GPTConfig cfg = new GPTConfig(c.vocabSize(), c.blockSize(), c.nLayer(), c.nHead(), c.nEmbd(), 0.0, false);
        GPT model = new GPT(cfg, new Generator(seed));
        HfGpt2.save(model, dir);
        GPT back = HfGpt2.load(dir);
        assertEquals(0.0, back.stateDict().get("h.0.mlp.c_fc.bias").abs().sum().item());
        Tensor ids = ids(cfg, 1);
        assertArrayEquals(logits(model, ids), logits(back, ids), 1e-6f, "seed " + seed);
    }

    /** GPT-2's tensors for one config, named and shaped by hand (not from our state dict), filled with random F16. */
    private Map<String, Tensor> handBuiltF16(GPTConfig cfg, String prefix, Generator gen) {
        int c = cfg.nEmbd();
        Map<String, Tensor> t = new LinkedHashMap<>();
        t.put(prefix + "wte.weight", Tensor.randn(gen, DType.F16, Device.CPU, cfg.vocabSize(), c));
        t.put(prefix + "wpe.weight", Tensor.randn(gen, DType.F16, Device.CPU, cfg.blockSize(), c));
        for (int i = 0; i < cfg.nLayer(); i++) {
            String h = prefix + "h." + i + ".";
            for (String ln : new String[]{"ln_1", "ln_2"}) {
                t.put(h + ln + ".weight", Tensor.randn(gen, DType.F16, Device.CPU, c));
                t.put(h + ln + ".bias", Tensor.randn(gen, DType.F16, Device.CPU, c));
            }
            int[][] linear = {{c, 3 * c}, {c, c}, {c, 4 * c}, {4 * c, c}};
            String[] names = {"attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj"};
            for (int j = 0; j < names.length; j++) {
                t.put(h + names[j] + ".weight", Tensor.randn(gen, DType.F16, Device.CPU, linear[j]).mul(0.2));
                t.put(h + names[j] + ".bias", Tensor.randn(gen, DType.F16, Device.CPU, linear[j][1]).mul(0.2));
            }
            // The causal-mask buffers older transformers saved: they must be skipped, not loaded.
            boolean[] mask = new boolean[cfg.blockSize() * cfg.blockSize()];
            for (int r = 0; r < cfg.blockSize(); r++) for (int q = 0; q <= r; q++) mask[r * cfg.blockSize() + q] = true;
            t.put(h + "attn.bias", Tensor.fromArray(mask, 1, 1, cfg.blockSize(), cfg.blockSize()));
            t.put(h + "attn.masked_bias", Tensor.scalar(-1e4));
        }
        t.put(prefix + "ln_f.weight", Tensor.randn(gen, DType.F16, Device.CPU, c));
        t.put(prefix + "ln_f.bias", Tensor.randn(gen, DType.F16, Device.CPU, c));
        return t;
    }

    /** A config.json as old transformers wrote it: n_ctx, no dtype, extra head fields, defaults left out. */
    private void writeOldStyleConfig(GPTConfig cfg) throws IOException {
        Files.writeString(dir.resolve("config.json"), """
                {"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "attn_pdrop": 0.1, "embd_pdrop": 0.1,
                 "resid_pdrop": 0.1, "initializer_range": 0.02, "n_ctx": %d, "n_embd": %d, "n_head": %d,
                 "n_layer": %d, "summary_type": "cls_index", "summary_use_proj": true,
                 "task_specific_params": {"text-generation": {"do_sample": true, "max_length": 50}},
                 "vocab_size": %d}
                """.formatted(cfg.blockSize(), cfg.nEmbd(), cfg.nHead(), cfg.nLayer(), cfg.vocabSize()));
    }

    @Test
    void aHandBuiltHfLayoutCheckpointWithMaskBuffersLoads() throws IOException {
        GPTConfig cfg = smallConfig(0.1);
        Map<String, Tensor> tensors = handBuiltF16(cfg, "", new Generator(seed));
        SafeTensors.save(dir.resolve("model.safetensors"), tensors, Map.of("format", "pt"));
        writeOldStyleConfig(cfg);
        GPT model = HfGpt2.load(dir);
        assertEquals(cfg, model.config());
        for (var e : model.unpaddedStateDict().entrySet())
            assertArrayEquals(tensors.get(e.getKey()).to(DType.F32).toFloatArray(), e.getValue().toFloatArray(), e.getKey());
        assertPaddingIsZero(model);

        // The same weights under GPT2LMHeadModel's names, with a stored (tied, so ignored) lm_head.weight of other values.
        Path prefixed = dir.resolve("prefixed");
        Files.createDirectories(prefixed);
        Map<String, Tensor> named = handBuiltF16(cfg, "transformer.", new Generator(seed));
        named.put("lm_head.weight", Tensor.randn(new Generator(seed + 1), cfg.vocabSize(), cfg.nEmbd()));
        SafeTensors.save(prefixed.resolve("model.safetensors"), named, Map.of("format", "pt"));
        Files.copy(dir.resolve("config.json"), prefixed.resolve("config.json"));
        Tensor ids = ids(cfg, 2);
        assertArrayEquals(logits(model, ids), logits(HfGpt2.load(prefixed), ids), "seed " + seed);
    }

    @Test
    void shardedCheckpointsLoadThroughTheirIndex() throws IOException {
        GPTConfig cfg = smallConfig(0.0);
        GPT model = new GPT(cfg, new Generator(seed));
        Path single = dir.resolve("single");
        HfGpt2.save(model, single);
        Map<String, Tensor> a = new LinkedHashMap<>(), b = new LinkedHashMap<>();
        StringBuilder map = new StringBuilder();
        try (SafeTensors st = SafeTensors.open(single.resolve("model.safetensors"))) {
            for (String n : st.names()) {
                boolean first = n.contains(".h.0.") || n.contains("wte");
                (first ? a : b).put(n, st.load(n));
                map.append(map.isEmpty() ? "" : ", ").append('"').append(n).append("\": \"model-0000")
                        .append(first ? 1 : 2).append("-of-00002.safetensors\"");
            }
        }
        Path sharded = dir.resolve("sharded");
        Files.createDirectories(sharded);
        SafeTensors.save(sharded.resolve("model-00001-of-00002.safetensors"), a, Map.of("format", "pt"));
        SafeTensors.save(sharded.resolve("model-00002-of-00002.safetensors"), b, Map.of("format", "pt"));
        Files.writeString(sharded.resolve("model.safetensors.index.json"), "{\"metadata\": {}, \"weight_map\": {" + map + "}}");
        Files.copy(single.resolve("config.json"), sharded.resolve("config.json"));
        assertSameParameters(model, HfGpt2.load(sharded));
    }

    @Test
    void anUntiedConfigLoadsOnlyWhenItsHeadEqualsTheEmbedding() throws IOException {
        GPTConfig cfg = smallConfig(0.0);
        GPT model = new GPT(cfg, new Generator(seed));
        HfGpt2.save(model, dir);
        HfTestFiles.editConfig(dir, c -> c.put("tie_word_embeddings", false));
        Map<String, Tensor> tensors = HfTestFiles.readTensors(dir);
        HfCheckpointException e = assertThrows(HfCheckpointException.class, () -> HfGpt2.load(dir));
        assertEquals(java.util.List.of("lm_head.weight (config.json has tie_word_embeddings false)"), e.report().missing());

        tensors.put("lm_head.weight", model.wte.unpaddedWeight());
        HfTestFiles.writeTensors(dir, tensors);
        assertSameParameters(model, HfGpt2.load(dir));

        tensors.put("lm_head.weight", model.wte.unpaddedWeight().mul(2));
        HfTestFiles.writeTensors(dir, tensors);
        e = assertThrows(HfCheckpointException.class, () -> HfGpt2.load(dir));
        assertTrue(e.getMessage().contains("lm_head.weight: differs from transformer.wte.weight"), e.getMessage());
    }
}
