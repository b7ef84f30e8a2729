package dev.flare.examples.bench;

import dev.flare.tensor.cpu.CpuGemm;

import java.util.Random;

/**
 * One-row products y = x W of GPT-2 124M's decoding step, through {@link CpuGemm#sgemm} (which takes its one-row path),
 * with the method of {@code bench/numpy_sgemv.py} ({@link Timing}; run both with {@code bench/cpu-gemv.sh}). Cases:
 * qkv (768 x 2304), fc (768 x 3072), proj (3072 x 768), W row-major; lmhead (768 x 50304) read as the transpose of a
 * row-major (50304, 768) table, as the tied LM head does. Prints {@code case=NAME best=G median=G reps=R check=X},
 * G in GB/s of W read (4 K N bytes per call).
 */
public final class GemvBench {
    private GemvBench() {}

    record Case(String name, int k, int n, boolean transposed) {}

    static final Case[] CASES = {new Case("qkv", 768, 2304, false), new Case("fc", 768, 3072, false),
            new Case("proj", 3072, 768, false), new Case("lmhead", 768, 50304, true)};

    public static void main(String[] args) {
        System.out.printf("# flare sgemv (one row), threads=%s, java %s%n",
                System.getProperty("flare.cpu.threads", String.valueOf(Runtime.getRuntime().availableProcessors())),
                Runtime.version());
        for (Case c : CASES) {
            Random rnd = new Random(42);
            float[] x = new float[c.k()], w = new float[c.k() * c.n()], y = new float[c.n()];
            for (int i = 0; i < x.length; i++) x[i] = rnd.nextFloat() - 0.5f;
            for (int i = 0; i < w.length; i++) w[i] = rnd.nextFloat() - 0.5f;
            long rowStride = c.transposed() ? 1 : c.n(), colStride = c.transposed() ? c.k() : 1;
            double[] t = Timing.sortedSeconds(() -> CpuGemm.sgemm(1, 1, c.n(), c.k(), x, 0, 0, 0, 1, w, 0, 0, rowStride, colStride,
                    y, 0, 0, 0, 1, false));
            double bytes = 4.0 * c.k() * c.n();
            System.out.printf("case=%s best=%.1f median=%.1f reps=%d check=%.4f%n",
                    c.name(), bytes / t[0] / 1e9, bytes / Timing.median(t) / 1e9, t.length, y[c.n() / 3]);
        }
    }
}
