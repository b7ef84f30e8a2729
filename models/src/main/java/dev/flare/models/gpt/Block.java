package dev.flare.models.gpt;

import dev.flare.nn.LayerNorm;
import dev.flare.nn.Mlp;
import dev.flare.nn.Module;
import dev.flare.tensor.Tensor;
import dev.flare.tensor.random.Generator;

/** A pre-LN transformer block: x + attn(ln_1(x)), then + mlp(ln_2(x)). */
public final class Block extends Module {
    public final LayerNorm ln1;
    public final CausalSelfAttention attn;
    public final LayerNorm ln2;
    public final Mlp mlp;

    public Block(GPTConfig cfg, Generator gen) {
        ln1 = registerModule("ln_1", new LayerNorm(cfg.nEmbd(), cfg.bias()));
        attn = registerModule("attn", new CausalSelfAttention(cfg, gen));
        ln2 = registerModule("ln_2", new LayerNorm(cfg.nEmbd(), cfg.bias()));
        mlp = registerModule("mlp", new Mlp(cfg.nEmbd(), cfg.bias(), cfg.dropout(), 0.02 / Math.sqrt(2.0 * cfg.nLayer()), gen));
    }

    Tensor forward(Tensor x, KvCache cache, int layer) {
        x = x.add(attn.forward(ln1.forward(x), cache, layer));
        return x.add(mlp.forward(ln2.forward(x)));
    }
}
