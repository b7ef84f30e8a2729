package dev.flare.models.gpt.hf;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.core.util.Separators;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.flare.models.gpt.GPTConfig;
import dev.flare.tensor.DType;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Hugging Face's GPT2Config as it appears in config.json, read into a {@link GPTConfig} and written from one.
 * A field that config.json leaves out takes GPT2Config's default, as transformers does. Settings Flare's GPT
 * cannot reproduce (another activation, another LayerNorm epsilon, scaled or cross attention, unequal dropouts)
 * are errors naming the field, never silently dropped.
 *
 * @param gpt               the model shape
 * @param tieWordEmbeddings whether lm_head.weight is the token embedding (GPT-2 ties it; Flare always does)
 */
public record HfGpt2Config(GPTConfig gpt, boolean tieWordEmbeddings) {
    /** The only LayerNorm epsilon Flare's GPT uses. */
    static final double LAYER_NORM_EPSILON = 1e-5;
    /** Both names transformers gives the tanh approximation of GELU, which Flare's MLP computes. */
    private static final List<String> TANH_GELU = List.of("gelu_new", "gelu_pytorch_tanh");
    /** GPT-2's <|endoftext|>, its bos and eos token. */
    private static final int GPT2_EOT = 50256;

    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .build();
    /** Indented, "key": value, as Python's json.dumps(indent=2) writes it. */
    private static final DefaultPrettyPrinter PRETTY = new DefaultPrettyPrinter()
            .withSeparators(Separators.createDefaultInstance().withObjectFieldValueSpacing(Separators.Spacing.AFTER));

    /** Reads dir/config.json. */
    public static HfGpt2Config read(Path file) throws IOException {
        JsonNode root;
        try {
            root = JSON.readTree(Files.readString(file));
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException(file + ": no config.json; a Hugging Face GPT-2 folder needs one");
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalArgumentException(file + ": not valid JSON (" + e.getOriginalMessage() + ")");
        }
        if (root == null || !root.isObject())
            throw new IllegalArgumentException(file + ": expected a JSON object, got " + (root == null ? "nothing" : root.getNodeType()));
        Fields f = new Fields(file, root);
        String type = f.string("model_type", "gpt2");
        if (!type.equals("gpt2")) throw f.error("model_type", "\"gpt2\"", root.get("model_type"));
        String act = f.string("activation_function", "gelu_new");
        if (!TANH_GELU.contains(act))
            throw f.error("activation_function", "one of " + TANH_GELU + " (the tanh GELU Flare computes)", root.get("activation_function"));
        f.requireFlag("scale_attn_weights", true);
        f.requireFlag("scale_attn_by_inverse_layer_idx", false);
        f.requireFlag("add_cross_attention", false);
        // reorder_and_upcast_attn only changes rounding under mixed precision, not the function: accepted as is.
        double eps = f.number("layer_norm_epsilon", LAYER_NORM_EPSILON);
        if (Math.abs(eps - LAYER_NORM_EPSILON) > 1e-6 * LAYER_NORM_EPSILON)
            throw f.error("layer_norm_epsilon", LAYER_NORM_EPSILON + " (Flare's LayerNorm epsilon)", root.get("layer_norm_epsilon"));
        int nEmbd = f.positiveInt("n_embd", 768);
        int nHead = f.positiveInt("n_head", 12);
        int nLayer = f.positiveInt("n_layer", 12);
        int vocab = f.positiveInt("vocab_size", 50257);
        // n_ctx is the old name of the context length; current transformers reads n_positions only.
        int positions = f.positiveInt("n_positions", f.positiveInt("n_ctx", 1024));
        JsonNode inner = root.get("n_inner");
        if (inner != null && !inner.isNull() && f.positiveInt("n_inner", 0) != 4 * nEmbd)
            throw f.error("n_inner", "null or 4 * n_embd = " + 4 * nEmbd + " (Flare's MLP width)", inner);
        if (nEmbd % nHead != 0) throw f.error("n_embd", "a multiple of n_head = " + nHead, nEmbd);
        double resid = f.number("resid_pdrop", 0.1), embd = f.number("embd_pdrop", 0.1), attn = f.number("attn_pdrop", 0.1);
        if (resid != embd || resid != attn)
            throw new IllegalArgumentException(file + ": resid_pdrop, embd_pdrop and attn_pdrop: expected one value (Flare's GPT has a single "
                    + "dropout), got " + resid + ", " + embd + ", " + attn);
        if (!(resid >= 0 && resid < 1)) throw f.error("resid_pdrop", "a probability in [0, 1)", root.get("resid_pdrop"));
        boolean tie = f.flag("tie_word_embeddings", true);
        return new HfGpt2Config(new GPTConfig(vocab, positions, nLayer, nHead, nEmbd, resid, true), tie);
    }

    /**
     * The config.json that GPT2LMHeadModel.from_pretrained reads for this model: GPT2Config's fields with a tied
     * LM head and weights of the given dtype. Keys are sorted, as transformers writes them.
     */
    public static String json(GPTConfig cfg, DType weights) {
        Map<String, Object> m = new TreeMap<>();
        m.put("architectures", List.of("GPT2LMHeadModel"));
        m.put("model_type", "gpt2");
        m.put("vocab_size", cfg.vocabSize());
        m.put("n_positions", cfg.blockSize());
        m.put("n_ctx", cfg.blockSize());              // for readers older than transformers 4
        m.put("n_embd", cfg.nEmbd());
        m.put("n_layer", cfg.nLayer());
        m.put("n_head", cfg.nHead());
        m.put("n_inner", null);                       // 4 * n_embd
        m.put("activation_function", "gelu_new");
        m.put("resid_pdrop", cfg.dropout());
        m.put("embd_pdrop", cfg.dropout());
        m.put("attn_pdrop", cfg.dropout());
        m.put("layer_norm_epsilon", LAYER_NORM_EPSILON);
        m.put("initializer_range", 0.02);
        m.put("scale_attn_weights", true);
        m.put("scale_attn_by_inverse_layer_idx", false);
        m.put("reorder_and_upcast_attn", false);
        m.put("tie_word_embeddings", true);
        m.put("use_cache", true);
        // GPT-2's <|endoftext|> only exists in a GPT-2-sized vocabulary; otherwise there is no such token.
        Integer eot = cfg.vocabSize() > GPT2_EOT ? GPT2_EOT : null;
        m.put("bos_token_id", eot);
        m.put("eos_token_id", eot);
        m.put("dtype", torchName(weights));
        try {
            return JSON.writer(PRETTY).writeValueAsString(m) + "\n";
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** PyTorch's name of a floating-point dtype, as config.json's "dtype" holds it. */
    static String torchName(DType d) {
        return switch (d) {
            case F32 -> "float32";
            case F64 -> "float64";
            case F16 -> "float16";
            case BF16 -> "bfloat16";
            default -> throw new IllegalArgumentException("dtype: expected a floating-point dtype for GPT weights, got " + d);
        };
    }

    /** Typed reads of config.json fields, each falling back to GPT2Config's default when absent. */
    private record Fields(Path file, JsonNode root) {
        IllegalArgumentException error(String field, String expected, Object got) {
            return new IllegalArgumentException(file + ": " + field + ": expected " + expected + ", got " + got);
        }

        String string(String field, String dflt) {
            JsonNode n = root.get(field);
            if (n == null) return dflt;
            if (!n.isTextual()) throw error(field, "a string", n);
            return n.asText();
        }

        boolean flag(String field, boolean dflt) {
            JsonNode n = root.get(field);
            if (n == null) return dflt;
            if (!n.isBoolean()) throw error(field, "true or false", n);
            return n.asBoolean();
        }

        void requireFlag(String field, boolean required) {
            if (flag(field, required) != required)
                throw error(field, required + " (Flare's GPT has no other form)", root.get(field));
        }

        double number(String field, double dflt) {
            JsonNode n = root.get(field);
            if (n == null) return dflt;
            if (!n.isNumber()) throw error(field, "a number", n);
            return n.asDouble();
        }

        int positiveInt(String field, int dflt) {
            JsonNode n = root.get(field);
            if (n == null) return dflt;
            if (!n.isIntegralNumber() || !n.canConvertToInt() || n.asInt() <= 0) throw error(field, "a positive integer", n);
            return n.asInt();
        }
    }
}
