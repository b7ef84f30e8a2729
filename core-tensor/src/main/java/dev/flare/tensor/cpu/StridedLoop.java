package dev.flare.tensor.cpu;

import dev.flare.tensor.Tensor;

/**
 * Visits every element of one shape across several operands with their own strides and offsets, as runs
 * along the innermost dim. Dims that are contiguous for every operand are merged first and size-1 dims
 * dropped, so a contiguous tensor is one run. Runs are split across cores for large tensors.
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
