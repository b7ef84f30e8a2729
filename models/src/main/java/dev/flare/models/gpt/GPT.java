package dev.flare.models.gpt;

import dev.flare.nn.Dropout;
import dev.flare.nn.Embedding;
import dev.flare.nn.LayerNorm;
import dev.flare.nn.Module;
import dev.flare.nn.ModuleList;
import dev.flare.tensor.DType;
import dev.flare.tensor.Device;
import dev.flare.tensor.Tensor;
import dev.flare.tensor.random.Generator;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * GPT-2: token and position embeddings, nLayer pre-LN blocks, a final LayerNorm and an LM head tied to the
 * token embedding. Parameter names follow GPT-2 (wte, wpe, h.N.attn.c_attn, ..., ln_f), and Linear weights
 * are stored (in, out) as GPT-2's Conv1D.
 *
 * <p>wte is stored with {@link GPTConfig#paddedVocabSize()} rows (llm.c's padded vocabulary): the LM head is one
 * GEMM over every stored row, whose dimensions are then multiples of 64 (at vocabSize 50257 cuBLAS is several
 * times slower), and the model keeps only the first vocabSize logits, a view. The padding rows are zero, never
 * enter the softmax and get zero gradient, so logits, loss, gradients and samples are those of an unpadded model.
 */
public final class GPT extends Module {
    private final GPTConfig cfg;
    public final Embedding wte;
    public final Embedding wpe;
    private final Dropout drop;
    public final ModuleList<Block> blocks;
    public final LayerNorm lnF;

    /**
     * logits (B, T, vocabSize), or (B, 1, vocabSize) when only the last position was asked for: a view whose rows are
     * paddedVocabSize apart; loss (F32) is null without targets.
     */
    public record Output(Tensor logits, Tensor loss) {}

    public GPT(GPTConfig cfg, Generator gen) {
        this.cfg = cfg;
        wte = registerModule("wte", new Embedding(cfg.vocabSize(), cfg.paddedVocabSize(), cfg.nEmbd(), gen));
        wpe = registerModule("wpe", new Embedding(cfg.blockSize(), cfg.nEmbd(), gen));
        drop = registerModule("drop", new Dropout(cfg.dropout(), gen));
        blocks = registerModule("h", new ModuleList<>());
        for (int i = 0; i < cfg.nLayer(); i++) blocks.add(new Block(cfg, gen));
        lnF = registerModule("ln_f", new LayerNorm(cfg.nEmbd(), cfg.bias()));
    }

    public GPTConfig config() { return cfg; }

    /** Training/evaluation forward over ids (B, T) with optional targets (B, T) (ignore index -100). */
    public Output forward(Tensor ids, Tensor targets) {
        return forward(ids, targets, null, false);
    }

    /**
     * The general forward. With a cache, ids are the next positions after the cached ones. lastOnly computes
     * the LM head for the last position only (inference).
     */
    public Output forward(Tensor ids, Tensor targets, KvCache cache, boolean lastOnly) {
        if (ids.dim() != 2) throw new IllegalArgumentException("ids: expected (B, T), got shape " + Arrays.toString(ids.shape()));
        int b = ids.size(0), t = ids.size(1), past = cache == null ? 0 : cache.length();
        if (past + t > cfg.blockSize())
            throw new IllegalArgumentException("ids: " + (past + t) + " positions exceed the context length (blockSize) " + cfg.blockSize());
        Tensor pos = Tensor.arange(past, past + t, 1, DType.I64, ids.device());
        Tensor x = drop.forward(wte.forward(ids).add(wpe.forward(pos)));
        for (int i = 0; i < blocks.size(); i++) x = blocks.get(i).forward(x, cache, i);
        if (cache != null) cache.advance(t);
        x = lnF.forward(x);
        if (lastOnly) x = x.narrow(1, t - 1, 1);
        // Tied LM head: one GEMM over all paddedVocabSize rows, then a view of the vocabSize real logits.
        Tensor padded = x.matmul(wte.weight.value().t());
        Tensor logits = padded.narrow(-1, 0, cfg.vocabSize());
        Tensor loss = null;
        if (targets != null) {
            if (lastOnly) throw new IllegalArgumentException("targets: a loss needs logits for every position (lastOnly = false)");
            if (!Arrays.equals(targets.shape(), ids.shape()))
                throw new IllegalArgumentException("targets: expected shape " + Arrays.toString(ids.shape()) + ", got " + Arrays.toString(targets.shape()));
            // F32 loss over the vocabSize real classes of the padded logits (read in place): its gradient comes out
            // padded-width, written in place, instead of copied through the narrow view into a zeroed buffer.
            loss = Tensor.crossEntropy(padded, targets, -100, cfg.vocabSize());
        }
        return new Output(logits, loss);
    }

    /**
     * Parameters as GPT-2 counts them: the padding rows of wte (zero, never trained) are left out, so this equals
     * {@link GPTConfig#parameterCount()} (124,439,808 for GPT-2 small) although 124,475,904 numbers are stored.
     */
    @Override
    public long parameterCount() {
        return super.parameterCount() - (long) (wte.weight.value().size(0) - cfg.vocabSize()) * cfg.nEmbd();
    }

    /**
     * The state dict with wte.weight narrowed to its vocabSize real rows (a view: copying into it writes the
     * model): the tensors as an unpadded GPT-2 has them, for interchange formats such as Hugging Face's.
     */
    public Map<String, Tensor> unpaddedStateDict() {
        Map<String, Tensor> state = new LinkedHashMap<>(stateDict());
        state.replace("wte.weight", wte.unpaddedWeight().detach());
        return state;
    }

    /** A KV cache sized for this model. */
    public KvCache newCache(int batch, int maxLength) {
        Tensor w = wte.weight.value();
        return new KvCache(cfg, batch, maxLength, w.dtype(), w.device());
    }

    public Device device() { return wte.weight.value().device(); }
}
