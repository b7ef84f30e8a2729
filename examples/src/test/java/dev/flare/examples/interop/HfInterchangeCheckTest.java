package dev.flare.examples.interop;

import dev.flare.autograd.NoGrad;
import dev.flare.models.gpt.GPT;
import dev.flare.models.gpt.GPTConfig;
import dev.flare.models.gpt.hf.HfGpt2;
import dev.flare.models.gpt.hf.HfGpt2Config;
import dev.flare.nn.io.SafeTensors;
import dev.flare.tensor.DType;
import dev.flare.tensor.Tensor;
import dev.flare.tensor.random.Generator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The check program against a fake transformers folder (no PyTorch here): tensors under GPT2LMHeadModel's names
 * with the mask buffers older versions saved, and logits from a model holding the same weights.
 */
class HfInterchangeCheckTest {
    @TempDir Path dir;
    private final long seed = new Random().nextLong();

    private static Tensor logits(GPT m, Tensor ids) {
        m.eval();
        try (NoGrad ignored = NoGrad.enter()) {
            return m.forward(ids, null).logits().to(DType.F32);
        }
    }

    /** Writes hf/ as transformers would and returns the config; logitsShift is added to the stored logits. */
    private GPTConfig fakeHfDir(Path hf, float logitsShift) throws IOException {
        GPTConfig cfg = new GPTConfig(60, 12, 2, 2, 16, 0.1, true);
        GPT model = new GPT(cfg, new Generator(seed));
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        model.unpaddedStateDict().forEach((k, v) -> tensors.put("transformer." + k, v));   // wte with vocab_size rows, as transformers holds it
        for (int i = 0; i < cfg.nLayer(); i++) tensors.put("transformer.h." + i + ".attn.bias", Tensor.ones(1, 1, 12, 12));
        Files.createDirectories(hf);
        SafeTensors.save(hf.resolve("model.safetensors"), tensors, Map.of("format", "pt"));
        Files.writeString(hf.resolve("config.json"), HfGpt2Config.json(cfg, DType.F32));
        Random r = new Random(seed);
        long[] ids = new long[2 * 12];
        for (int i = 0; i < ids.length; i++) ids[i] = r.nextInt(cfg.vocabSize());
        Tensor idsT = Tensor.fromArray(ids, 2, 12);
        Map<String, Tensor> ref = new LinkedHashMap<>();
        ref.put("input_ids", idsT);
        ref.put("logits", logits(model, idsT).add(logitsShift));
        SafeTensors.save(hf.resolve(HfInterchangeCheck.REFERENCE), ref, Map.of("format", "pt"));
        return cfg;
    }

    private int run(ByteArrayOutputStream buf, String... args) {
        return HfInterchangeCheck.run(new PrintStream(buf, true), args);
    }

    @Test
    void matchingLogitsPassAndTheExportCarriesItsOwnLogits() throws IOException {
        GPTConfig cfg = fakeHfDir(dir.resolve("hf"), 0f);
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        assertEquals(0, run(buf, dir.resolve("hf").toString(), dir.resolve("out").toString()), buf + " (seed " + seed + ")");
        assertTrue(buf.toString().contains("max |flare - transformers| = 0.000e+00"), buf.toString());

        Path out = dir.resolve("out");
        GPT exported = HfGpt2.load(out);
        assertEquals(cfg, exported.config());
        try (SafeTensors ref = SafeTensors.open(out.resolve(HfInterchangeCheck.REFERENCE))) {
            Tensor ids = ref.load("input_ids");
            assertArrayEquals(new int[]{2, 12}, ids.shape());
            assertArrayEquals(ref.load("logits").toFloatArray(), logits(exported, ids).toFloatArray(), "seed " + seed);
            GPT expected = new GPT(cfg, new Generator(HfInterchangeCheck.EXPORT_SEED));
            assertArrayEquals(expected.wte.weight.value().toFloatArray(), exported.wte.weight.value().toFloatArray(),
                    "the export is the fixed-seed model");
        }
    }

    @Test
    void logitsOffByMoreThanTheToleranceFail() throws IOException {
        fakeHfDir(dir.resolve("hf"), 1e-3f);
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        assertEquals(1, run(buf, dir.resolve("hf").toString(), dir.resolve("out").toString()), buf.toString());
        assertTrue(buf.toString().contains("MISMATCH"), buf.toString());
        buf.reset();
        assertEquals(0, run(buf, dir.resolve("hf").toString(), dir.resolve("out").toString(), "1e-2"), buf.toString());
    }

    @Test
    void badArgumentsAndMissingFilesExitWithTwo() {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        assertEquals(2, run(buf, "only-one"));
        assertEquals(2, run(buf, dir.resolve("nothing").toString(), dir.resolve("out").toString()));
        assertEquals(2, run(buf, dir.toString(), dir.toString(), "tiny"));
        assertTrue(buf.toString().contains("usage: HfInterchangeCheck"), buf.toString());
    }
}
