package dev.flare.attention;

import dev.flare.tensor.cpu.CpuGemm;
import dev.flare.tensor.cpu.CpuThreads;
import dev.flare.tensor.cpu.RowExp;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.VectorSpecies;

import java.util.Arrays;

/**
 * The FLASH_CPU loops over contiguous double[] (F64 inputs). {@link FlashCpuKernelF32} is the same code over
 * float[], generated from this file (see its header): edit here, then regenerate it.
 * Layouts: q (B, Hq, Sq, D), k (B, Hkv, Sk, D), v (B, Hkv, Sk, Dv), o (B, Hq, Sq, Dv), lse (B, Hq, Sq).
 *
 * <p>Tiles: BLOCK_Q query rows against BLOCK_K keys, as the CUDA kernels. A tile's products (S = Q K^T,
 * dP~ = dO V^T, O += P V, dV += (P Z)^T dO, dK += dS^T Q, dQ += dS K) run on the CPU GEMM, which reads K, V and
 * the weight tiles transposed in place through strides; at tile sizes it stays on the calling thread, and the
 * tiles are what runs in parallel. Softmax, mask and dropout are elementwise passes over the tile in between.
 */
final class FlashCpuKernelF64 {
    static final int BLOCK_Q = 64;
    static final int BLOCK_K = 64;

    private final AttentionParams p;
    final double[] q, k, v, o, lse;

    FlashCpuKernelF64(AttentionParams p, double[] q, double[] k, double[] v) {
        this.p = p;
        this.q = q;
        this.k = k;
        this.v = v;
        this.o = new double[p.b() * p.hq() * p.sq() * p.dv()];
        this.lse = new double[p.b() * p.hq() * p.sq()];
    }

    private static final VectorSpecies<Double> SPECIES = DoubleVector.SPECIES_PREFERRED;

    /** sum_e a[ao + e] * b[bo + e] over n elements (Vector API, fixed order). */
    private static double dot(double[] a, int ao, double[] b, int bo, int n) {
        int e = 0, upper = SPECIES.loopBound(n);
        double acc = 0;
        if (upper > 0) {
            DoubleVector sum = DoubleVector.zero(SPECIES);
            for (; e < upper; e += SPECIES.length())
                sum = DoubleVector.fromArray(SPECIES, a, ao + e).fma(DoubleVector.fromArray(SPECIES, b, bo + e), sum);
            // lane by lane: reduceLanes(ADD) leaves the order open, and the JIT-compiled intrinsic and the
            // interpreter's fallback differ, which made results change with warm-up
            for (int l = 0; l < SPECIES.length(); l++) acc += sum.lane(l);
        }
        for (; e < n; e++) acc += a[ao + e] * b[bo + e];
        return acc;
    }

    /**
     * tile (rows x n, row stride BLOCK_K) = x rows [x0, x0 + rows) (width w, contiguous) times the transpose of y rows
     * [y0, y0 + n) (width w): S = Q K^T and dP~ = dO V^T, y read transposed in place.
     */
    private static void timesTransposed(double[] x, int x0, int rows, double[] y, int y0, int n, int w, double[] tile) {
        CpuGemm.gemm(1, rows, n, w, x, (long) x0 * w, 0, w, 1, y, (long) y0 * w, 0, 1, w, tile, 0, 0, BLOCK_K, 1, false);
    }

    /** out rows [o0, o0 + rows) (width w) += tile (rows x n) times y rows [y0, y0 + n) (width w): O += P V, dQ += dS K. */
    private static void addTimes(double[] tile, int rows, int n, double[] y, int y0, int w, double[] out, int o0) {
        CpuGemm.gemm(1, rows, w, n, tile, 0, 0, BLOCK_K, 1, y, (long) y0 * w, 0, w, 1, out, (long) o0 * w, 0, w, 1, true);
    }

    /**
     * out rows [o0, o0 + n) (width w) += the transpose of tile (rows x n) times x rows [x0, x0 + rows) (width w):
     * dV += (P Z)^T dO and dK += dS^T Q, the tile read transposed in place.
     */
    private static void addTransposedTimes(double[] tile, int rows, int n, double[] x, int x0, int w, double[] out, int o0) {
        CpuGemm.gemm(1, n, w, rows, tile, 0, 0, 1, BLOCK_K, x, (long) x0 * w, 0, w, 1, out, (long) o0 * w, 0, w, 1, true);
    }

    /** Number of keys visible to query i (keys [0, limit)). */
    private int limit(int i) {
        return p.causal() ? Math.max(0, Math.min(p.sk(), i + p.shift() + 1)) : p.sk();
    }

    void forward() {
        int nqb = Math.ceilDiv(p.sq(), BLOCK_Q);
        long cost = (long) BLOCK_Q * p.sk() * (p.d() + p.dv());
        CpuThreads.parallelFor(p.b() * p.hq() * nqb, cost, (from, to) -> {
            double[] m = new double[BLOCK_Q], l = new double[BLOCK_Q], acc = new double[BLOCK_Q * p.dv()];
            double[] s = new double[BLOCK_Q * BLOCK_K];
            boolean[] keep = new boolean[BLOCK_K];
            int[] scratch = new int[4];
            for (int t = from; t < to; t++) forwardBlock(t / nqb / p.hq(), t / nqb % p.hq(), t % nqb, m, l, acc, s, keep, scratch);
        });
    }

    private void forwardBlock(int b, int h, int qb, double[] m, double[] l, double[] acc, double[] s, boolean[] keep,
                              int[] scratch) {
        final int d = p.d(), dv = p.dv(), sq = p.sq(), sk = p.sk();
        int i0 = qb * BLOCK_Q, i1 = Math.min(sq, i0 + BLOCK_Q), rows = i1 - i0;
        int kvh = h / p.group();
        int qBase = (b * p.hq() + h) * sq;
        int kBase = (b * p.hkv() + kvh) * sk;
        Arrays.fill(m, 0, rows, Double.NEGATIVE_INFINITY);
        Arrays.fill(l, 0, rows, 0);
        Arrays.fill(acc, 0, rows * dv, 0);
        int jEnd = limit(i1 - 1);               // key blocks past the last row's limit lie above the diagonal: skipped
        final double scale = (double) p.scale(), ks = (double) p.keepScale();
        final boolean dropout = p.dropout();
        int th = dropout ? p.threshold() : 0;
        for (int j0 = 0; j0 < jEnd; j0 += BLOCK_K) {
            int n = Math.min(jEnd, j0 + BLOCK_K) - j0;
            timesTransposed(q, qBase + i0, rows, k, kBase + j0, n, d, s);
            // s row r becomes the tile's P (Z applied) for the rescaled online softmax; keys a row cannot see get 0
            for (int r = 0; r < rows; r++) {
                int i = i0 + r, so = r * BLOCK_K;
                int lim = Math.min(n, limit(i) - j0);
                if (lim <= 0) {
                    Arrays.fill(s, so, so + n, 0);
                    continue;
                }
                double tileMax = Double.NEGATIVE_INFINITY;
                for (int jj = 0; jj < lim; jj++) {
                    double sc = s[so + jj] * scale;
                    s[so + jj] = sc;
                    if (sc > tileMax) tileMax = sc;
                }
                double mOld = m[r], mNew = Math.max(mOld, tileMax);
                double alpha = mOld == Double.NEGATIVE_INFINITY ? 0 : (double) Math.exp(mOld - mNew);
                int ao = r * dv;
                if (alpha != 1) {
                    l[r] *= alpha;
                    for (int e = 0; e < dv; e++) acc[ao + e] *= alpha;
                }
                if (dropout) AttentionDropout.keepRow(p.seed(), p.offset(), b, h, p.hq(), i, j0, lim, th, keep, scratch);
                // P = exp(s - m) in place; F32 on vector lanes (RowExp): scalar Math.exp took about 30% of FLASH_CPU
                l[r] += (double) RowExp.expScaledShifted(s, so, 1, mNew, s, so, lim);
                if (dropout) for (int jj = 0; jj < lim; jj++) s[so + jj] = keep[jj] ? s[so + jj] * ks : 0;
                Arrays.fill(s, so + lim, so + n, 0);
                m[r] = mNew;
            }
            addTimes(s, rows, n, v, kBase + j0, dv, acc, 0);
        }
        for (int r = 0; r < rows; r++) {
            int row = qBase + i0 + r, oo = row * dv;
            if (l[r] == 0) {           // no visible key: output 0 (documented), lse -inf
                Arrays.fill(o, oo, oo + dv, 0);
                lse[row] = Double.NEGATIVE_INFINITY;
                continue;
            }
            double inv = 1 / l[r];
            for (int e = 0; e < dv; e++) o[oo + e] = acc[r * dv + e] * inv;
            lse[row] = m[r] + (double) Math.log(l[r]);
        }
    }

    /**
     * The weights of one tile of head h (batch b): query rows [i0, i0 + rows) against keys [j0, j0 + n). On entry s
     * holds the scores Q K^T and dp the products dO V^T (rows x n, row stride BLOCK_K); on return s holds P Z (dV's
     * weight) and dp holds scale dS (dK's and dQ's weight), both 0 where a row cannot see the key (and on rows with
     * no visible key at all). Both backward passes take their weights from here.
     */
    private void weights(int b, int h, int i0, int rows, int j0, int n, double[] s, double[] dp, double[] delta,
                         boolean[] keep, int[] scratch) {
        boolean dropout = p.dropout();
        double scale = (double) p.scale(), ks = (double) p.keepScale();
        for (int r = 0; r < rows; r++) {
            int i = i0 + r, row = (b * p.hq() + h) * p.sq() + i, so = r * BLOCK_K;
            double li = lse[row];
            int vis = li == Double.NEGATIVE_INFINITY ? 0 : Math.max(0, Math.min(n, limit(i) - j0));
            if (dropout && vis > 0) AttentionDropout.keepRow(p.seed(), p.offset(), b, h, p.hq(), i, j0, vis, p.threshold(), keep, scratch);
            RowExp.expScaledShifted(s, so, scale, li, s, so, vis);     // P, from the scores and the saved logsumexp
            for (int jj = 0; jj < vis; jj++) {
                double pr = s[so + jj];
                double z = dropout ? (keep[jj] ? ks : 0) : 1;
                dp[so + jj] = pr * (dp[so + jj] * z - delta[row]) * scale;
                s[so + jj] = pr * z;
            }
            Arrays.fill(s, so + vis, so + n, 0);
            Arrays.fill(dp, so + vis, so + n, 0);
        }
    }

    /** Returns {dq, dk, dv} (null where not wanted) for the output gradient dO (B, Hq, Sq, Dv). */
    double[][] backward(double[] dO, boolean wantQ, boolean wantKV) {
        final int d = p.d(), dv = p.dv(), sq = p.sq(), sk = p.sk(), g = p.group();
        // delta_i = rowsum(dO_i * O_i) (= sum_j P_ij dP_ij, dropout included)
        double[] delta = new double[p.b() * p.hq() * sq];
        for (int row = 0; row < delta.length; row++) delta[row] = dot(dO, row * dv, o, row * dv, dv);
        double[] dq = wantQ ? new double[q.length] : null;
        double[] dk = wantKV ? new double[k.length] : null;
        double[] dvv = wantKV ? new double[v.length] : null;
        long cost = (long) BLOCK_K * sq * g * (2L * d + 2L * dv);
        if (wantKV) {
            // a key block per task: its dK and dV rows are summed over every query tile that sees them, in order
            int nkb = Math.ceilDiv(sk, BLOCK_K);
            CpuThreads.parallelFor(p.b() * p.hkv() * nkb, cost, (from, to) -> {
                boolean[] keep = new boolean[BLOCK_K];
                int[] scratch = new int[4];
                double[] s = new double[BLOCK_Q * BLOCK_K], dp = new double[BLOCK_Q * BLOCK_K];
                for (int t = from; t < to; t++) {
                    int b = t / nkb / p.hkv(), kvh = t / nkb % p.hkv(), kb = t % nkb;
                    int j0 = kb * BLOCK_K, n = Math.min(sk, j0 + BLOCK_K) - j0;
                    int kBase = (b * p.hkv() + kvh) * sk;
                    for (int h = kvh * g; h < kvh * g + g; h++) {
                        int qBase = (b * p.hq() + h) * sq;
                        int iStart = p.causal() ? Math.max(0, j0 - p.shift()) : 0;
                        for (int i0 = iStart; i0 < sq; i0 += BLOCK_Q) {
                            int rows = Math.min(sq, i0 + BLOCK_Q) - i0;
                            timesTransposed(q, qBase + i0, rows, k, kBase + j0, n, d, s);
                            timesTransposed(dO, qBase + i0, rows, v, kBase + j0, n, dv, dp);
                            weights(b, h, i0, rows, j0, n, s, dp, delta, keep, scratch);
                            addTransposedTimes(s, rows, n, dO, qBase + i0, dv, dvv, kBase + j0);
                            addTransposedTimes(dp, rows, n, q, qBase + i0, d, dk, kBase + j0);
                        }
                    }
                }
            });
        }
        if (wantQ) {
            // a query tile per task: its dQ rows are summed over the key blocks in order
            int nqb = Math.ceilDiv(sq, BLOCK_Q);
            CpuThreads.parallelFor(p.b() * p.hq() * nqb, cost / g, (from, to) -> {
                boolean[] keep = new boolean[BLOCK_K];
                int[] scratch = new int[4];
                double[] s = new double[BLOCK_Q * BLOCK_K], dp = new double[BLOCK_Q * BLOCK_K];
                for (int t = from; t < to; t++) {
                    int b = t / nqb / p.hq(), h = t / nqb % p.hq(), qb = t % nqb;
                    int kBase = (b * p.hkv() + h / g) * sk, qBase = (b * p.hq() + h) * sq;
                    int i0 = qb * BLOCK_Q, rows = Math.min(sq, i0 + BLOCK_Q) - i0;
                    int jEnd = p.causal() ? limit(i0 + rows - 1) : sk;
                    for (int j0 = 0; j0 < jEnd; j0 += BLOCK_K) {
                        int n = Math.min(jEnd, j0 + BLOCK_K) - j0;
                        timesTransposed(q, qBase + i0, rows, k, kBase + j0, n, d, s);
                        timesTransposed(dO, qBase + i0, rows, v, kBase + j0, n, dv, dp);
                        weights(b, h, i0, rows, j0, n, s, dp, delta, keep, scratch);
                        addTimes(dp, rows, n, k, kBase + j0, d, dq, qBase + i0);
                    }
                }
            });
        }
        return new double[][]{dq, dk, dvv};
    }
}
