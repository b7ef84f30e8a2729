package dev.flare.examples.bench;

import dev.flare.tensor.cpu.CpuGemm;
import java.util.Arrays;
import java.util.Random;

/**
 * Benchmarks {@link CpuGemm#sgemm} on row-major F32 matrices, with the same method as
 * {@code bench/numpy_sgemm.py} (run both with {@code bench/cpu-matmul.sh}).
 *
 * <p>Usage: {@code MatmulBench [size ...]} (default 512 1024 2048). A size is N (N x N times N x N) or
 * {@code MxKxN} (M x K times K x N), optionally with {@code :ta} or {@code :tb}: A (or B) is the transposed view
 * of a row-major K x M (N x K) matrix, as in a linear layer's weight gradient (input gradient). Each size is warmed up for about
 * {@code -Dbench.warmSeconds} (default 1; the JIT compiles the kernels here), then timed for at least
 * {@code -Dbench.reps} repetitions (default 10) and at least {@code -Dbench.minSeconds} seconds (default 1).
 * Prints one line per size: {@code size=S best=G median=G reps=R check=X}, S as given, G in GFLOP/s
 * (2 M K N / seconds / 1e9); check is one element of C, so that the work cannot be optimised away.
 */
public final class MatmulBench {
    private MatmulBench() {}

    /** One benchmark shape: C (m x n) = A (m x k) B (k x n), A or B possibly a transposed view. */
    record Shape(String name, int m, int k, int n, boolean transA, boolean transB) {
        static Shape parse(String s) {
            String[] parts = s.split(":", 2);
            String[] dims = parts[0].split("x");
            String flag = parts.length == 2 ? parts[1] : "";
            if (!(dims.length == 1 || dims.length == 3) || !(flag.isEmpty() || flag.equals("ta") || flag.equals("tb")))
                throw new IllegalArgumentException("size: expected N or MxKxN, optionally :ta or :tb, got '" + s + "'");
            int[] d = Arrays.stream(dims).mapToInt(Integer::parseInt).toArray();
            for (int v : d)
                if (v <= 0) throw new IllegalArgumentException("size: expected positive dimensions, got '" + s + "'");
            return d.length == 1 ? new Shape(s, d[0], d[0], d[0], flag.equals("ta"), flag.equals("tb"))
                    : new Shape(s, d[0], d[1], d[2], flag.equals("ta"), flag.equals("tb"));
        }
    }

    public static void main(String[] args) {
        String[] names = args.length == 0 ? new String[] {"512", "1024", "2048"} : args;
        Shape[] shapes = Arrays.stream(names).map(Shape::parse).toArray(Shape[]::new);
        System.out.printf("# flare sgemm, threads=%s, java %s%n",
                System.getProperty("flare.cpu.threads", String.valueOf(Runtime.getRuntime().availableProcessors())),
                Runtime.version());
        for (Shape s : shapes) {
            Random rnd = new Random(42);
            float[] a = new float[s.m * s.k], b = new float[s.k * s.n], c = new float[s.m * s.n];
            for (int i = 0; i < a.length; i++) a[i] = rnd.nextFloat() - 0.5f;
            for (int i = 0; i < b.length; i++) b[i] = rnd.nextFloat() - 0.5f;
            double[] t = Timing.sortedSeconds(() -> mul(s, a, b, c));
            int reps = t.length;
            double flop = 2.0 * s.m * s.k * s.n, median = Timing.median(t);
            System.out.printf("size=%s best=%.1f median=%.1f reps=%d check=%.4f%n",
                    s.name, flop / t[0] / 1e9, flop / median / 1e9, reps, c[c.length / 2 + s.n / 3]);
        }
    }

    private static void mul(Shape s, float[] a, float[] b, float[] c) {
        // A row-major m x k, or the transposed view of a row-major k x m; likewise B (k x n, or n x k transposed)
        int aRow = s.transA ? 1 : s.k, aCol = s.transA ? s.m : 1, bRow = s.transB ? 1 : s.n, bCol = s.transB ? s.k : 1;
        CpuGemm.sgemm(1, s.m, s.n, s.k, a, 0, 0, aRow, aCol, b, 0, 0, bRow, bCol, c, 0, 0, s.n, 1, false);
    }
}
