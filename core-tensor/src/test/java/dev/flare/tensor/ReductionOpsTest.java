package dev.flare.tensor;

import dev.flare.tensor.TestTensors.Kind;
import dev.flare.tensor.ops.ReduceOp;
import dev.flare.tensor.ops.Reductions;
import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** sum/mean/max/min over dims, argmax/argmin and var against nested-loop references. */
class ReductionOpsTest {
    private final TestTensors r = new TestTensors();

    /** Reference reduction: out[keep-index] folds every x element whose kept coordinates match. */
    static double[] refReduce(ReduceOp op, double[] x, int[] shape, int[] dims, double[] absSum) {
        boolean[] red = new boolean[shape.length];
        for (int d : dims) red[d] = true;
        int[] kept = shape.clone();
        long count = 1;
        for (int d : dims) {
            kept[d] = 1;
            count *= shape[d];
        }
        double[] out = new double[(int) TestTensors.numel(kept)];
        double init = switch (op) {
            case SUM, MEAN -> 0;
            case MAX -> Double.NEGATIVE_INFINITY;
            case MIN -> Double.POSITIVE_INFINITY;
        };
        Arrays.fill(out, init);
        for (int f = 0; f < x.length; f++) {
            int[] idx = TestTensors.unravel(f, shape);
            for (int d = 0; d < idx.length; d++) if (red[d]) idx[d] = 0;
            int o = TestTensors.ravel(idx, kept);
            double v = x[f];
            absSum[o] += Math.abs(v);
            out[o] = switch (op) {
                case SUM, MEAN -> out[o] + v;
                case MAX -> Double.isNaN(v) || Double.isNaN(out[o]) ? Double.NaN : Math.max(out[o], v);
                case MIN -> Double.isNaN(v) || Double.isNaN(out[o]) ? Double.NaN : Math.min(out[o], v);
            };
        }
        if (op == ReduceOp.MEAN) for (int i = 0; i < out.length; i++) out[i] /= count;
        return out;
    }

    private int[] randomDims(int rank) {
        int[] all = new int[rank];
        for (int i = 0; i < rank; i++) all[i] = i;
        for (int i = rank - 1; i > 0; i--) {
            int j = r.nextInt(0, i + 1), t = all[i];
            all[i] = all[j];
            all[j] = t;
        }
        int[] dims = Arrays.copyOf(all, r.nextInt(1, rank + 1));
        for (int i = 0; i < dims.length; i++) if (r.chance(0.3)) dims[i] -= rank;   // negative dims too
        return dims;
    }

    @Test
    void reductionsOverRandomDimsMatchTheReference() {
        checkRandomReductions(8, false);
    }

    /** Wide inner dims (up to 300): exercises the column strategy, with several output blocks. */
    @Test
    void reductionsOfWideTensorsMatchTheReference() {
        checkRandomReductions(2, true);
    }

    private void checkRandomReductions(int trials, boolean wide) {
        for (ReduceOp op : ReduceOp.values()) {
            for (DType dt : DType.values()) {
                if (dt == DType.BOOL && op != ReduceOp.SUM) continue;
                if (op == ReduceOp.MEAN && !dt.isFloatingPoint()) continue;
                for (int trial = 0; trial < trials; trial++) {
                    int[] s0 = wide ? (r.chance(0.5) ? new int[]{r.nextInt(1, 6), r.nextInt(16, 300)}
                            : new int[]{r.nextInt(1, 4), r.nextInt(1, 5), r.nextInt(16, 300)})
                            : r.shape(4, 7, op == ReduceOp.MAX || op == ReduceOp.MIN ? 0 : 0.08);
                    int[] shape = s0.length == 0 ? new int[]{r.nextInt(1, 5)} : s0;
                    int[] dims = randomDims(shape.length);
                    boolean keep = r.chance(0.5);
                    Kind kind = trial == 7 && dt.isFloatingPoint() ? Kind.SPECIAL : trial % 2 == 0 ? Kind.TIES : Kind.NORMAL;
                    double[] x = r.values(dt, (int) TestTensors.numel(shape), kind);
                    Tensor t = wide && r.chance(0.5) ? TestTensors.contiguous(x, shape, dt) : r.tensor(x, shape, dt);
                    int[] norm = Arrays.stream(dims).map(d -> d < 0 ? d + t.dim() : d).sorted().toArray();
                    int[] keptShape = shape.clone();
                    for (int d : norm) keptShape[d] = 1;
                    double[] absSum = new double[(int) TestTensors.numel(keptShape)];
                    double[] ref = refReduce(op, x, shape, norm, absSum);
                    Tensor y = Reductions.reduce(op, t, dims, keep);
                    DType outType = dt == DType.BOOL ? DType.I64 : dt;
                    assertEquals(outType, y.dtype(), r.at(op + " result dtype for " + dt));
                    int[] outShape = shape.clone();
                    for (int d : norm) outShape[d] = 1;
                    if (!keep) outShape = Arrays.stream(range(shape.length)).filter(d -> Arrays.binarySearch(norm, d) < 0).map(d -> shape[d]).toArray();
                    String what = op + " " + dt + " " + Shapes.str(shape) + " dims " + Arrays.toString(dims) + " keep " + keep;
                    assertEquals(Shapes.str(outShape), Shapes.str(y.shape()), r.at(what + ": shape"));
                    double[] got = TestTensors.read(y);
                    double rtol = switch (outType) {
                        case F32 -> 1e-6;
                        case BF16 -> 8e-3;
                        case F16 -> 1e-3;
                        case F64 -> 1e-12;
                        default -> 0;
                    };
                    for (int i = 0; i < ref.length; i++) {
                        double e = TestTensors.round(outType, ref[i]);
                        double tol = op == ReduceOp.MAX || op == ReduceOp.MIN ? 0 : rtol * (absSum[i] + Math.abs(e));
                        r.assertClose(new double[]{e}, new double[]{got[i]}, 0, tol, what + " output " + i);
                    }
                }
            }
        }
    }

    private static int[] range(int n) {
        int[] a = new int[n];
        for (int i = 0; i < n; i++) a[i] = i;
        return a;
    }

    @Test
    void reduceAllGivesA0dTensorIncluding0dInputs() {
        Tensor x = Tensor.fromArray(new float[]{1, 2, 3, 4, 5, 6}, 2, 3).t();
        assertEquals(0, x.sum().dim(), r.at("sum() is 0-d"));
        assertEquals(21.0, x.sum().item(), r.at("sum()"));
        assertEquals(3.5, x.mean().item(), r.at("mean()"));
        assertEquals(6.0, x.max().item(), r.at("max()"));
        assertEquals(1.0, x.min().item(), r.at("min()"));
        Tensor s = Tensor.scalar(7);
        assertEquals(7.0, s.sum().item(), r.at("sum of a 0-d tensor"));
        assertEquals(0, s.sum().dim(), r.at("sum of a 0-d tensor is 0-d"));
        assertEquals(3.0, Tensor.fromArray(new boolean[]{true, false, true, true}).sum().item(), r.at("BOOL sum counts trues"));
        assertEquals(DType.I64, Tensor.fromArray(new boolean[]{true}).sum().dtype(), r.at("BOOL sum is I64"));
    }

    @Test
    void emptyReductionsGiveZeroSumAndNaNMean() {
        Tensor e = Tensor.zeros(3, 0);
        r.assertExact(new double[]{0, 0, 0}, TestTensors.read(e.sum(1, false)), "sum over an empty dim");
        r.assertExact(new double[]{Double.NaN, Double.NaN, Double.NaN}, TestTensors.read(e.mean(1, false)), "mean over an empty dim");
        assertArrayEquals(new int[]{0}, e.sum(0, false).shape(), r.at("sum over a non-empty dim of an empty tensor"));
    }

    @Test
    void integerSumsAreExactInLong() {
        long big = 1L << 60;
        Tensor l = Tensor.fromArray(new long[]{big, 1, big, -big}, 2, 2);
        assertArrayEquals(new long[]{2 * big, 1 - big}, l.sum(0, false).toLongArray(), r.at("I64 column sums"));
        assertArrayEquals(new long[]{big + 1, 0}, l.sum(1, false).toLongArray(), r.at("I64 row sums"));
        assertEquals(-big, l.min().item(), r.at("I64 min"));
    }

    @Test
    void largeReductionsOfLastAndLeadingDimsUseEveryLayoutCorrectly() {
        int m = 300, n = 257;
        double[] x = r.values(DType.F32, m * n, Kind.NORMAL);
        Tensor t = TestTensors.contiguous(x, new int[]{m, n}, DType.F32);
        double[] rows = new double[m], cols = new double[n], rowMax = new double[m];
        Arrays.fill(rowMax, Double.NEGATIVE_INFINITY);
        double total = 0;
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) {
                double v = x[i * n + j];
                rows[i] += v;
                cols[j] += v;
                rowMax[i] = Math.max(rowMax[i], v);
                total += v;
            }
        r.assertClose(TestTensors.roundAll(DType.F32, rows), TestTensors.read(t.sum(1, false)), 1e-6, 1e-4, "row sums");
        r.assertClose(TestTensors.roundAll(DType.F32, cols), TestTensors.read(t.sum(0, false)), 1e-6, 1e-4, "column sums");
        r.assertClose(TestTensors.roundAll(DType.F32, cols), TestTensors.read(t.t().sum(1, false)), 1e-6, 1e-4, "row sums of the transpose");
        r.assertExact(rowMax, TestTensors.read(t.max(1, false)), "row max");
        r.assertClose(new double[]{(float) (total / (m * n))}, new double[]{t.mean().item()}, 1e-6, 1e-7, "mean of all");
        Tensor bf = t.to(DType.BF16);
        double[] bx = TestTensors.read(bf), bcols = new double[n];
        for (int i = 0; i < m; i++) for (int j = 0; j < n; j++) bcols[j] += bx[i * n + j];
        r.assertClose(TestTensors.roundAll(DType.BF16, bcols), TestTensors.read(bf.sum(0, false)), 8e-3, 0.05, "BF16 column sums");
    }

    static long refArg(boolean max, double[] v) {
        int best = 0;
        for (int i = 0; i < v.length; i++) {
            if (Double.isNaN(v[best])) return best;
            if (Double.isNaN(v[i])) return i;
            if (max ? v[i] > v[best] : v[i] < v[best]) best = i;
        }
        return best;
    }

    @Test
    void argmaxAndArgminReturnTheFirstExtremeAndNaNWins() {
        for (DType dt : new DType[]{DType.F32, DType.F64, DType.BF16, DType.F16, DType.I32, DType.I64}) {
            for (int trial = 0; trial < 8; trial++) {
                int[] shape = r.shape(4, 6, 0);
                if (shape.length == 0) shape = new int[]{r.nextInt(1, 6)};
                int dim = r.nextInt(0, shape.length);
                boolean max = r.chance(0.5), keep = r.chance(0.5);
                Kind kind = trial == 7 && dt.isFloatingPoint() ? Kind.SPECIAL : Kind.TIES;
                double[] x = r.values(dt, (int) TestTensors.numel(shape), kind);
                Tensor t = r.tensor(x, shape, dt);
                Tensor y = max ? t.argmax(dim - (r.chance(0.5) ? shape.length : 0), keep) : t.argmin(dim, keep);
                assertEquals(DType.I64, y.dtype(), r.at("arg result dtype"));
                int[] kept = shape.clone();
                kept[dim] = 1;
                double[] expected = new double[(int) TestTensors.numel(kept)];
                for (int o = 0; o < expected.length; o++) {
                    int[] idx = TestTensors.unravel(o, kept);
                    double[] line = new double[shape[dim]];
                    for (int k = 0; k < line.length; k++) {
                        idx[dim] = k;
                        line[k] = x[TestTensors.ravel(idx, shape)];
                    }
                    expected[o] = refArg(max, line);
                }
                String what = (max ? "argmax " : "argmin ") + dt + " " + Shapes.str(shape) + " dim " + dim;
                r.assertExact(expected, TestTensors.read(y), what);
                assertEquals(keep ? shape.length : shape.length - 1, y.dim(), r.at(what + ": rank"));
            }
        }
    }

    @Test
    void varMatchesTwoPassReferenceWithCorrection() {
        for (DType dt : new DType[]{DType.F32, DType.F64}) {
            for (int trial = 0; trial < 6; trial++) {
                int[] shape = {r.nextInt(1, 5), r.nextInt(2, 7), r.nextInt(1, 4)};
                int[] dims = randomDims(3);
                int correction = r.nextInt(0, 2);
                double[] x = r.values(dt, (int) TestTensors.numel(shape), Kind.NORMAL);
                Tensor t = r.tensor(x, shape, dt);
                int[] norm = Arrays.stream(dims).map(d -> d < 0 ? d + 3 : d).sorted().toArray();
                double[] abs = new double[x.length];
                double[] mean = refReduce(ReduceOp.MEAN, x, shape, norm, abs);
                int[] kept = shape.clone();
                long n = 1;
                for (int d : norm) {
                    kept[d] = 1;
                    n *= shape[d];
                }
                double[] sq = new double[mean.length];
                for (int f = 0; f < x.length; f++) {
                    int[] idx = TestTensors.unravel(f, shape);
                    for (int d : norm) idx[d] = 0;
                    int o = TestTensors.ravel(idx, kept);
                    sq[o] += (x[f] - mean[o]) * (x[f] - mean[o]);
                }
                long div = Math.max(n - correction, 0);
                double[] expected = TestTensors.map(sq, v -> v / div);
                Tensor v = t.var(dims, correction, true);
                // Composed from F32 ops (mean, sub, square, sum, div): a few roundings, so a looser tolerance.
                assertEquals(Shapes.str(kept), Shapes.str(v.shape()), r.at("var shape"));
                r.assertClose(expected, TestTensors.read(v), dt == DType.F32 ? 1e-5 : 1e-12, 1e-6, "var " + dt + " dims " + Arrays.toString(dims));
                assertTrue(v.dtype() == dt, r.at("var dtype"));
            }
        }
    }

    @Test
    void maxAndMinPropagateNaN() {
        Tensor x = Tensor.fromArray(new float[]{1, Float.NaN, 3, 4, 5, 6}, 2, 3);
        r.assertExact(new double[]{Double.NaN, 6}, TestTensors.read(x.max(1, false)), "row max with NaN");
        r.assertExact(new double[]{1, Double.NaN, 3}, TestTensors.read(x.min(0, false)), "column min with NaN");
        assertTrue(Double.isNaN(x.sum().item()), r.at("sum with NaN"));
    }
}
