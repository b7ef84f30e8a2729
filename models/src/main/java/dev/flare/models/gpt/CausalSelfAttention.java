package dev.flare.models.gpt;

import dev.flare.attention.Attention;
import dev.flare.attention.AttentionOptions;
import dev.flare.attention.CausalAlignment;
import dev.flare.nn.Dropout;
import dev.flare.nn.Linear;
import dev.flare.nn.Module;
import dev.flare.tensor.Tensor;
import dev.flare.tensor.random.Generator;

/**
 * Multi-head causal self-attention with a fused QKV projection (c_attn: C -> 3C), scaled dot-product
 * attention (flash kernels where available) with training-time dropout, and the output projection c_proj.
 */
public final class CausalSelfAttention extends Module {
    public final Linear qkv;
    public final Linear proj;
    private final Dropout residDropout;
    private final int nHead;
    private final double attnDropout;
    private final Generator gen;

    public CausalSelfAttention(GPTConfig cfg, Generator gen) {
        qkv = registerModule("c_attn", new Linear(cfg.nEmbd(), 3 * cfg.nEmbd(), cfg.bias(), gen));
        proj = registerModule("c_proj", new Linear(cfg.nEmbd(), cfg.nEmbd(), cfg.bias(), gen, 0.02 / Math.sqrt(2.0 * cfg.nLayer())));
        residDropout = registerModule("resid_dropout", new Dropout(cfg.dropout(), gen));
        nHead = cfg.nHead();
        attnDropout = cfg.dropout();
        this.gen = gen;
    }

    /** x (B, T, C) -> (B, T, C). With a cache, the T new positions attend to the cached ones too. */
    Tensor forward(Tensor x, KvCache cache, int layer) {
        int b = x.size(0), t = x.size(1), c = x.size(2), d = c / nHead;
        Tensor qkvOut = qkv.forward(x);                                   // (B, T, 3C)
        AttentionOptions opts = AttentionOptions.causal();
        if (isTraining() && attnDropout > 0) opts = opts.withDropout(attnDropout).withGenerator(gen);
        Tensor y;
        if (cache == null) {
            // Packed: the backward writes dQ, dK, dV straight into qkvOut's gradient.
            y = Attention.qkvPackedAttention(qkvOut.reshape(b, t, 3, nHead, d), opts);   // (B, T, H, D)
        } else {
            Tensor q = heads(qkvOut.narrow(2, 0, c), b, t, d);
            Tensor[] kv = cache.append(layer, heads(qkvOut.narrow(2, c, c), b, t, d), heads(qkvOut.narrow(2, 2 * c, c), b, t, d));
            // New queries sit at the end of the cached sequence: bottom-right alignment.
            opts = opts.withCausalAlignment(CausalAlignment.BOTTOM_RIGHT);
            y = Attention.scaledDotProductAttention(q, kv[0], kv[1], opts).transpose(1, 2);
        }
        y = y.reshape(b, t, c);
        return residDropout.forward(proj.forward(y));
    }

    private Tensor heads(Tensor x, int b, int t, int d) {
        return x.reshape(b, t, nHead, d).transpose(1, 2);               // (B, H, T, D)
    }
}
