package dev.flare.tensor.cuda;

import dev.flare.tensor.DType;
import dev.flare.tensor.Shapes;
import dev.flare.tensor.Tensor;
import dev.flare.tensor.ops.ReduceOp;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;

import static dev.flare.tensor.cuda.CudaTestSupport.*;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** CUDA reductions (every strategy: warp, block, split, outer, strided) and argmax/argmin against host references. */
@Tag("cuda")
class CudaReduceTest {
    /** Reference reduction in double; output has x's rank with reduced dims of size 1 (row-major). */
    static double[] reduceRef(ReduceOp op, double[] x, int[] shape, int[] dims) {
        boolean[] red = new boolean[shape.length];
        for (int d : dims) red[d] = true;
        int[] kept = shape.clone();
        for (int d : dims) kept[d] = 1;
        int outN = (int) Shapes.numel(kept);
        double[] acc = new double[outN];
        long[] count = new long[outN];
        double init = op == ReduceOp.MAX ? Double.NEGATIVE_INFINITY : op == ReduceOp.MIN ? Double.POSITIVE_INFINITY : 0;
        Arrays.fill(acc, init);
        long[] ks = Shapes.contiguousStrides(kept);
        int[] idx = new int[shape.length];
        for (int i = 0; i < x.length; i++) {
            int o = 0;
            for (int d = 0; d < shape.length; d++) if (!red[d]) o += idx[d] * ks[d];
            double v = x[i];
            switch (op) {
                case SUM, MEAN -> acc[o] += v;
                case MAX -> { if (!Double.isNaN(acc[o]) && (Double.isNaN(v) || v > acc[o])) acc[o] = v; }
                case MIN -> { if (!Double.isNaN(acc[o]) && (Double.isNaN(v) || v < acc[o])) acc[o] = v; }
            }
            count[o]++;
            for (int d = shape.length - 1; d >= 0; d--) {
                if (++idx[d] < shape[d]) break;
                idx[d] = 0;
            }
        }
        if (op == ReduceOp.MEAN) {
            long n = 1;
            for (int d : dims) n *= shape[d];
            for (int o = 0; o < outN; o++) acc[o] /= n;
        }
        return acc;
    }

    static int[] keptShape(int[] shape, int[] dims) {
        int[] k = shape.clone();
        for (int d : dims) k[d] = 1;
        return k;
    }

    void check(CudaBackend b, DType t, ReduceOp op, int[] shape, int[] dims, Layout layout, Random rnd) {
        int n = (int) Shapes.numel(shape);
        double[] v = t == DType.BOOL ? random(rnd, t, n, 0, 1)
                : t.isIntegral() ? random(rnd, t, n, -1000, 1000) : random(rnd, t, n, -10, 10);
        Tensor x = tensor(b, t, v, shape, layout);
        DType ot = t == DType.BOOL ? DType.I64 : t;
        int[] ks = keptShape(shape, dims);
        Tensor out = output(b, ot, ks);
        b.reduce(op, x, dims, out);
        double[] expect = rounded(ot, reduceRef(op, v, shape, dims));
        String what = op + " " + t + " " + Arrays.toString(shape) + " dims " + Arrays.toString(dims) + " " + layout;
        if (ot.isIntegral()) assertSame(what, expect, values(out));
        else assertClose(what, ot, expect, values(out));
        // Every strategy combines its partial results in a fixed order: the same input gives the same bits again.
        Tensor again = output(b, ot, ks);
        b.reduce(op, x, dims, again);
        assertSame(what + " (second run)", values(out), values(again));
        x.release();
        out.release();
        again.release();
    }

    @Test
    void everyStrategyEveryDtype() {
        CudaBackend b = gpu();
        Random rnd = new Random(21);
        int[][][] cases = {
                {{7, 1023}, {1}},          // warp per output
                {{3, 5000}, {1}},          // block per output
                {{4097, 33}, {0}},         // outer: kept dim innermost
                {{6, 5, 7}, {0, 2}},       // two reduced dims that do not merge
                {{2, 3, 4, 5}, {0, 1, 2, 3}},
                {{1}, {0}},
                {{5, 1, 3}, {1}},
                {{9, 1}, {0}},
        };
        for (DType t : ALL)
            for (ReduceOp op : ReduceOp.values()) {
                if (op == ReduceOp.MEAN && !t.isFloatingPoint()) continue;
                if (t == DType.BOOL && op != ReduceOp.SUM) continue;
                for (int[][] c : cases)
                    for (Layout l : new Layout[]{Layout.CONTIGUOUS, Layout.PERMUTED, Layout.PADDED})
                        check(b, t, op, c[0], c[1], l, rnd);
            }
    }

    @Test
    void largeReductionsSplitAcrossBlocks() {
        CudaBackend b = gpu();
        Random rnd = new Random(22);
        for (DType t : new DType[]{DType.F32, DType.BF16, DType.I32, DType.F64})
            for (ReduceOp op : ReduceOp.values()) {
                if (op == ReduceOp.MEAN && !t.isFloatingPoint()) continue;
                check(b, t, op, new int[]{2, 3_000_001}, new int[]{1}, Layout.CONTIGUOUS, rnd);
                check(b, t, op, new int[]{1_000_003}, new int[]{0}, Layout.CONTIGUOUS, rnd);
                check(b, t, op, new int[]{1000, 3001}, new int[]{0, 1}, Layout.PERMUTED, rnd);
                // Bias-gradient shapes: few columns over many rows, split into ragged row chunks ("outer").
                check(b, t, op, new int[]{16385, 771}, new int[]{0}, Layout.CONTIGUOUS, rnd);
                check(b, t, op, new int[]{3, 4099, 65}, new int[]{0, 1}, Layout.PADDED, rnd);
            }
    }

    /**
     * Bias-gradient shapes whose rows are contiguous on a 16-byte boundary take the 16-byte column kernel (checked
     * with the kernel profiler); the same shapes unaligned (OFFSET) or padded take the scalar kernel. Both against
     * the host reference, every floating type and op, ragged column tiles and row chunks.
     */
    @Test
    void contiguousBiasShapesTakeTheColumnPackKernel() {
        CudaBackend b = gpu();
        long seed = new Random().nextLong();
        Random rnd = new Random(seed);
        boolean was = b.isKernelProfiling();
        int[][][] cases = {{{16384, 768}, {0}}, {{3, 4099, 64}, {0, 1}}, {{1000 + rnd.nextInt(1000), 776}, {0}}, {{77, 8}, {0}}};
        try {
            b.setKernelProfiling(true);
            for (DType t : new DType[]{DType.F32, DType.BF16, DType.F16})
                for (ReduceOp op : ReduceOp.values())
                    for (int[][] c : cases)
                        for (Layout l : new Layout[]{Layout.CONTIGUOUS, Layout.OFFSET, Layout.PADDED}) {
                            b.kernelProfile().reset();
                            try {
                                check(b, t, op, c[0], c[1], l, rnd);
                            } catch (AssertionError e) {
                                throw new AssertionError(e.getMessage() + " (seed " + seed + ")", e);
                            }
                            boolean packed = b.kernelProfile().rows().stream().anyMatch(r -> r.name().startsWith("reduce_cols_vec"));
                            assertEquals(l == Layout.CONTIGUOUS, packed, op + " " + t + " " + Arrays.toString(c[0]) + " " + l
                                    + ": column-pack kernel used? " + b.kernelProfile().rows());
                        }
        } finally {
            b.setKernelProfiling(was);
        }
    }

    @Test
    void nanPropagatesAndEmptyDims() {
        CudaBackend b = gpu();
        for (DType t : FLOATS) {
            double[] v = {1, Double.NaN, 3, -2, 5, 7};
            Tensor x = tensor(b, t, v, 2, 3);
            for (ReduceOp op : ReduceOp.values()) {
                Tensor out = output(b, t, 2, 1);
                b.reduce(op, x, new int[]{1}, out);
                assertSame(op + " NaN " + t, rounded(t, reduceRef(op, v, new int[]{2, 3}, new int[]{1})), values(out));
            }
            // Reducing an empty dim: the sum is 0 and the mean 0/0 = NaN.
            Tensor e = tensor(b, t, new double[0], 4, 0);
            Tensor s = output(b, t, 4, 1), m = output(b, t, 4, 1);
            b.reduce(ReduceOp.SUM, e, new int[]{1}, s);
            b.reduce(ReduceOp.MEAN, e, new int[]{1}, m);
            assertSame("empty sum " + t, new double[4], values(s));
            assertSame("empty mean " + t, new double[]{Double.NaN, Double.NaN, Double.NaN, Double.NaN}, values(m));
            // No outputs at all.
            Tensor z = tensor(b, t, new double[0], 0, 5);
            b.reduce(ReduceOp.SUM, z, new int[]{1}, output(b, t, 0, 1));
        }
    }

    // ---- argmax / argmin --------------------------------------------------------------------------------------------

    static double[] argRef(boolean max, double[] x, int[] shape, int dim) {
        int[] kept = shape.clone();
        kept[dim] = 1;
        int outN = (int) Shapes.numel(kept);
        double[] best = new double[outN];
        double[] arg = new double[outN];
        Arrays.fill(arg, -1);
        long[] ks = Shapes.contiguousStrides(kept);
        int[] idx = new int[shape.length];
        for (int i = 0; i < x.length; i++) {
            int o = 0;
            for (int d = 0; d < shape.length; d++) if (d != dim) o += idx[d] * ks[d];
            double v = x[i];
            if (arg[o] < 0) {
                best[o] = v;
                arg[o] = idx[dim];
            } else if (!Double.isNaN(best[o]) && (Double.isNaN(v) || (max ? v > best[o] : v < best[o]))) {
                best[o] = v;
                arg[o] = idx[dim];
            }
            for (int d = shape.length - 1; d >= 0; d--) {
                if (++idx[d] < shape[d]) break;
                idx[d] = 0;
            }
        }
        return arg;
    }

    @Test
    void argmaxArgminTiesAndNaN() {
        CudaBackend b = gpu();
        Random rnd = new Random(23);
        int[][][] cases = {{{7, 1023}, {1}}, {{4097, 33}, {0}}, {{5, 6, 7}, {1}}, {{1}, {0}}, {{3, 1}, {1}}, {{2, 5000}, {1}}};
        for (DType t : new DType[]{DType.F32, DType.F64, DType.BF16, DType.F16, DType.I32, DType.I64})
            for (boolean max : new boolean[]{true, false})
                for (int[][] c : cases)
                    for (Layout l : new Layout[]{Layout.CONTIGUOUS, Layout.PERMUTED}) {
                        int[] shape = c[0];
                        int dim = c[1][0];
                        int n = (int) Shapes.numel(shape);
                        double[] v = random(rnd, t, n, -3, 3);    // many ties
                        if (t.isFloatingPoint()) for (int i = 0; i < n; i += 97) v[i] = Double.NaN;
                        Tensor x = tensor(b, t, v, shape, l);
                        int[] ks = shape.clone();
                        ks[dim] = 1;
                        Tensor out = output(b, DType.I64, ks);
                        b.argReduce(max, x, dim, out);
                        assertSame((max ? "argmax " : "argmin ") + t + " " + Arrays.toString(shape) + " dim " + dim + " " + l,
                                argRef(max, v, shape, dim), values(out));
                        x.release();
                        out.release();
                    }
    }
}
