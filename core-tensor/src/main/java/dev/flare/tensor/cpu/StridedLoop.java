package dev.flare.tensor.cpu;

import dev.flare.tensor.Tensor;

/**
 * Visits every element of one shape across several operands with their own strides and offsets, as runs
 * along the innermost dim. Dims that are contiguous for every operand are merged first and size-1 dims
 * dropped, so a contiguous tensor is one run. Runs are spread across cores for large tensors; when there are
 * fewer runs than cores, each run is cut into consecutive pieces, so a body sees a piece of an innermost row,
 * never necessarily a whole one (bodies must not depend on where a run starts).
 */
public final class StridedLoop {
    private StridedLoop() {}

    /** One run: {@code n} elements; operand k starts at {@code offsets[k]} and steps by {@code steps[k]}. */
    @FunctionalInterface
    public interface Run {
        void run(long[] offsets, long[] steps, int n);
    }

    /** Visits the elements of {@code operands} (all of the same shape) in row-major order of that shape. */
    public static void forEach(Run body, Tensor... operands) {
        forEach(operands[0].shape(), body, operands);
    }

    /** Same, with an explicit shape (every operand must have it). costPerElement guides threading. */
    public static void forEach(int[] shape, Run body, Tensor... operands) {
        forEach(shape, 4, body, operands);
    }

    /** Below this many elements a run is never split. */
    private static final int MIN_PIECE = 4096;

    /**
     * How many pieces to cut each run into so that runs * pieces covers every core, when the work is large
     * enough to be worth spreading; 1 when the runs alone suffice or the work is small.
     */
    static int pieces(int runs, int inner, long costPerElement) {
        int threads = CpuThreads.threads();
        if (runs >= threads || (long) runs * inner * Math.max(1, costPerElement) < 65_536) return 1;
        int want = Math.ceilDiv(threads, runs);
        return Math.max(1, Math.min(want, inner / MIN_PIECE));
    }

    public static void forEach(int[] shape, long costPerElement, Run body, Tensor... operands) {
        int k = operands.length;
        long[][] strides = new long[k][];
        long[] base = new long[k];
        for (int i = 0; i < k; i++) {
            strides[i] = operands[i].strides();
            base[i] = operands[i].offset();
        }
        // Coalesce: drop size-1 dims, merge dim d into d+1 when every operand is contiguous across them.
        int rank = 0;
        int[] sizes = new int[shape.length];
        long[][] st = new long[k][shape.length];
        for (int d = 0; d < shape.length; d++) {
            if (shape[d] == 0) return;
            if (shape[d] == 1) continue;
            boolean merge = rank > 0;
            for (int i = 0; merge && i < k; i++) merge = st[i][rank - 1] == strides[i][d] * shape[d];
            if (merge) {
                sizes[rank - 1] *= shape[d];
                for (int i = 0; i < k; i++) st[i][rank - 1] = strides[i][d];
            } else {
                sizes[rank] = shape[d];
                for (int i = 0; i < k; i++) st[i][rank] = strides[i][d];
                rank++;
            }
        }
        if (rank == 0) {                     // a single element
            body.run(base, new long[k], 1);
            return;
        }
        final int r = rank;
        final int inner = sizes[r - 1];
        long outerCount = 1;
        for (int d = 0; d < r - 1; d++) outerCount *= sizes[d];
        long[] innerSteps = new long[k];
        for (int i = 0; i < k; i++) innerSteps[i] = st[i][r - 1];
        int runs = Math.toIntExact(outerCount);
        int pieces = pieces(runs, inner, costPerElement);
        if (pieces > 1) {
            // Too few runs to keep every core busy (a contiguous tensor is a single run): split each run.
            CpuThreads.parallelFor(runs * pieces, (long) (inner / pieces) * costPerElement, (from, to) -> {
                long[] offs = new long[k];
                long[] steps = innerSteps.clone();
                for (int task = from; task < to; task++) {
                    int run = task / pieces, piece = task % pieces;
                    int start = (int) ((long) inner * piece / pieces), end = (int) ((long) inner * (piece + 1) / pieces);
                    long rem = run;
                    for (int i = 0; i < k; i++) offs[i] = base[i] + start * innerSteps[i];
                    for (int d = r - 2; d >= 0; d--) {
                        long idx = rem % sizes[d];
                        rem /= sizes[d];
                        for (int i = 0; i < k; i++) offs[i] += idx * st[i][d];
                    }
                    if (end > start) body.run(offs, steps, end - start);
                }
            });
            return;
        }
        CpuThreads.parallelFor(runs, (long) inner * costPerElement, (from, to) -> {
            long[] offs = new long[k];
            long[] steps = innerSteps.clone();
            int[] idx = new int[Math.max(r - 1, 0)];
            // Unravel `from` into the outer index.
            long rem = from;
            for (int d = r - 2; d >= 0; d--) {
                idx[d] = (int) (rem % sizes[d]);
                rem /= sizes[d];
            }
            for (int run = from; run < to; run++) {
                for (int i = 0; i < k; i++) {
                    long o = base[i];
                    for (int d = 0; d < r - 1; d++) o += idx[d] * st[i][d];
                    offs[i] = o;
                }
                body.run(offs, steps, inner);
                for (int d = r - 2; d >= 0; d--) {      // odometer increment
                    if (++idx[d] < sizes[d]) break;
                    idx[d] = 0;
                }
            }
        });
    }
}
