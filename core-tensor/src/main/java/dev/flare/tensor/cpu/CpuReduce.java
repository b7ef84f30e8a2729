package dev.flare.tensor.cpu;

import dev.flare.tensor.DType;
import dev.flare.tensor.Tensor;
import dev.flare.tensor.ops.ReduceOp;

/**
 * Reductions over dims (sum, mean, max, min) and argmax/argmin along one dim.
 *
 * <p>Accumulation: floating-point dtypes (F32, F64, BF16, F16) accumulate in double (plain summation in
 * double, with four interleaved partial sums on contiguous F32 rows; 53 bits leave F32 inputs a wide
 * margin, so no compensation is used); the mean divides the double sum by the element count and rounds
 * once to the output dtype. I32, I64 and BOOL accumulate in long (BOOL sums count the true elements).
 * MAX and MIN propagate NaN; argmax/argmin return the first index of the extreme value, and a NaN counts
 * as the extreme (the first NaN wins), as in PyTorch.
 *
 * <p>Layout: the kept and the reduced dims are each coalesced (size-1 dims dropped, dims contiguous with
 * each other merged). When the innermost x dim is a reduced one, each output is an independent fold over
 * rows ("row" strategy, parallel over outputs). When it is a kept one (for example summing a (B, N)
 * tensor over B), blocks of adjacent outputs are accumulated together while sweeping the reduced positions
 * ("column" strategy, parallel over output blocks), so memory is read in order.
 */
final class CpuReduce {
    private CpuReduce() {}

    private static final int B = Lanes.BLOCK;

    /** Dims as (sizes, strides per operand), outer to inner. */
    private record Dims(int[] sizes, long[][] strides) {
        int rank() { return sizes.length; }

        long count() {
            long n = 1;
            for (int s : sizes) n *= s;
            return n;
        }

        /** Offset of operand k at a row-major linear index of this space. */
        long offset(int k, long linear) {
            long o = 0;
            for (int d = sizes.length - 1; d >= 0; d--) {
                o += (linear % sizes[d]) * strides[k][d];
                linear /= sizes[d];
            }
            return o;
        }
    }

    /** Drops size-1 dims and merges a dim into the next inner one when every operand is contiguous across them. */
    private static Dims coalesce(int[] sizes, long[][] strides) {
        int k = strides.length, rank = 0;
        int[] outSizes = new int[sizes.length];
        long[][] outStrides = new long[k][sizes.length];
        for (int d = 0; d < sizes.length; d++) {
            if (sizes[d] == 1) continue;
            boolean merge = rank > 0;
            for (int i = 0; merge && i < k; i++) merge = outStrides[i][rank - 1] == strides[i][d] * sizes[d];
            if (merge) {
                outSizes[rank - 1] *= sizes[d];
                for (int i = 0; i < k; i++) outStrides[i][rank - 1] = strides[i][d];
            } else {
                outSizes[rank] = sizes[d];
                for (int i = 0; i < k; i++) outStrides[i][rank] = strides[i][d];
                rank++;
            }
        }
        long[][] st = new long[k][];
        for (int i = 0; i < k; i++) st[i] = java.util.Arrays.copyOf(outStrides[i], rank);
        return new Dims(java.util.Arrays.copyOf(outSizes, rank), st);
    }

    /** Steps through a Dims space in row-major order, tracking one operand's offset. */
    private static final class Odometer {
        final int[] sizes;
        final long[] strides;
        final int[] idx;
        long offset;

        Odometer(Dims dims, int operand, long base, long start) {
            sizes = dims.sizes();
            strides = dims.strides()[operand];
            idx = new int[sizes.length];
            offset = base;
            for (int d = sizes.length - 1; d >= 0; d--) {
                idx[d] = (int) (start % sizes[d]);
                start /= sizes[d];
                offset += idx[d] * strides[d];
            }
        }

        void next() {
            for (int d = sizes.length - 1; d >= 0; d--) {
                offset += strides[d];
                if (++idx[d] < sizes[d]) return;
                offset -= (long) sizes[d] * strides[d];
                idx[d] = 0;
            }
        }
    }

    /** Splits x's dims into kept (x and out strides) and reduced (x strides), each coalesced. */
    private static Dims[] split(Tensor x, boolean[] reduced, Tensor out) {
        int[] shape = x.shape();
        long[] xs = x.strides(), os = out.strides();
        int nr = 0;
        for (boolean b : reduced) if (b) nr++;
        int[] ks = new int[shape.length - nr], rs = new int[nr];
        long[][] kst = new long[2][shape.length - nr], rst = new long[1][nr];
        for (int d = 0, i = 0, j = 0; d < shape.length; d++) {
            if (reduced[d]) {
                rs[j] = shape[d];
                rst[0][j++] = xs[d];
            } else {
                ks[i] = shape[d];
                kst[0][i] = xs[d];
                kst[1][i++] = os[d];
            }
        }
        return new Dims[]{coalesce(ks, kst), coalesce(rs, rst)};
    }

    // ---- sum / mean / max / min --------------------------------------------------------------------------

    static void reduce(ReduceOp op, Tensor x, int[] dims, Tensor out) {
        boolean[] reduced = new boolean[x.dim()];
        long count = 1;
        for (int d : dims) {
            reduced[d] = true;
            count *= x.size(d);
        }
        if (out.numel() == 0) return;
        if (count == 0) {
            if (op == ReduceOp.MAX || op == ReduceOp.MIN)
                throw new IllegalArgumentException(op + ": cannot reduce over an empty dim");
            CpuElementwise.fill(out, op == ReduceOp.SUM ? 0 : Double.NaN);
            return;
        }
        Dims[] kr = split(x, reduced, out);
        Dims kept = kr[0], red = kr[1];
        long nOut = kept.count();
        boolean columns = kept.rank() > 0 && red.rank() > 0
                && Math.abs(kept.strides()[0][kept.rank() - 1]) < Math.abs(red.strides()[0][red.rank() - 1])
                && kept.sizes()[kept.rank() - 1] >= 16;
        Ctx c = new Ctx(op, x.dtype(), Lanes.array(x), out.dtype(), Lanes.array(out), count);
        if (columns) reduceColumns(c, kept, red, x.offset(), out.offset());
        else reduceRows(c, kept, red, x.offset(), out.offset(), nOut);
    }

    private record Ctx(ReduceOp op, DType t, Object xa, DType ot, Object oa, long count) {
        boolean integral() { return Lanes.integral(t); }
    }

    private static double initD(ReduceOp op) {
        return switch (op) {
            case SUM, MEAN -> 0;
            case MAX -> Double.NEGATIVE_INFINITY;
            case MIN -> Double.POSITIVE_INFINITY;
        };
    }

    private static long initL(ReduceOp op) {
        return switch (op) {
            case SUM, MEAN -> 0;
            case MAX -> Long.MIN_VALUE;
            case MIN -> Long.MAX_VALUE;
        };
    }

    /** Row strategy: each output folds its reduced elements; the innermost reduced dim is the run. */
    private static void reduceRows(Ctx c, Dims kept, Dims red, long xBase, long outBase, long nOut) {
        int rr = red.rank();
        int inner = rr == 0 ? 1 : red.sizes()[rr - 1];
        long innerStep = rr == 0 ? 0 : red.strides()[0][rr - 1];
        Dims outerRed = rr == 0 ? red
                : new Dims(java.util.Arrays.copyOf(red.sizes(), rr - 1), new long[][]{java.util.Arrays.copyOf(red.strides()[0], rr - 1)});
        long outerCount = outerRed.count();
        CpuThreads.parallelFor(Math.toIntExact(nOut), c.count() * 2, (from, to) -> {
            Lanes.Scratch s = Lanes.scratch();
            Odometer xo = new Odometer(kept, 0, xBase, from), oo = new Odometer(kept, 1, outBase, from);
            for (int o = from; o < to; o++, xo.next(), oo.next()) {
                Odometer r = new Odometer(outerRed, 0, xo.offset, 0);
                if (c.integral()) {
                    long acc = initL(c.op());
                    for (long q = 0; q < outerCount; q++, r.next()) acc = foldL(c, r.offset, innerStep, inner, acc, s.l0);
                    Lanes.setL(c.ot(), c.oa(), oo.offset, acc);
                } else {
                    double acc = initD(c.op());
                    for (long q = 0; q < outerCount; q++, r.next()) acc = foldD(c, r.offset, innerStep, inner, acc, s.d0);
                    Lanes.setD(c.ot(), c.oa(), oo.offset, c.op() == ReduceOp.MEAN ? acc / c.count() : acc);
                }
            }
        });
    }

    private static double foldD(Ctx c, long off, long step, int n, double acc, double[] buf) {
        ReduceOp op = c.op();
        if (c.t() == DType.F32 && step == 1 && (op == ReduceOp.SUM || op == ReduceOp.MEAN)) {
            float[] a = (float[]) c.xa();
            int o = (int) off, i = 0;
            double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
            for (; i + 3 < n; i += 4) {
                s0 += a[o + i];
                s1 += a[o + i + 1];
                s2 += a[o + i + 2];
                s3 += a[o + i + 3];
            }
            for (; i < n; i++) s0 += a[o + i];
            return acc + ((s0 + s1) + (s2 + s3));
        }
        for (int i = 0; i < n; i += B) {
            int m = Math.min(B, n - i);
            Lanes.loadD(c.t(), c.xa(), off + i * step, step, m, buf);
            switch (op) {
                case SUM, MEAN -> { for (int j = 0; j < m; j++) acc += buf[j]; }
                case MAX -> { for (int j = 0; j < m; j++) acc = Math.max(acc, buf[j]); }
                case MIN -> { for (int j = 0; j < m; j++) acc = Math.min(acc, buf[j]); }
            }
        }
        return acc;
    }

    private static long foldL(Ctx c, long off, long step, int n, long acc, long[] buf) {
        for (int i = 0; i < n; i += B) {
            int m = Math.min(B, n - i);
            Lanes.loadL(c.t(), c.xa(), off + i * step, step, m, buf);
            switch (c.op()) {
                case SUM, MEAN -> { for (int j = 0; j < m; j++) acc += buf[j]; }
                case MAX -> { for (int j = 0; j < m; j++) acc = Math.max(acc, buf[j]); }
                case MIN -> { for (int j = 0; j < m; j++) acc = Math.min(acc, buf[j]); }
            }
        }
        return acc;
    }

    /**
     * Column strategy: the innermost kept dim (length L) is cut into blocks; each task accumulates one block
     * of adjacent outputs over every reduced position, reading x along its fastest dim.
     */
    private static void reduceColumns(Ctx c, Dims kept, Dims red, long xBase, long outBase) {
        int kr = kept.rank();
        int len = kept.sizes()[kr - 1];
        long kx = kept.strides()[0][kr - 1], ko = kept.strides()[1][kr - 1];
        Dims outerKept = new Dims(java.util.Arrays.copyOf(kept.sizes(), kr - 1),
                new long[][]{java.util.Arrays.copyOf(kept.strides()[0], kr - 1), java.util.Arrays.copyOf(kept.strides()[1], kr - 1)});
        int blocks = Math.ceilDiv(len, B);
        long outer = outerKept.count();
        long positions = red.count();
        CpuThreads.parallelFor(Math.toIntExact(outer * blocks), positions * B * 2, (from, to) -> {
            Lanes.Scratch s = Lanes.scratch();
            for (int task = from; task < to; task++) {
                long oi = task / blocks;
                int c0 = (task % blocks) * B, m = Math.min(B, len - c0);
                long xRow = xBase + outerKept.offset(0, oi) + c0 * kx;
                long oRow = outBase + outerKept.offset(1, oi) + c0 * ko;
                Odometer r = new Odometer(red, 0, xRow, 0);
                if (c.integral()) {
                    long[] acc = s.l2;
                    java.util.Arrays.fill(acc, 0, m, initL(c.op()));
                    for (long q = 0; q < positions; q++, r.next()) {
                        Lanes.loadL(c.t(), c.xa(), r.offset, kx, m, s.l0);
                        accumulateL(c.op(), acc, s.l0, m);
                    }
                    Lanes.storeL(acc, m, c.ot(), c.oa(), oRow, ko);
                } else {
                    double[] acc = s.d2;
                    java.util.Arrays.fill(acc, 0, m, initD(c.op()));
                    boolean f32Sum = c.t() == DType.F32 && kx == 1 && (c.op() == ReduceOp.SUM || c.op() == ReduceOp.MEAN);
                    for (long q = 0; q < positions; q++, r.next()) {
                        if (f32Sum) {
                            float[] a = (float[]) c.xa();
                            int o = (int) r.offset;
                            for (int j = 0; j < m; j++) acc[j] += a[o + j];
                        } else {
                            Lanes.loadD(c.t(), c.xa(), r.offset, kx, m, s.d0);
                            accumulateD(c.op(), acc, s.d0, m);
                        }
                    }
                    if (c.op() == ReduceOp.MEAN) for (int j = 0; j < m; j++) acc[j] /= c.count();
                    Lanes.storeD(acc, m, c.ot(), c.oa(), oRow, ko);
                }
            }
        });
    }

    private static void accumulateD(ReduceOp op, double[] acc, double[] v, int m) {
        switch (op) {
            case SUM, MEAN -> { for (int j = 0; j < m; j++) acc[j] += v[j]; }
            case MAX -> { for (int j = 0; j < m; j++) acc[j] = Math.max(acc[j], v[j]); }
            case MIN -> { for (int j = 0; j < m; j++) acc[j] = Math.min(acc[j], v[j]); }
        }
    }

    private static void accumulateL(ReduceOp op, long[] acc, long[] v, int m) {
        switch (op) {
            case SUM, MEAN -> { for (int j = 0; j < m; j++) acc[j] += v[j]; }
            case MAX -> { for (int j = 0; j < m; j++) acc[j] = Math.max(acc[j], v[j]); }
            case MIN -> { for (int j = 0; j < m; j++) acc[j] = Math.min(acc[j], v[j]); }
        }
    }

    // ---- argmax / argmin -----------------------------------------------------------------------------------

    static void argReduce(boolean max, Tensor x, int dim, Tensor out) {
        int n = x.size(dim);
        if (out.numel() == 0) return;
        if (n == 0) throw new IllegalArgumentException((max ? "argmax" : "argmin") + ": dim " + dim + " is empty");
        boolean[] reduced = new boolean[x.dim()];
        reduced[dim] = true;
        Dims kept = split(x, reduced, out)[0];
        long step = x.stride(dim);
        DType t = x.dtype();
        Object xa = Lanes.array(x);
        long[] oa = (long[]) Lanes.array(out);
        long xBase = x.offset(), outBase = out.offset();
        CpuThreads.parallelFor(Math.toIntExact(kept.count()), 2L * n, (from, to) -> {
            Lanes.Scratch s = Lanes.scratch();
            Odometer xo = new Odometer(kept, 0, xBase, from), oo = new Odometer(kept, 1, outBase, from);
            for (int o = from; o < to; o++, xo.next(), oo.next()) {
                oa[(int) oo.offset] = Lanes.integral(t) ? argL(max, t, xa, xo.offset, step, n, s.l0)
                        : argD(max, t, xa, xo.offset, step, n, s.d0);
            }
        });
    }

    private static long argD(boolean max, DType t, Object xa, long off, long step, int n, double[] buf) {
        double best = 0;
        long bestIdx = -1;
        for (int i = 0; i < n; i += B) {
            int m = Math.min(B, n - i);
            Lanes.loadD(t, xa, off + i * step, step, m, buf);
            int j = 0;
            if (bestIdx < 0) {
                best = buf[0];
                bestIdx = 0;
                j = 1;
            }
            if (best != best) return bestIdx;          // a NaN is the answer; nothing can replace it
            for (; j < m; j++) {
                double v = buf[j];
                if (v != v) return i + j;
                if (max ? v > best : v < best) {
                    best = v;
                    bestIdx = i + j;
                }
            }
        }
        return bestIdx;
    }

    private static long argL(boolean max, DType t, Object xa, long off, long step, int n, long[] buf) {
        long best = max ? Long.MIN_VALUE : Long.MAX_VALUE;
        long bestIdx = 0;
        for (int i = 0; i < n; i += B) {
            int m = Math.min(B, n - i);
            Lanes.loadL(t, xa, off + i * step, step, m, buf);
            for (int j = 0; j < m; j++) {
                long v = buf[j];
                if (max ? v > best : v < best) {
                    best = v;
                    bestIdx = i + j;
                }
            }
        }
        return bestIdx;
    }
}
