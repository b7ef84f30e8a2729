package dev.flare.attention;

import java.util.Arrays;
import java.util.Random;

/**
 * FLASH_CPU's backward plans side by side in one JVM (the choice is FlashCpuKernelF64.ONE_PASS_TASKS_PER_THREAD's):
 * per shape, causal F32, the forward and both backwards, alternating rep by rep so that a noisy machine slows all
 * three alike. Prints medians and bests in ms.
 *
 * <p>Usage: {@code FlashCpuBackwardPlansBench [B,H,S,D ...]} (default 16,4,64,32 8,12,256,64 1,12,1024,64); the
 * command is in docs/benchmarks.md ("FLASH_CPU backward plans").
 */
public final class FlashCpuBackwardPlansBench {
    private FlashCpuBackwardPlansBench() {}

    public static void main(String[] args) {
        String[] shapes = args.length > 0 ? args : new String[]{"16,4,64,32", "8,12,256,64", "1,12,1024,64"};
        System.out.printf("# FLASH_CPU backward plans, causal F32, threads %d%n", dev.flare.tensor.cpu.CpuThreads.threads());
        for (String shape : shapes) {
            int[] s = Arrays.stream(shape.split(",")).mapToInt(Integer::parseInt).toArray();
            if (s.length != 4) throw new IllegalArgumentException("shape: expected B,H,S,D, got '" + shape + "'");
            int b = s[0], h = s[1], seq = s[2], d = s[3], numel = b * h * seq * d;
            var p = new AttentionParams(b, h, h, seq, seq, d, d, 1 / Math.sqrt(d), true, 0, 0, 0, 0);
            Random r = new Random(42);
            float[][] qkvdO = new float[4][numel];
            for (float[] a : qkvdO) for (int i = 0; i < numel; i++) a[i] = (float) r.nextGaussian();
            HeadRows rows = HeadRows.contiguous(h, seq, d);
            var kernel = new FlashCpuKernelF32(p, qkvdO[0], rows, qkvdO[1], rows, qkvdO[2], rows, new float[numel]);
            int reps = (int) Math.max(30, Math.min(300, 4e9 / ((double) b * h * seq * seq * d)));
            long[][] ns = new long[3][reps];    // forward, one-pass backward, two-pass backward
            for (int round = 0; round < 2; round++)         // the first round warms up the JIT
                for (int rep = 0; rep < reps; rep++)
                    for (int which = 0; which < 3; which++) {
                        long t0 = System.nanoTime();
                        if (which == 0) kernel.forward();
                        else kernel.backward(qkvdO[3], rows, new float[numel], new float[numel], new float[numel], which == 1);
                        ns[which][rep] = System.nanoTime() - t0;
                    }
            for (long[] t : ns) Arrays.sort(t);
            double[] med = new double[3], best = new double[3];
            for (int i = 0; i < 3; i++) {
                med[i] = ns[i][reps / 2] / 1e6;
                best[i] = ns[i][0] / 1e6;
            }
            System.out.printf("shape=%s reps=%d forward=%.3f one-pass=%.3f two-pass=%.3f (medians, ms; best %.3f %.3f %.3f) "
                            + "backward one/two=%.2f forward+backward=%.2f%n", shape, reps, med[0], med[1], med[2],
                    best[0], best[1], best[2], med[1] / med[2], (med[0] + med[1]) / (med[0] + med[2]));
        }
    }
}
