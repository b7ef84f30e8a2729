package dev.flare.attention;

import dev.flare.tensor.cpu.CpuGemm;
import dev.flare.tensor.cpu.CpuThreads;
import dev.flare.tensor.cpu.RowExp;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.util.Arrays;

/**
 * The FLASH_CPU loops over float[] (F32 inputs; BF16/F16 are converted to F32 on entry), with the
 * online softmax and all accumulation in float. GENERATED from {@link FlashCpuKernelF64}, do not edit:
 * {@code sed -e 's/F64/F32/g; s/double/float/g; s/Double/Float/g' FlashCpuKernelF64.java} (then this comment).
 * Shapes and layouts as in {@link FlashCpuKernelF64}.
 * The tiling (GEMM products, elementwise softmax passes) is described in {@link FlashCpuKernelF64}.
 */
final class FlashCpuKernelF32 {
    static final int BLOCK_Q = 64;
    static final int BLOCK_K = 64;
    /**
     * The backward runs in one pass from this many (batch, kv head) pairs a thread, else in two. The one pass took
     * 0.65x the two passes' time; with T pairs on P threads its longest thread does ceil(T / P) pairs, and from
     * T = 2P on, ceil(T / P) 0.65 stays below T / P (the two passes' balanced share).
     */
    static final int ONE_PASS_TASKS_PER_THREAD = 2;

    private final AttentionParams p;
    private final float[] q, k, v;
    private final HeadRows ql, kl, vl;
    final float[] o, lse;

    /** o: where the forward writes the output, contiguous (B, Hq, Sq, Dv). */
    FlashCpuKernelF32(AttentionParams p, float[] q, HeadRows ql, float[] k, HeadRows kl, float[] v, HeadRows vl,
                      float[] o) {
        this.p = p;
        this.q = q;
        this.k = k;
        this.v = v;
        this.ql = ql;
        this.kl = kl;
        this.vl = vl;
        this.o = o;
        this.lse = new float[p.b() * p.hq() * p.sq()];
    }

    private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;

    /** sum_e a[ao + e] * b[bo + e] over n elements (Vector API, fixed order). */
    private static float dot(float[] a, int ao, float[] b, int bo, int n) {
        int e = 0, upper = SPECIES.loopBound(n);
        float acc = 0;
        if (upper > 0) {
            FloatVector sum = FloatVector.zero(SPECIES);
            for (; e < upper; e += SPECIES.length())
                sum = FloatVector.fromArray(SPECIES, a, ao + e).fma(FloatVector.fromArray(SPECIES, b, bo + e), sum);
            // lane by lane: reduceLanes(ADD) leaves the order open, and the JIT-compiled intrinsic and the
            // interpreter's fallback differ, which made results change with warm-up
            for (int l = 0; l < SPECIES.length(); l++) acc += sum.lane(l);
        }
        for (; e < n; e++) acc += a[ao + e] * b[bo + e];
        return acc;
    }

    // Rows of width w start at element xo of x, xs apart (y, out alike); the tile is rows x n, row stride BLOCK_K.

    /** tile = x's rows times the transpose of y's n rows: S = Q K^T and dP~ = dO V^T, y read transposed in place. */
    private static void timesTransposed(float[] x, int xo, int xs, int rows, float[] y, int yo, int ys, int n, int w,
                                        float[] tile) {
        CpuGemm.gemm(1, rows, n, w, x, xo, 0, xs, 1, y, yo, 0, 1, ys, tile, 0, 0, BLOCK_K, 1, false);
    }

    /** out's rows (rows of them) += tile times y's n rows: O += P V, dQ += dS K. */
    private static void addTimes(float[] tile, int rows, int n, float[] y, int yo, int ys, int w, float[] out, int oo,
                                 int os) {
        CpuGemm.gemm(1, rows, w, n, tile, 0, 0, BLOCK_K, 1, y, yo, 0, ys, 1, out, oo, 0, os, 1, true);
    }

    /**
     * out's n rows += the transpose of the tile's rows from tileRow on (rows of them) times x's rows: dV += (P Z)^T dO
     * and dK += dS^T Q, tile read transposed.
     */
    private static void addTransposedTimes(float[] tile, int tileRow, int rows, int n, float[] x, int xo, int xs, int w,
                                           float[] out, int oo, int os) {
        CpuGemm.gemm(1, n, w, rows, tile, tileRow * BLOCK_K, 0, 1, BLOCK_K, x, xo, 0, xs, 1, out, oo, 0, os, 1, true);
    }

    /** Number of keys visible to query i (keys [0, limit)). */
    private int limit(int i) {
        return p.causal() ? Math.max(0, Math.min(p.sk(), i + p.shift() + 1)) : p.sk();
    }

    void forward() {
        int nqb = Math.ceilDiv(p.sq(), BLOCK_Q);
        long cost = (long) BLOCK_Q * p.sk() * (p.d() + p.dv());
        CpuThreads.parallelFor(p.b() * p.hq() * nqb, cost, (from, to) -> {
            float[] m = new float[BLOCK_Q], l = new float[BLOCK_Q], acc = new float[BLOCK_Q * p.dv()];
            float[] s = new float[BLOCK_Q * BLOCK_K];
            boolean[] keep = new boolean[BLOCK_K];
            int[] scratch = new int[4];
            for (int t = from; t < to; t++) forwardBlock(t / nqb / p.hq(), t / nqb % p.hq(), t % nqb, m, l, acc, s, keep, scratch);
        });
    }

    private void forwardBlock(int b, int h, int qb, float[] m, float[] l, float[] acc, float[] s, boolean[] keep,
                              int[] scratch) {
        final int d = p.d(), dv = p.dv(), sq = p.sq(), sk = p.sk();
        int i0 = qb * BLOCK_Q, i1 = Math.min(sq, i0 + BLOCK_Q), rows = i1 - i0;
        int kvh = h / p.group();
        int qBase = (b * p.hq() + h) * sq;     // row index in o and lse
        Arrays.fill(m, 0, rows, Float.NEGATIVE_INFINITY);
        Arrays.fill(l, 0, rows, 0);
        Arrays.fill(acc, 0, rows * dv, 0);
        int jEnd = limit(i1 - 1);               // key blocks past the last row's limit lie above the diagonal: skipped
        final float scale = (float) p.scale(), ks = (float) p.keepScale();
        final boolean dropout = p.dropout();
        int th = dropout ? p.threshold() : 0;
        for (int j0 = 0; j0 < jEnd; j0 += BLOCK_K) {
            int n = Math.min(jEnd, j0 + BLOCK_K) - j0;
            timesTransposed(q, ql.at(b, h, i0), ql.seq(), rows, k, kl.at(b, kvh, j0), kl.seq(), n, d, s);
            // s row r becomes the tile's P (Z applied) for the rescaled online softmax; keys a row cannot see get 0
            for (int r = 0; r < rows; r++) {
                int i = i0 + r, so = r * BLOCK_K;
                int lim = Math.min(n, limit(i) - j0);
                if (lim <= 0) {
                    Arrays.fill(s, so, so + n, 0);
                    continue;
                }
                float tileMax = Float.NEGATIVE_INFINITY;
                for (int jj = 0; jj < lim; jj++) {
                    float sc = s[so + jj] * scale;
                    s[so + jj] = sc;
                    if (sc > tileMax) tileMax = sc;
                }
                float mOld = m[r], mNew = Math.max(mOld, tileMax);
                float alpha = mOld == Float.NEGATIVE_INFINITY ? 0 : (float) Math.exp(mOld - mNew);
                int ao = r * dv;
                if (alpha != 1) {
                    l[r] *= alpha;
                    for (int e = 0; e < dv; e++) acc[ao + e] *= alpha;
                }
                if (dropout) AttentionDropout.keepRow(p.seed(), p.offset(), b, h, p.hq(), i, j0, lim, th, keep, scratch);
                // P = exp(s - m) in place; F32 on vector lanes (RowExp): scalar Math.exp took about 30% of FLASH_CPU
                l[r] += (float) RowExp.expScaledShifted(s, so, 1, mNew, s, so, lim);
                if (dropout) for (int jj = 0; jj < lim; jj++) s[so + jj] = keep[jj] ? s[so + jj] * ks : 0;
                Arrays.fill(s, so + lim, so + n, 0);
                m[r] = mNew;
            }
            addTimes(s, rows, n, v, vl.at(b, kvh, j0), vl.seq(), dv, acc, 0, dv);
        }
        for (int r = 0; r < rows; r++) {
            int row = qBase + i0 + r, oo = row * dv;
            if (l[r] == 0) {           // no visible key: output 0 (documented), lse -inf
                Arrays.fill(o, oo, oo + dv, 0);
                lse[row] = Float.NEGATIVE_INFINITY;
                continue;
            }
            float inv = 1 / l[r];
            for (int e = 0; e < dv; e++) o[oo + e] = acc[r * dv + e] * inv;
            lse[row] = m[r] + (float) Math.log(l[r]);
        }
    }

    /**
     * The weights of one tile of head h (batch b): query rows [i0, i0 + rows) against keys [j0, j0 + n). On entry s
     * holds the scores Q K^T and dp the products dO V^T (rows x n, row stride BLOCK_K); on return s holds P Z (dV's
     * weight) and dp holds scale dS (dK's and dQ's weight), both 0 where a row cannot see the key (and on rows with
     * no visible key at all). Both backward passes take their weights from here.
     */
    private void weights(int b, int h, int i0, int rows, int j0, int n, float[] s, float[] dp, float[] delta,
                         boolean[] keep, int[] scratch) {
        boolean dropout = p.dropout();
        float scale = (float) p.scale(), ks = (float) p.keepScale();
        for (int r = 0; r < rows; r++) {
            int i = i0 + r, row = (b * p.hq() + h) * p.sq() + i, so = r * BLOCK_K;
            float li = lse[row];
            int vis = li == Float.NEGATIVE_INFINITY ? 0 : Math.max(0, Math.min(n, limit(i) - j0));
            if (dropout && vis > 0) AttentionDropout.keepRow(p.seed(), p.offset(), b, h, p.hq(), i, j0, vis, p.threshold(), keep, scratch);
            RowExp.expScaledShifted(s, so, scale, li, s, so, vis);     // P, from the scores and the saved logsumexp
            for (int jj = 0; jj < vis; jj++) {
                float pr = s[so + jj];
                float z = dropout ? (keep[jj] ? ks : 0) : 1;
                dp[so + jj] = pr * (dp[so + jj] * z - delta[row]) * scale;
                s[so + jj] = pr * z;
            }
            Arrays.fill(s, so + vis, so + n, 0);
            Arrays.fill(dp, so + vis, so + n, 0);
        }
    }

    /**
     * Adds the gradients for the output gradient dO (layout dOl) to dq (B, Hq, Sq, D), dk (B, Hkv, Sk, D) and dvv
     * (B, Hkv, Sk, Dv), contiguous and zero on entry; dq null when not wanted, dk and dvv both null when not wanted.
     * One pass when all three are wanted and there are at least ONE_PASS_TASKS_PER_THREAD (batch, kv head) pairs a
     * thread, else two.
     */
    void backward(float[] dO, HeadRows dOl, float[] dq, float[] dk, float[] dvv) {
        boolean manyHeads = p.b() * p.hkv() >= ONE_PASS_TASKS_PER_THREAD * CpuThreads.threads();
        backward(dO, dOl, dq, dk, dvv, dq != null && dk != null && manyHeads);
    }

    /**
     * As {@link #backward(float[], HeadRows, float[], float[], float[])} with the plan chosen. One pass: a task per
     * (batch, kv head) computes all three gradients, each tile's S and dP~ once. Two passes: key blocks in parallel for
     * dK and dV, then query tiles for dQ, each pass computing S and dP~ (two of a tile's five products, and the
     * softmax pass), which keeps long sequences of few heads parallel. Both add each gradient element's terms in the
     * same order (dQ's over key blocks ascending), so they give the same bits.
     */
    void backward(float[] dO, HeadRows dOl, float[] dq, float[] dk, float[] dvv, boolean onePass) {
        if (onePass && (dq == null || dk == null || dvv == null))
            throw new IllegalArgumentException("onePass: expected dq, dk and dv all wanted, got dq " + (dq != null)
                    + ", dk " + (dk != null) + ", dv " + (dvv != null));
        final int d = p.d(), dv = p.dv(), sq = p.sq(), sk = p.sk(), g = p.group();
        // delta_i = rowsum(dO_i * O_i) (= sum_j P_ij dP_ij, dropout included)
        float[] delta = new float[p.b() * p.hq() * sq];
        for (int row = 0; row < delta.length; row++)
            delta[row] = dot(dO, dOl.at(row / sq / p.hq(), row / sq % p.hq(), row % sq), o, row * dv, dv);
        long cost = (long) BLOCK_K * sq * g * (2L * d + 2L * dv);
        int nkb = Math.ceilDiv(sk, BLOCK_K);
        if (onePass) {
            // a (batch, kv head) per task: its key blocks in order, so dQ's terms arrive in the order of the dQ pass
            CpuThreads.parallelFor(p.b() * p.hkv(), cost * nkb, (from, to) -> {
                TileBuffers buffers = new TileBuffers();
                for (int t = from; t < to; t++)
                    for (int kb = 0; kb < nkb; kb++) keyBlock(t / p.hkv(), t % p.hkv(), kb, dO, dOl, delta, dq, dk, dvv, buffers);
            });
            return;
        }
        if (dk != null) {
            // a key block per task: its dK and dV rows are summed over every query tile that sees them, in order
            CpuThreads.parallelFor(p.b() * p.hkv() * nkb, cost, (from, to) -> {
                TileBuffers buffers = new TileBuffers();
                for (int t = from; t < to; t++) keyBlock(t / nkb / p.hkv(), t / nkb % p.hkv(), t % nkb, dO, dOl, delta, null, dk, dvv, buffers);
            });
        }
        if (dq != null) {
            // a query tile per task: its dQ rows are summed over the key blocks in order
            int nqb = Math.ceilDiv(sq, BLOCK_Q);
            CpuThreads.parallelFor(p.b() * p.hq() * nqb, cost / g, (from, to) -> {
                TileBuffers buffers = new TileBuffers();
                float[] s = buffers.s, dp = buffers.dp;
                boolean[] keep = buffers.keep;
                int[] scratch = buffers.scratch;
                for (int t = from; t < to; t++) {
                    int b = t / nqb / p.hq(), h = t / nqb % p.hq(), qb = t % nqb;
                    int kvh = h / g;
                    int i0 = qb * BLOCK_Q, rows = Math.min(sq, i0 + BLOCK_Q) - i0;
                    int qRow = (b * p.hq() + h) * sq + i0, qo = ql.at(b, h, i0), go = dOl.at(b, h, i0);
                    int jEnd = p.causal() ? limit(i0 + rows - 1) : sk;
                    for (int j0 = 0; j0 < jEnd; j0 += BLOCK_K) {
                        int n = Math.min(sk, j0 + BLOCK_K) - j0, ko = kl.at(b, kvh, j0);   // the key block, as keyBlock's
                        timesTransposed(q, qo, ql.seq(), rows, k, ko, kl.seq(), n, d, s);
                        timesTransposed(dO, go, dOl.seq(), rows, v, vl.at(b, kvh, j0), vl.seq(), n, dv, dp);
                        weights(b, h, i0, rows, j0, n, s, dp, delta, keep, scratch);
                        addTimes(dp, rows, Math.min(n, jEnd - j0), k, ko, kl.seq(), d, dq, qRow * d, d);   // as keyBlock's
                    }
                }
            });
        }
    }

    /**
     * A backward task's working arrays: the tiles S (P Z) and dP~ (scale dS), rows x keys with row stride BLOCK_K, a
     * row's dropout decisions and the Philox scratch.
     */
    private static final class TileBuffers {
        final float[] s = new float[BLOCK_Q * BLOCK_K], dp = new float[BLOCK_Q * BLOCK_K];
        final boolean[] keep = new boolean[BLOCK_K];
        final int[] scratch = new int[4];
    }

    /**
     * Key block kb of kv head kvh (batch b) against every query tile of the heads that share it: adds to its dK and dV
     * rows and, when dq is not null, to the dQ rows of those tiles.
     */
    private void keyBlock(int b, int kvh, int kb, float[] dO, HeadRows dOl, float[] delta, float[] dq, float[] dk,
                          float[] dvv, TileBuffers buffers) {
        final int d = p.d(), dv = p.dv(), sq = p.sq(), g = p.group();
        float[] s = buffers.s, dp = buffers.dp;
        boolean[] keep = buffers.keep;
        int[] scratch = buffers.scratch;
        int j0 = kb * BLOCK_K, n = Math.min(p.sk(), j0 + BLOCK_K) - j0;
        int kRow = (b * p.hkv() + kvh) * p.sk() + j0;     // row index in dk and dvv
        int ko = kl.at(b, kvh, j0), vo = vl.at(b, kvh, j0);
        int firstRow = p.causal() ? Math.max(0, j0 - p.shift()) : 0;   // the first query row that sees key j0
        for (int h = kvh * g; h < kvh * g + g; h++) {
            // Tiles start at multiples of BLOCK_Q, as in the dQ pass, so that both plans multiply the same tiles. What
            // a tile's rows or keys cannot see stays out of the sums (their weights are 0, but 0 * inf is NaN): dK and
            // dV take the rows from firstRow on, dQ the keys the tile's last row sees.
            for (int i0 = firstRow / BLOCK_Q * BLOCK_Q; i0 < sq; i0 += BLOCK_Q) {
                int rows = Math.min(sq, i0 + BLOCK_Q) - i0, qo = ql.at(b, h, i0), go = dOl.at(b, h, i0);
                timesTransposed(q, qo, ql.seq(), rows, k, ko, kl.seq(), n, d, s);
                timesTransposed(dO, go, dOl.seq(), rows, v, vo, vl.seq(), n, dv, dp);
                weights(b, h, i0, rows, j0, n, s, dp, delta, keep, scratch);
                int skip = Math.max(0, firstRow - i0), seen = Math.min(n, (p.causal() ? limit(i0 + rows - 1) : p.sk()) - j0);
                if (skip < rows) {
                    int i1 = i0 + skip;
                    addTransposedTimes(s, skip, rows - skip, n, dO, dOl.at(b, h, i1), dOl.seq(), dv, dvv, kRow * dv, dv);
                    addTransposedTimes(dp, skip, rows - skip, n, q, ql.at(b, h, i1), ql.seq(), d, dk, kRow * d, d);
                }
                if (dq != null && seen > 0) addTimes(dp, rows, seen, k, ko, kl.seq(), d, dq, ((b * p.hq() + h) * sq + i0) * d, d);
            }
        }
    }
}
