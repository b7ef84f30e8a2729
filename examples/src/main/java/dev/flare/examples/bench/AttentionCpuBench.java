package dev.flare.examples.bench;

import dev.flare.attention.Attention;
import dev.flare.attention.AttentionBackend;
import dev.flare.attention.AttentionOptions;
import dev.flare.tensor.MemoryScope;
import dev.flare.tensor.Tensor;
import dev.flare.tensor.random.Generator;

/**
 * Causal attention forward + backward on the CPU, F32, FLASH_CPU beside MATH (the plain reference that builds the
 * S x S scores), through the public API with autograd, with the method of {@link Timing}. Shapes as B,H,S,D
 * (default: 16,4,64,32 the default `flare train` model's layer; 8,12,256,64; 1,12,1024,64 GPT-2's). Prints
 * {@code shape=B,H,S,D backend=NAME best=MS median=MS reps=R} per shape and backend.
 *
 * <p>Usage: {@code flare bench attention-cpu [B,H,S,D ...]}.
 */
public final class AttentionCpuBench {
    private AttentionCpuBench() {}

    public static void main(String[] args) {
        String[] shapes = args.length > 0 ? args : new String[]{"16,4,64,32", "8,12,256,64", "1,12,1024,64"};
        System.out.printf("# flare attention on the CPU, causal F32 forward + backward, threads=%s, java %s%n",
                System.getProperty("flare.cpu.threads", String.valueOf(Runtime.getRuntime().availableProcessors())),
                Runtime.version());
        for (String shape : shapes) {
            int[] s = parse(shape);
            for (AttentionBackend backend : new AttentionBackend[]{AttentionBackend.FLASH_CPU, AttentionBackend.MATH}) {
                Generator gen = new Generator(42);
                Tensor q = input(gen, s), k = input(gen, s), v = input(gen, s), dO = input(gen, s);
                AttentionOptions opts = AttentionOptions.causal().withBackend(backend);
                double[] t = Timing.sortedSeconds(() -> {
                    try (MemoryScope ignored = MemoryScope.open()) {
                        for (Tensor x : new Tensor[]{q, k, v}) {      // a fresh gradient each call; free the last one
                            if (x.grad() != null) x.grad().release();
                            x.setGrad(null);
                        }
                        Attention.scaledDotProductAttention(q, k, v, opts).backward(dO);
                    }
                });
                System.out.printf("shape=%s backend=%s best=%.3f median=%.3f reps=%d%n", shape, backend,
                        t[0] * 1e3, Timing.median(t) * 1e3, t.length);
            }
        }
    }

    private static int[] parse(String shape) {
        String[] p = shape.split(",");
        if (p.length != 4) throw new IllegalArgumentException("shape: expected B,H,S,D (4 positive integers), got '" + shape + "'");
        int[] s = new int[4];
        for (int i = 0; i < 4; i++) {
            try {
                s[i] = Integer.parseInt(p[i].trim());
            } catch (NumberFormatException e) {
                s[i] = -1;
            }
            if (s[i] <= 0) throw new IllegalArgumentException("shape: expected B,H,S,D (4 positive integers), got '" + shape + "'");
        }
        return s;
    }

    private static Tensor input(Generator gen, int[] s) {
        return Tensor.randn(gen, s).requiresGrad(true);
    }
}
