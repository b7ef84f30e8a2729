package dev.flare.examples.bench;

import java.util.Arrays;

/**
 * The CPU benchmarks' method, the same as the NumPy scripts beside them: warm up for about
 * {@code -Dbench.warmSeconds} (default 1; at least 3 calls, the JIT compiles here), then time at least
 * {@code -Dbench.reps} calls (default 10) and at least {@code -Dbench.minSeconds} seconds (default 1).
 */
final class Timing {
    private Timing() {}

    /** The timed calls' durations in seconds, sorted (best first). */
    static double[] sortedSeconds(Runnable call) {
        int minReps = Integer.getInteger("bench.reps", 10);
        double minSeconds = Double.parseDouble(System.getProperty("bench.minSeconds", "1"));
        double warmSeconds = Double.parseDouble(System.getProperty("bench.warmSeconds", "1"));
        long warmEnd = System.nanoTime() + (long) (warmSeconds * 1e9);
        for (int warm = 0; warm < 3 || System.nanoTime() < warmEnd; warm++) call.run();
        double[] times = new double[64];
        int reps = 0;
        long start = System.nanoTime();
        while (reps < Math.max(minReps, 1) || (System.nanoTime() - start) < minSeconds * 1e9) {
            long t0 = System.nanoTime();
            call.run();
            if (reps == times.length) times = Arrays.copyOf(times, 2 * reps);
            times[reps++] = (System.nanoTime() - t0) * 1e-9;
        }
        double[] t = Arrays.copyOf(times, reps);
        Arrays.sort(t);
        return t;
    }

    static double median(double[] sorted) {
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
    }
}
