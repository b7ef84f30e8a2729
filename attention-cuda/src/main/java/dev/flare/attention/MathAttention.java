package dev.flare.attention;

import dev.flare.tensor.DType;
import dev.flare.tensor.Tensor;

/**
 * The reference backend: attention from differentiable tensor ops, so autograd differentiates it.
 * Materializes the (B, Hq, Sq, Sk) scores. A query row whose every key is masked gets output 0 (and zero
 * gradients), not PyTorch's NaN; FLASH_CPU agrees.
 */
final class MathAttention {
    private MathAttention() {}

    static Tensor forward(Tensor q, Tensor k, Tensor v, Tensor mask, AttentionParams p) {
        int g = p.group();
        if (g > 1) {
            k = repeatHeads(k, g);
            v = repeatHeads(v, g);
        }
        Tensor s = q.matmul(k.transpose(-2, -1)).mul(p.scale());
        if (mask != null) {
            if (mask.dtype() == DType.BOOL) s = s.maskedFill(mask.not(), Double.NEGATIVE_INFINITY);
            else s = s.add(mask.to(s.dtype()));
        }
        if (p.causal()) s = s.maskedFill(causalBlocked(p).to(s.device()), Double.NEGATIVE_INFINITY);
        // Rows with no visible key: softmax over a finite stand-in, then zero them (output 0, gradient 0).
        Tensor dead = s.detach().max(-1, true).eq(Double.NEGATIVE_INFINITY);
        Tensor zero = Tensor.scalar(0, s.dtype(), s.device());
        s = Tensor.where(dead, zero, s);
        Tensor prob = Tensor.where(dead, zero, s.softmax(-1));
        if (p.dropout()) prob = prob.mul(dropoutMask(p, s.dtype()).to(s.device()));
        return prob.matmul(v);
    }

    /** (B, Hkv, S, D) -> (B, Hkv * g, S, D), each kv head repeated for its g query heads. */
    private static Tensor repeatHeads(Tensor t, int g) {
        int[] s = t.shape();
        return t.unsqueeze(2).expand(s[0], s[1], g, s[2], s[3]).reshape(s[0], s[1] * g, s[2], s[3]);
    }

    /** BOOL (Sq, Sk): true where key j is NOT visible to query i (j > i + shift). */
    static Tensor causalBlocked(AttentionParams p) {
        boolean[] m = new boolean[p.sq() * p.sk()];
        for (int i = 0; i < p.sq(); i++)
            for (int j = 0; j < p.sk(); j++) m[i * p.sk() + j] = j > i + p.shift();
        return Tensor.fromArray(m, p.sq(), p.sk());
    }

    /** The dropout multiplier (B, Hq, Sq, Sk): 1/(1-p) where kept, 0 where dropped, from {@link AttentionDropout}. */
    static Tensor dropoutMask(AttentionParams p, DType dtype) {
        int n = p.b() * p.hq() * p.sq() * p.sk();
        double[] m = new double[n];
        boolean[] keep = new boolean[p.sk()];
        int[] scratch = new int[4];
        int th = p.threshold();
        double ks = p.keepScale();
        int pos = 0;
        for (int b = 0; b < p.b(); b++)
            for (int h = 0; h < p.hq(); h++)
                for (int i = 0; i < p.sq(); i++) {
                    AttentionDropout.keepRow(p.seed(), p.offset(), b, h, p.hq(), i, 0, p.sk(), th, keep, scratch);
                    for (int j = 0; j < p.sk(); j++) m[pos++] = keep[j] ? ks : 0.0;
                }
        Tensor t = Tensor.fromArray(m, p.b(), p.hq(), p.sq(), p.sk());
        return dtype == DType.F64 ? t : t.to(dtype);
    }
}
