package dev.flare.examples.demo;

import dev.flare.autograd.NoGrad;
import dev.flare.tensor.DType;
import dev.flare.tensor.Device;
import dev.flare.tensor.MemoryScope;
import dev.flare.tensor.Tensor;
import dev.flare.tensor.random.Generator;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.TreeSet;
import java.util.function.IntConsumer;

/**
 * A character-level language model small enough for two CPU cores: the previous {@code context} characters
 * are embedded, concatenated, and passed through Linear → LayerNorm → GELU → Linear to next-character logits.
 * Trained with SGD + momentum. It is the CPU demo that {@code flare train} runs until the GPT model and the
 * training loop (issues 6–8) replace it; it exercises tensors, autograd and memory scopes end to end.
 */
public final class CharMlpDemo {
    /** Settings of one run. */
    public record Config(int context, int embed, int hidden, int batch, int steps, double lr, double momentum, long seed) {
        public static Config defaults() { return new Config(8, 24, 192, 64, 600, 0.2, 0.9, 1337); }
    }

    private final Config cfg;
    private final String vocab;
    private final int[] data;
    private final List<Tensor> params = new ArrayList<>();
    private final List<Tensor> velocity = new ArrayList<>();
    private final Tensor emb, w1, b1, gamma, beta, w2, b2;
    private final Generator gen;
    private final Random sampler;

    public CharMlpDemo(String text, Config cfg) {
        if (text.length() <= cfg.context() + 1)
            throw new IllegalArgumentException("text: expected more than " + (cfg.context() + 1) + " characters, got " + text.length());
        this.cfg = cfg;
        StringBuilder v = new StringBuilder();
        new TreeSet<>(text.chars().boxed().toList()).forEach(c -> v.append((char) (int) c));
        this.vocab = v.toString();
        this.data = text.chars().map(vocab::indexOf).toArray();
        this.gen = new Generator(cfg.seed());
        this.sampler = new Random(cfg.seed());
        int vsize = vocab.length(), in = cfg.context() * cfg.embed();
        emb = param(Tensor.randn(gen, vsize, cfg.embed()).mul(0.5));
        w1 = param(Tensor.randn(gen, in, cfg.hidden()).mul(1.0 / Math.sqrt(in)));
        b1 = param(Tensor.zeros(cfg.hidden()));
        gamma = param(Tensor.ones(cfg.hidden()));
        beta = param(Tensor.zeros(cfg.hidden()));
        w2 = param(Tensor.randn(gen, cfg.hidden(), vsize).mul(0.5 / Math.sqrt(cfg.hidden())));
        b2 = param(Tensor.zeros(vsize));
    }

    private Tensor param(Tensor t) {
        Tensor p = t.requiresGrad(true);
        params.add(p);
        velocity.add(Tensor.zeros(p.shape()));
        return p;
    }

    public int vocabSize() { return vocab.length(); }

    public long parameterCount() { return params.stream().mapToLong(Tensor::numel).sum(); }

    /** Logits (B, V) for contexts (B, context) of character ids. */
    private Tensor logits(Tensor contexts) {
        int b = contexts.size(0);
        Tensor x = Tensor.embedding(emb, contexts).reshape(b, cfg.context() * cfg.embed());
        Tensor h = x.matmul(w1).add(b1).layerNorm(gamma, beta, 1e-5).gelu();
        return h.matmul(w2).add(b2);
    }

    /** One SGD step on a random batch; returns the batch loss. */
    public double step() {
        int b = cfg.batch(), c = cfg.context();
        long[] ctx = new long[b * c], tgt = new long[b];
        for (int i = 0; i < b; i++) {
            int start = sampler.nextInt(data.length - c - 1);
            for (int j = 0; j < c; j++) ctx[i * c + j] = data[start + j];
            tgt[i] = data[start + c];
        }
        try (MemoryScope scope = MemoryScope.open()) {
            Tensor loss = Tensor.crossEntropy(logits(Tensor.fromArray(ctx, b, c)), Tensor.fromArray(tgt, b));
            loss.backward();
            double value = loss.item();
            try (NoGrad ignored = NoGrad.enter()) {
                for (int i = 0; i < params.size(); i++) {
                    Tensor p = params.get(i), vel = velocity.get(i);
                    vel.mulInPlace(cfg.momentum()).addInPlace(p.grad());
                    p.addInPlace(vel.mul(-cfg.lr()));
                    p.grad().zero();
                }
            }
            return value;
        }
    }

    /** Trains for cfg.steps(), reporting (step, loss) every {@code every} steps. */
    public double train(int every, java.util.function.ObjIntConsumer<Double> report) {
        double ema = Double.NaN;
        for (int s = 1; s <= cfg.steps(); s++) {
            double l = step();
            ema = Double.isNaN(ema) ? l : 0.9 * ema + 0.1 * l;
            if (s % every == 0 || s == 1 || s == cfg.steps()) report.accept(ema, s);
        }
        return ema;
    }

    /** Samples n characters after prompt at the given temperature, streaming each to sink. */
    public String sample(String prompt, int n, double temperature, IntConsumer sink) {
        StringBuilder out = new StringBuilder();
        List<Integer> ids = new ArrayList<>();
        for (char ch : prompt.toCharArray()) if (vocab.indexOf(ch) >= 0) ids.add(vocab.indexOf(ch));
        while (ids.size() < cfg.context()) ids.addFirst(vocab.indexOf(' ') >= 0 ? vocab.indexOf(' ') : 0);
        try (NoGrad ignored = NoGrad.enter(); MemoryScope scope = MemoryScope.open()) {
            for (int i = 0; i < n; i++) {
                long[] ctx = ids.subList(ids.size() - cfg.context(), ids.size()).stream().mapToLong(Integer::longValue).toArray();
                float[] probs = logits(Tensor.fromArray(ctx, 1, cfg.context())).div(temperature).softmax(-1).toFloatArray();
                double u = sampler.nextDouble(), acc = 0;
                int next = probs.length - 1;
                for (int k = 0; k < probs.length; k++) {
                    acc += probs[k];
                    if (u < acc) { next = k; break; }
                }
                ids.add(next);
                out.append(vocab.charAt(next));
                sink.accept(vocab.charAt(next));
            }
        }
        return out.toString();
    }

    public static DType dtype() { return DType.F32; }

    public static Device device() { return Device.CPU; }
}
