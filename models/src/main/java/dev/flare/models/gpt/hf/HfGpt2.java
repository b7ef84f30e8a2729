package dev.flare.models.gpt.hf;

import dev.flare.autograd.NoGrad;
import dev.flare.models.gpt.GPT;
import dev.flare.models.gpt.GPTConfig;
import dev.flare.nn.LoadReport;
import dev.flare.nn.ParameterInit;
import dev.flare.nn.io.SafeTensors;
import dev.flare.tensor.DType;
import dev.flare.tensor.Device;
import dev.flare.tensor.Tensor;
import dev.flare.tensor.cpu.CpuStorage;
import dev.flare.tensor.random.Generator;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * GPT-2 checkpoints in the Hugging Face layout: a folder with config.json (GPT2Config) and model.safetensors (or
 * shards) whose tensors carry GPT2LMHeadModel's names. Flare's GPT already uses GPT-2's parameter names and
 * Conv1D's (in, out) weight layout, so the whole mapping is the "transformer." prefix: {@code h.0.attn.c_attn.weight}
 * is {@code transformer.h.0.attn.c_attn.weight}, with no transposes. The LM head is tied to the token embedding,
 * and save_pretrained leaves a tied lm_head.weight out, so we do too. Flare pads wte to
 * {@link GPTConfig#paddedVocabSize()} rows; files hold vocab_size rows (50257 for GPT-2): import fills the first rows
 * and leaves the padding zero, export writes only the first rows. See docs/models.md.
 */
public final class HfGpt2 {
    static final String PREFIX = "transformer.";
    static final String LM_HEAD = "lm_head.weight";
    static final String CONFIG = "config.json";
    /** Causal-mask buffers that older transformers saved with the weights (h.N.attn.bias, h.N.attn.masked_bias). */
    private static final Pattern MASK_BUFFER = Pattern.compile("h\\.\\d+\\.attn\\.(bias|masked_bias)");

    private HfGpt2() {}

    /** Loads dir (config.json + safetensors) as an F32 model in eval mode, as from_pretrained returns it. */
    public static GPT load(Path dir) throws IOException {
        return load(dir, DType.F32);
    }

    /**
     * Loads dir with weights converted to dtype (stored F32, F16, BF16 or F64 all load). Strict: any tensor the
     * config needs and the checkpoint lacks, any tensor it does not know, any wrong shape or non-float dtype is an
     * {@link HfCheckpointException} listing them all. Mask buffers of old checkpoints are ignored; a stored
     * lm_head.weight is ignored when tie_word_embeddings is true, as transformers does.
     */
    public static GPT load(Path dir, DType dtype) throws IOException {
        HfGpt2Config.torchName(dtype);                       // rejects non-float dtypes with a clear message
        HfGpt2Config cfg = HfGpt2Config.read(dir.resolve(CONFIG));
        GPT model = ParameterInit.skipped(() -> new GPT(cfg.gpt(), new Generator(0)));   // zeros, all overwritten below
        if (dtype != DType.F32) model.to(dtype);
        Map<String, Tensor> slots = model.unpaddedStateDict();   // wte's vocab_size rows; its padding stays zero
        try (HfWeightFiles files = HfWeightFiles.open(dir)) {
            Map<String, String> source = match(files, slots, cfg, dir);
            try (NoGrad ignored = NoGrad.enter()) {
                // One tensor at a time, so peak memory is the model plus its largest tensor.
                for (var e : source.entrySet()) slots.get(e.getKey()).copyFrom(files.load(e.getValue()).to(dtype));
            }
        }
        model.eval();
        return model;
    }

    /** For each parameter, the checkpoint tensor it loads from; throws if anything does not fit. */
    private static Map<String, String> match(HfWeightFiles files, Map<String, Tensor> slots, HfGpt2Config cfg, Path dir) {
        Map<String, String> source = new LinkedHashMap<>();
        List<String> unexpected = new ArrayList<>(), mismatched = new ArrayList<>();
        boolean prefixed = false;
        for (String name : files.names()) {
            if (name.equals(LM_HEAD)) continue;                       // checked below
            prefixed |= name.startsWith(PREFIX);
            // GPT2LMHeadModel writes transformer.*, GPT2Model and the original OpenAI conversions write bare names.
            String key = name.startsWith(PREFIX) ? name.substring(PREFIX.length()) : name;
            if (MASK_BUFFER.matcher(key).matches()) continue;
            Tensor slot = slots.get(key);
            if (slot == null) {
                unexpected.add(name);
                continue;
            }
            String twin = source.putIfAbsent(key, name);
            if (twin != null) unexpected.add(name + " (a second copy of " + twin + ")");
            else checkFits(files, name, slot.shape(), mismatched);
        }
        String p = prefixed || source.isEmpty() ? PREFIX : "";
        List<String> missing = new ArrayList<>(slots.keySet().stream().filter(k -> !source.containsKey(k)).map(k -> p + k).toList());
        if (!cfg.tieWordEmbeddings()) {
            // Flare's GPT always ties; an untied checkpoint loads only if its head equals the embedding anyway.
            String wte = source.get("wte.weight");
            if (!files.names().contains(LM_HEAD)) missing.add(LM_HEAD + " (config.json has tie_word_embeddings false)");
            else if (checkFits(files, LM_HEAD, slots.get("wte.weight").shape(), mismatched) && wte != null
                    && !sameBits(files.load(LM_HEAD), files.load(wte)))
                mismatched.add(LM_HEAD + ": differs from " + wte + " while config.json has tie_word_embeddings false; "
                        + "Flare's GPT ties its LM head to the token embedding, so an untied head cannot load");
        }
        LoadReport report = new LoadReport(missing, unexpected, mismatched);
        if (!report.isClean())
            throw new HfCheckpointException(files.describe() + " does not fit " + dir.resolve(CONFIG)
                    + " (" + describe(cfg.gpt()) + ")", report);
        return source;
    }

    private static boolean checkFits(HfWeightFiles files, String name, int[] expected, List<String> mismatched) {
        int[] shape = files.shape(name);
        DType d = files.dtype(name);
        if (!Arrays.equals(shape, expected))
            mismatched.add(name + ": shape " + Arrays.toString(shape) + " in the checkpoint, " + Arrays.toString(expected) + " expected");
        else if (!d.isFloatingPoint())
            mismatched.add(name + ": dtype " + d + " in the checkpoint, a floating-point dtype expected");
        else return true;
        return false;
    }

    /** Bitwise equality of two freshly loaded CPU tensors (compared in F32 when their dtypes differ). */
    private static boolean sameBits(Tensor a, Tensor b) {
        if (a.dtype() != b.dtype()) return Arrays.equals(a.toFloatArray(), b.toFloatArray());
        return Objects.deepEquals(((CpuStorage) a.storage()).array(), ((CpuStorage) b.storage()).array());
    }

    private static String describe(GPTConfig c) {
        return "vocab_size=" + c.vocabSize() + ", n_positions=" + c.blockSize() + ", n_layer=" + c.nLayer()
                + ", n_head=" + c.nHead() + ", n_embd=" + c.nEmbd();
    }

    /**
     * Writes dir/model.safetensors and dir/config.json as GPT2LMHeadModel.save_pretrained would: tensors named
     * transformer.*, in the model's dtype, no lm_head.weight (tied), metadata format "pt" (which from_pretrained
     * requires). wte.weight has vocab_size rows (the padding is left out), so transformers loads the file as GPT-2.
     * A model built without biases gets zero biases: GPT-2 always has them, and zeros compute the same.
     */
    public static void save(GPT model, Path dir) throws IOException {
        Files.createDirectories(dir);
        Map<String, Tensor> state = model.unpaddedStateDict();   // wte's vocab_size rows, without the padding
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (var e : state.entrySet()) {
            String k = e.getKey();
            Tensor t = e.getValue();
            out.put(PREFIX + k, t);
            String bias = k.endsWith(".weight") ? k.substring(0, k.length() - ".weight".length()) + ".bias" : null;
            boolean embedding = k.equals("wte.weight") || k.equals("wpe.weight");
            if (bias != null && !embedding && !state.containsKey(bias))
                out.put(PREFIX + bias, Tensor.zeros(t.dtype(), Device.CPU, t.size(-1)));
        }
        DType dtype = model.wte.weight.value().dtype();
        SafeTensors.save(dir.resolve(HfWeightFiles.SINGLE), out, Map.of("format", "pt"));
        Files.writeString(dir.resolve(CONFIG), HfGpt2Config.json(model.config(), dtype));
    }
}
