package dev.flare.examples.bench;

import dev.flare.tensor.cpu.CpuGemm;
import java.util.Arrays;
import java.util.Random;

/**
 * Benchmarks {@link CpuGemm#sgemm} on square row-major F32 matrices, with the same method as
 * {@code bench/numpy_sgemm.py} (run both with {@code bench/cpu-matmul.sh}).
 *
 * <p>Usage: {@code MatmulBench [size ...]} (default 512 1024 2048). Each size is warmed up for about
 * {@code -Dbench.warmSeconds} (default 1; the JIT compiles the kernels here), then timed for at least
 * {@code -Dbench.reps} repetitions (default 10) and at least {@code -Dbench.minSeconds} seconds (default 1).
 * Prints one line per size: {@code size=N best=G median=G reps=R check=X}, G in GFLOP/s (2 N^3 / seconds /
 * 1e9); check is one element of C, so that the work cannot be optimised away.
 */
public final class MatmulBench {
    private MatmulBench() {}

    public static void main(String[] args) {
        int[] sizes = args.length == 0 ? new int[] {512, 1024, 2048}
                : Arrays.stream(args).mapToInt(Integer::parseInt).toArray();
        System.out.printf("# flare sgemm, threads=%s, java %s%n",
                System.getProperty("flare.cpu.threads", String.valueOf(Runtime.getRuntime().availableProcessors())),
                Runtime.version());
        for (int n : sizes) {
            Random rnd = new Random(42);
            float[] a = new float[n * n], b = new float[n * n], c = new float[n * n];
            for (int i = 0; i < a.length; i++) {
                a[i] = rnd.nextFloat() - 0.5f;
                b[i] = rnd.nextFloat() - 0.5f;
            }
            double[] t = Timing.sortedSeconds(() -> mul(n, a, b, c));
            int reps = t.length;
            double flop = 2.0 * n * n * n, median = Timing.median(t);
            System.out.printf("size=%d best=%.1f median=%.1f reps=%d check=%.4f%n",
                    n, flop / t[0] / 1e9, flop / median / 1e9, reps, c[n * n / 2 + n / 3]);
        }
    }

    private static void mul(int n, float[] a, float[] b, float[] c) {
        CpuGemm.sgemm(1, n, n, n, a, 0, 0, n, 1, b, 0, 0, n, 1, c, 0, 0, n, 1, false);
    }
}
