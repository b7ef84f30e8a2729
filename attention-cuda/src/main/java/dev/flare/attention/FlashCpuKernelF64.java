package dev.flare.attention;

import dev.flare.tensor.cpu.CpuThreads;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.VectorSpecies;

import java.util.Arrays;

/**
 * The FLASH_CPU loops over contiguous double[] (F64 inputs). {@link FlashCpuKernelF32} is the same code over
 * float[], generated from this file (see its header): edit here, then regenerate it.
 * Layouts: q (B, Hq, Sq, D), k (B, Hkv, Sk, D), v (B, Hkv, Sk, Dv), o (B, Hq, Sq, Dv), lse (B, Hq, Sq).
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

    /** y[yo + e] += w * x[xo + e] over n elements. */
    private static void axpy(double w, double[] x, int xo, double[] y, int yo, int n) {
        int e = 0, upper = SPECIES.loopBound(n);
        DoubleVector wv = DoubleVector.broadcast(SPECIES, w);
        for (; e < upper; e += SPECIES.length())
            DoubleVector.fromArray(SPECIES, x, xo + e).fma(wv, DoubleVector.fromArray(SPECIES, y, yo + e)).intoArray(y, yo + e);
        for (; e < n; e++) y[yo + e] += w * x[xo + e];
    }

    /**
     * Rows [j0, j0 + n) of x (rows of width w, from row base) transposed into xt: xt[e * BLOCK_K + jj] = x[base + j0
     * + jj][e]. A key block transposed once serves every query row of a tile: its scores are then vector FMAs across
     * keys ({@link #dots}) instead of one dot product per key, each ending in a horizontal sum.
     */
    private static void transposeBlock(double[] x, int base, int j0, int n, int w, double[] xt) {
        for (int jj = 0; jj < n; jj++) {
            int xo = (base + j0 + jj) * w;
            for (int e = 0; e < w; e++) xt[e * BLOCK_K + jj] = x[xo + e];
        }
    }

    /** out[jj] = sum_e a[ao + e] * xt[e * BLOCK_K + jj] for jj in [0, n): e in order, one FMA per step, every lane alike. */
    private static void dots(double[] a, int ao, double[] xt, int n, int w, double[] out) {
        int jj = 0, upper = SPECIES.loopBound(n);
        for (; jj < upper; jj += SPECIES.length()) {
            DoubleVector acc = DoubleVector.zero(SPECIES);
            for (int e = 0; e < w; e++)
                acc = DoubleVector.fromArray(SPECIES, xt, e * BLOCK_K + jj).fma(DoubleVector.broadcast(SPECIES, a[ao + e]), acc);
            acc.intoArray(out, jj);
        }
        for (; jj < n; jj++) {
            double acc = 0;
            for (int e = 0; e < w; e++) acc = Math.fma(xt[e * BLOCK_K + jj], a[ao + e], acc);
            out[jj] = acc;
        }
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
            double[] s = new double[BLOCK_K], kt = new double[p.d() * BLOCK_K];
            boolean[] keep = new boolean[BLOCK_K];
            int[] scratch = new int[4];
            for (int t = from; t < to; t++) forwardBlock(t / nqb / p.hq(), t / nqb % p.hq(), t % nqb, m, l, acc, s, kt, keep, scratch);
        });
    }

    private void forwardBlock(int b, int h, int qb, double[] m, double[] l, double[] acc, double[] s, double[] kt,
                              boolean[] keep, int[] scratch) {
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
            int j1 = Math.min(jEnd, j0 + BLOCK_K);
            transposeBlock(k, kBase, j0, j1 - j0, d, kt);
            for (int r = 0; r < rows; r++) {
                int i = i0 + r;
                int lim = Math.min(j1, limit(i));
                if (lim <= j0) continue;
                int qo = (qBase + i) * d;
                double tileMax = Double.NEGATIVE_INFINITY;
                dots(q, qo, kt, lim - j0, d, s);
                for (int j = j0; j < lim; j++) {
                    double sc = s[j - j0] * scale;
                    s[j - j0] = sc;
                    if (sc > tileMax) tileMax = sc;
                }
                double mOld = m[r], mNew = Math.max(mOld, tileMax);
                double alpha = mOld == Double.NEGATIVE_INFINITY ? 0 : (double) Math.exp(mOld - mNew);
                int ao = r * dv;
                if (alpha != 1) {
                    l[r] *= alpha;
                    for (int e = 0; e < dv; e++) acc[ao + e] *= alpha;
                }
                if (dropout) AttentionDropout.keepRow(p.seed(), p.offset(), b, h, p.hq(), i, j0, lim - j0, th, keep, scratch);
                double sum = 0;
                for (int j = j0; j < lim; j++) {
                    double pe = (double) Math.exp(s[j - j0] - mNew);
                    sum += pe;
                    double w = pe;
                    if (dropout) {
                        if (!keep[j - j0]) continue;
                        w = pe * ks;
                    }
                    int vo = (kBase + j) * dv;
                    axpy(w, v, vo, acc, ao, dv);
                }
                l[r] += sum;
                m[r] = mNew;
            }
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
     * Query i of head h (batch b) against keys [j0, j1) of the block transposed into kt/vt: returns n, the keys it
     * sees (0 for none, or a row with no visible key at all), and for jj < n sets pz[jj] = P Z (dV's weight) and
     * ds[jj] = scale dS (dK's and dQ's weight). Both backward passes take their weights from here.
     */
    private int rowBlock(int b, int h, int i, int j0, int j1, double[] kt, double[] vt, double[] dO, double[] delta,
                         boolean[] keep, int[] scratch, double[] pz, double[] ds) {
        int row = (b * p.hq() + h) * p.sq() + i;
        double li = lse[row];
        int n = Math.min(j1, limit(i)) - j0;
        if (li == Double.NEGATIVE_INFINITY || n <= 0) return 0;
        boolean dropout = p.dropout();
        if (dropout) AttentionDropout.keepRow(p.seed(), p.offset(), b, h, p.hq(), i, j0, n, p.threshold(), keep, scratch);
        double scale = (double) p.scale(), ks = (double) p.keepScale();
        dots(q, row * p.d(), kt, n, p.d(), pz);            // scores
        dots(dO, row * p.dv(), vt, n, p.dv(), ds);         // dO . v
        for (int jj = 0; jj < n; jj++) {
            double pr = (double) Math.exp(pz[jj] * scale - li);
            double z = dropout ? (keep[jj] ? ks : 0) : 1;
            ds[jj] = pr * (ds[jj] * z - delta[row]) * scale;
            pz[jj] = pr * z;
        }
        return n;
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
            int nkb = Math.ceilDiv(sk, BLOCK_K);
            CpuThreads.parallelFor(p.b() * p.hkv() * nkb, cost, (from, to) -> {
                boolean[] keep = new boolean[BLOCK_K];
                int[] scratch = new int[4];
                double[] kt = new double[d * BLOCK_K], vt = new double[dv * BLOCK_K], pz = new double[BLOCK_K], ds = new double[BLOCK_K];
                for (int t = from; t < to; t++) {
                    int b = t / nkb / p.hkv(), kvh = t / nkb % p.hkv(), kb = t % nkb;
                    int j0 = kb * BLOCK_K, j1 = Math.min(sk, j0 + BLOCK_K);
                    int kBase = (b * p.hkv() + kvh) * sk;
                    transposeBlock(k, kBase, j0, j1 - j0, d, kt);
                    transposeBlock(v, kBase, j0, j1 - j0, dv, vt);
                    for (int h = kvh * g; h < kvh * g + g; h++) {
                        int qBase = (b * p.hq() + h) * sq;
                        int iStart = p.causal() ? Math.max(0, j0 - p.shift()) : 0;
                        for (int i = iStart; i < sq; i++) {
                            int row = qBase + i, n = rowBlock(b, h, i, j0, j1, kt, vt, dO, delta, keep, scratch, pz, ds);
                            for (int jj = 0; jj < n; jj++) {
                                int j = j0 + jj;
                                if (pz[jj] != 0) axpy(pz[jj], dO, row * dv, dvv, (kBase + j) * dv, dv);
                                axpy(ds[jj], q, row * d, dk, (kBase + j) * d, d);
                            }
                        }
                    }
                }
            });
        }
        if (wantQ) {
            int nqb = Math.ceilDiv(sq, BLOCK_Q);
            CpuThreads.parallelFor(p.b() * p.hq() * nqb, cost / g, (from, to) -> {
                boolean[] keep = new boolean[BLOCK_K];
                int[] scratch = new int[4];
                double[] kt = new double[d * BLOCK_K], vt = new double[dv * BLOCK_K], pz = new double[BLOCK_K], ds = new double[BLOCK_K];
                for (int t = from; t < to; t++) {
                    int b = t / nqb / p.hq(), h = t / nqb % p.hq(), qb = t % nqb;
                    int kBase = (b * p.hkv() + h / g) * sk;
                    int i0 = qb * BLOCK_Q, i1 = Math.min(sq, i0 + BLOCK_Q);
                    int jEnd = p.causal() ? limit(i1 - 1) : sk;
                    // key blocks outside, rows inside: each block is transposed once for the tile, and every row
                    // still adds its keys into dq in increasing order
                    for (int j0 = 0; j0 < jEnd; j0 += BLOCK_K) {
                        int j1 = Math.min(jEnd, j0 + BLOCK_K);
                        transposeBlock(k, kBase, j0, j1 - j0, d, kt);
                        transposeBlock(v, kBase, j0, j1 - j0, dv, vt);
                        for (int i = i0; i < i1; i++) {
                            int row = (b * p.hq() + h) * sq + i, n = rowBlock(b, h, i, j0, j1, kt, vt, dO, delta, keep, scratch, pz, ds);
                            for (int jj = 0; jj < n; jj++) axpy(ds[jj], k, (kBase + j0 + jj) * d, dq, row * d, d);
                        }
                    }
                }
            });
        }
        return new double[][]{dq, dk, dvv};
    }
}
