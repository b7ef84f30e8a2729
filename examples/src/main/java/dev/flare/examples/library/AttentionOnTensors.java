package dev.flare.examples.library;

import dev.flare.attention.Attention;
import dev.flare.attention.AttentionBackend;
import dev.flare.attention.AttentionOptions;
import dev.flare.tensor.Tensor;
import dev.flare.tensor.random.Generator;

import java.util.Arrays;

/**
 * Calls {@link Attention#scaledDotProductAttention} directly on (B, H, S, D) tensors: causal, with attention dropout
 * and grouped-query attention (more query heads than key/value heads), then backpropagates and prints the shapes
 * and the backend AUTO picked (FLASH_CPU for CPU tensors).
 * Usage: AttentionOnTensors [batch 2] [query heads 4] [kv heads 2] [sequence 16] [head dim 8] [dropout 0.1]
 */
public final class AttentionOnTensors {

    /** The output, the inputs (holding their gradients) and the backend that ran. */
    record Result(Tensor out, Tensor q, Tensor k, Tensor v, AttentionBackend backend) {}

    public static void main(String[] args) {
        int[] n = {2, 4, 2, 16, 8};
        for (int i = 0; i < Math.min(args.length, n.length); i++) n[i] = Integer.parseInt(args[i]);
        double dropout = args.length > 5 ? Double.parseDouble(args[5]) : 0.1;
        Result r = run(n[0], n[1], n[2], n[3], n[4], dropout, AttentionOptions.DEFAULT);
        System.out.println("backend (AUTO picked): " + r.backend());
        System.out.println("q " + Arrays.toString(r.q().shape()) + "  k " + Arrays.toString(r.k().shape())
                + "  v " + Arrays.toString(r.v().shape()) + "  -> out " + Arrays.toString(r.out().shape()));
        System.out.println("grads: q " + Arrays.toString(r.q().grad().shape()) + "  k " + Arrays.toString(r.k().grad().shape())
                + "  v " + Arrays.toString(r.v().grad().shape()));
    }

    /** Causal GQA attention with dropout on seeded random inputs; {@code base} may force a backend. */
    static Result run(int b, int hq, int hkv, int s, int d, double dropout, AttentionOptions base) {
        Generator gen = new Generator(42);
        Tensor q = Tensor.randn(gen, b, hq, s, d).requiresGrad(true);
        Tensor k = Tensor.randn(gen, b, hkv, s, d).requiresGrad(true);
        Tensor v = Tensor.randn(gen, b, hkv, s, d).requiresGrad(true);
        // a fixed dropout seed makes the mask, and so the result, the same on every run and every backend
        AttentionOptions opts = base.withCausal(true).withEnableGqa(true).withDropout(dropout).withDropoutSeed(1234, 0);
        AttentionBackend backend = Attention.backendFor(q, v, opts);
        Tensor out = Attention.scaledDotProductAttention(q, k, v, opts);
        out.square().sum().backward();   // any scalar loss; this one makes every output element matter
        return new Result(out, q, k, v, backend);
    }
}
