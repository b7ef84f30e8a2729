package dev.flare.tensor.cuda;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * GPU time by kernel (or cuBLAS call) name, summed over calls: where a step's GPU time goes. Filled by the
 * device's {@link KernelTimer} while profiling is on ({@link CudaBackend#setKernelProfiling}).
 */
public final class KernelProfile {
    /** One name's calls and total GPU milliseconds. */
    public record Row(String name, long calls, double totalMs) {}

    private final Map<String, double[]> byName = new HashMap<>();   // name -> {calls, total ms}

    synchronized void add(String name, double ms) {
        double[] r = byName.computeIfAbsent(name, k -> new double[2]);
        r[0]++;
        r[1] += ms;
    }

    public synchronized void reset() { byName.clear(); }

    /** Every name, most total time first. */
    public synchronized List<Row> rows() {
        List<Row> rows = new ArrayList<>();
        byName.forEach((n, r) -> rows.add(new Row(n, (long) r[0], r[1])));
        rows.sort((a, b) -> Double.compare(b.totalMs(), a.totalMs()));
        return rows;
    }

    /** Total GPU milliseconds over every name. */
    public synchronized double totalMs() {
        double t = 0;
        for (double[] r : byName.values()) t += r[1];
        return t;
    }

    /**
     * A text table of the top names: calls and GPU ms per step (totals over {@code steps}), and each one's share of
     * the GPU time; a last line sums the rest.
     */
    public String table(long steps, int top) {
        if (steps <= 0) throw new IllegalArgumentException("steps: expected > 0, got " + steps);
        if (top <= 0) throw new IllegalArgumentException("top: expected > 0, got " + top);
        List<Row> rows = rows();
        double total = 0;
        for (Row r : rows) total += r.totalMs();
        StringBuilder sb = new StringBuilder(String.format("%-64s %12s %12s %7s%n", "kernel", "calls/step", "ms/step", "share"));
        double rest = 0;
        long restCalls = 0;
        for (int i = 0; i < rows.size(); i++) {
            Row r = rows.get(i);
            if (i < top) {
                sb.append(String.format("%-64s %12.1f %12.3f %6.1f%%%n", r.name(), r.calls() / (double) steps,
                        r.totalMs() / steps, total > 0 ? 100 * r.totalMs() / total : 0));
            } else {
                rest += r.totalMs();
                restCalls += r.calls();
            }
        }
        if (rows.size() > top)
            sb.append(String.format("%-64s %12.1f %12.3f %6.1f%%%n", "(" + (rows.size() - top) + " more)",
                    restCalls / (double) steps, rest / steps, total > 0 ? 100 * rest / total : 0));
        sb.append(String.format("%-64s %12s %12.3f%n", "GPU time in kernels", "", total / steps));
        return sb.toString();
    }
}
