package dev.flare.attention;

import dev.flare.autograd.Function;
import dev.flare.tensor.DType;
import dev.flare.tensor.Tensor;
import dev.flare.tensor.cpu.CpuThreads;

import java.util.Arrays;

/**
 * FlashAttention-2 on the host: the forward walks query blocks x key blocks with an online softmax and never
 * materializes the (Sq, Sk) scores (extra memory O(B * H * S): the output and the row logsumexp); the backward
 * recomputes the probabilities from q, k and the saved logsumexp and regenerates the dropout mask
 * ({@link AttentionDropout}). Work is split over (b, h, query block) for the forward and dQ, and over
 * (b, kv head, key block) for dK/dV, so every gradient element is written by one task in a fixed order:
 * the result does not depend on the thread count.
 *
 * <p>The arithmetic is done in double for every input dtype (inputs are converted once on entry; BF16/F16/F32
 * results are rounded to the input dtype, the logsumexp to F32 except for F64 inputs).
 * One instance per call (it is an autograd {@link Function}).
 */
final class FlashCpuAttention extends Function {
    static final int BLOCK_Q = 64;
    static final int BLOCK_K = 64;

    private final AttentionParams p;
    private double[] qa, ka, va, oa, lse;
    private DType dtype;

    FlashCpuAttention(AttentionParams p) { this.p = p; }

    @Override
    protected Tensor forward(Tensor... in) {
        Tensor q = in[0], k = in[1], v = in[2];
        save(q, k, v);
        dtype = q.dtype();
        qa = q.toDoubleArray();
        ka = k.toDoubleArray();
        va = v.toDoubleArray();
        oa = new double[p.b() * p.hq() * p.sq() * p.dv()];
        lse = new double[p.b() * p.hq() * p.sq()];
        int nqb = Math.ceilDiv(p.sq(), BLOCK_Q);
        long cost = (long) BLOCK_Q * p.sk() * (p.d() + p.dv());
        CpuThreads.parallelFor(p.b() * p.hq() * nqb, cost, (from, to) -> {
            double[] m = new double[BLOCK_Q], l = new double[BLOCK_Q], acc = new double[BLOCK_Q * p.dv()];
            double[] s = new double[BLOCK_K];
            boolean[] keep = new boolean[BLOCK_K];
            int[] scratch = new int[4];
            for (int t = from; t < to; t++) forwardBlock(t / nqb / p.hq(), t / nqb % p.hq(), t % nqb, m, l, acc, s, keep, scratch);
        });
        if (dtype != DType.F64) for (int i = 0; i < lse.length; i++) lse[i] = (float) lse[i];
        return toTensor(oa, p.b(), p.hq(), p.sq(), p.dv());
    }

    /** The row logsumexp of the scaled, masked scores (B, Hq, Sq): F32 (F64 for F64 inputs); -inf for rows with no visible key. */
    Tensor logsumexp() {
        if (dtype == DType.F64) return Tensor.fromArray(lse.clone(), p.b(), p.hq(), p.sq());
        float[] f = new float[lse.length];
        for (int i = 0; i < f.length; i++) f[i] = (float) lse[i];
        return Tensor.fromArray(f, p.b(), p.hq(), p.sq());
    }

    private Tensor toTensor(double[] a, int... shape) {
        if (dtype == DType.F64) return Tensor.fromArray(a, shape);
        float[] f = new float[a.length];
        for (int i = 0; i < f.length; i++) f[i] = (float) a[i];
        Tensor t = Tensor.fromArray(f, shape);
        return dtype == DType.F32 ? t : t.to(dtype);
    }

    /** Number of keys visible to query i (keys [0, limit)). */
    private int limit(int i) {
        return p.causal() ? Math.max(0, Math.min(p.sk(), i + p.shift() + 1)) : p.sk();
    }

    private void forwardBlock(int b, int h, int qb, double[] m, double[] l, double[] acc, double[] s,
                              boolean[] keep, int[] scratch) {
        final int d = p.d(), dv = p.dv(), sq = p.sq(), sk = p.sk();
        int i0 = qb * BLOCK_Q, i1 = Math.min(sq, i0 + BLOCK_Q), rows = i1 - i0;
        int kvh = h / p.group();
        int qBase = (b * p.hq() + h) * sq;
        int kBase = (b * p.hkv() + kvh) * sk;
        Arrays.fill(m, 0, rows, Double.NEGATIVE_INFINITY);
        Arrays.fill(l, 0, rows, 0);
        Arrays.fill(acc, 0, rows * dv, 0);
        int jEnd = limit(i1 - 1);               // tiles past the last row's limit lie above the diagonal: skipped
        double scale = p.scale(), ks = p.keepScale();
        int th = p.dropout() ? p.threshold() : 0;
        for (int j0 = 0; j0 < jEnd; j0 += BLOCK_K) {
            int j1 = Math.min(jEnd, j0 + BLOCK_K);
            for (int r = 0; r < rows; r++) {
                int i = i0 + r;
                int lim = Math.min(j1, limit(i));
                if (lim <= j0) continue;
                int qo = (qBase + i) * d;
                double tileMax = Double.NEGATIVE_INFINITY;
                for (int j = j0; j < lim; j++) {
                    int ko = (kBase + j) * d;
                    double dot = 0;
                    for (int e = 0; e < d; e++) dot += qa[qo + e] * ka[ko + e];
                    double sc = dot * scale;
                    s[j - j0] = sc;
                    if (sc > tileMax) tileMax = sc;
                }
                double mOld = m[r], mNew = Math.max(mOld, tileMax);
                double alpha = mOld == Double.NEGATIVE_INFINITY ? 0 : Math.exp(mOld - mNew);
                int ao = r * dv;
                if (alpha != 1) {
                    l[r] *= alpha;
                    for (int e = 0; e < dv; e++) acc[ao + e] *= alpha;
                }
                if (p.dropout()) AttentionDropout.keepRow(p.seed(), p.offset(), b, h, p.hq(), i, j0, lim - j0, th, keep, scratch);
                double sum = 0;
                for (int j = j0; j < lim; j++) {
                    double pe = Math.exp(s[j - j0] - mNew);
                    sum += pe;
                    double w = pe;
                    if (p.dropout()) {
                        if (!keep[j - j0]) continue;
                        w = pe * ks;
                    }
                    int vo = (kBase + j) * dv;
                    for (int e = 0; e < dv; e++) acc[ao + e] += w * va[vo + e];
                }
                l[r] += sum;
                m[r] = mNew;
            }
        }
        for (int r = 0; r < rows; r++) {
            int row = qBase + i0 + r, oo = row * dv;
            if (l[r] == 0) {           // no visible key: output 0 (documented), lse -inf
                Arrays.fill(oa, oo, oo + dv, 0);
                lse[row] = Double.NEGATIVE_INFINITY;
                continue;
            }
            double inv = 1 / l[r];
            for (int e = 0; e < dv; e++) oa[oo + e] = acc[r * dv + e] * inv;
            lse[row] = m[r] + Math.log(l[r]);
        }
    }

    @Override
    protected Tensor[] backward(Tensor gradOutput) {
        final int d = p.d(), dv = p.dv(), sq = p.sq(), sk = p.sk(), g = p.group();
        double[] dO = gradOutput.toDoubleArray();
        // delta_i = rowsum(dO_i * O_i) (= sum_j P_ij dP_ij, dropout included)
        double[] delta = new double[p.b() * p.hq() * sq];
        for (int row = 0; row < delta.length; row++) {
            double acc = 0;
            for (int e = 0; e < dv; e++) acc += dO[row * dv + e] * oa[row * dv + e];
            delta[row] = acc;
        }
        boolean wantQ = needsInputGrad(0), wantKV = needsInputGrad(1) || needsInputGrad(2);
        double[] dq = wantQ ? new double[qa.length] : null;
        double[] dk = wantKV ? new double[ka.length] : null;
        double[] dvv = wantKV ? new double[va.length] : null;
        double scale = p.scale(), ks = p.keepScale();
        int th = p.dropout() ? p.threshold() : 0;
        long cost = (long) BLOCK_K * sq * g * (2L * d + 2L * dv);
        if (wantKV) {
            int nkb = Math.ceilDiv(sk, BLOCK_K);
            CpuThreads.parallelFor(p.b() * p.hkv() * nkb, cost, (from, to) -> {
                boolean[] keep = new boolean[BLOCK_K];
                int[] scratch = new int[4];
                for (int t = from; t < to; t++) {
                    int b = t / nkb / p.hkv(), kvh = t / nkb % p.hkv(), kb = t % nkb;
                    int j0 = kb * BLOCK_K, j1 = Math.min(sk, j0 + BLOCK_K);
                    int kBase = (b * p.hkv() + kvh) * sk;
                    for (int h = kvh * g; h < kvh * g + g; h++) {
                        int qBase = (b * p.hq() + h) * sq;
                        int iStart = p.causal() ? Math.max(0, j0 - p.shift()) : 0;
                        for (int i = iStart; i < sq; i++) {
                            int row = qBase + i;
                            double li = lse[row];
                            if (li == Double.NEGATIVE_INFINITY) continue;
                            int lim = Math.min(j1, limit(i));
                            if (lim <= j0) continue;
                            if (p.dropout()) AttentionDropout.keepRow(p.seed(), p.offset(), b, h, p.hq(), i, j0, lim - j0, th, keep, scratch);
                            int qo = row * d, go = row * dv;
                            for (int j = j0; j < lim; j++) {
                                int ko = (kBase + j) * d, vo = (kBase + j) * dv;
                                double dot = 0;
                                for (int e = 0; e < d; e++) dot += qa[qo + e] * ka[ko + e];
                                double pr = Math.exp(dot * scale - li);
                                double z = p.dropout() ? (keep[j - j0] ? ks : 0) : 1;
                                double dpv = 0;
                                for (int e = 0; e < dv; e++) dpv += dO[go + e] * va[vo + e];
                                double pz = pr * z;
                                if (pz != 0) for (int e = 0; e < dv; e++) dvv[vo + e] += pz * dO[go + e];
                                double ds = pr * (dpv * z - delta[row]) * scale;
                                for (int e = 0; e < d; e++) dk[ko + e] += ds * qa[qo + e];
                            }
                        }
                    }
                }
            });
        }
        if (wantQ) {
            int nqb = Math.ceilDiv(sq, BLOCK_Q);
            CpuThreads.parallelFor(p.b() * p.hq() * nqb, cost / g, (from, to) -> {
                boolean[] keep = new boolean[sk];
                int[] scratch = new int[4];
                for (int t = from; t < to; t++) {
                    int b = t / nqb / p.hq(), h = t / nqb % p.hq(), qb = t % nqb;
                    int kBase = (b * p.hkv() + h / g) * sk;
                    int i0 = qb * BLOCK_Q, i1 = Math.min(sq, i0 + BLOCK_Q);
                    for (int i = i0; i < i1; i++) {
                        int row = (b * p.hq() + h) * sq + i;
                        double li = lse[row];
                        if (li == Double.NEGATIVE_INFINITY) continue;
                        int lim = limit(i);
                        if (p.dropout()) AttentionDropout.keepRow(p.seed(), p.offset(), b, h, p.hq(), i, 0, lim, th, keep, scratch);
                        int qo = row * d, go = row * dv;
                        for (int j = 0; j < lim; j++) {
                            int ko = (kBase + j) * d, vo = (kBase + j) * dv;
                            double dot = 0;
                            for (int e = 0; e < d; e++) dot += qa[qo + e] * ka[ko + e];
                            double pr = Math.exp(dot * scale - li);
                            double z = p.dropout() ? (keep[j] ? ks : 0) : 1;
                            double dpv = 0;
                            for (int e = 0; e < dv; e++) dpv += dO[go + e] * va[vo + e];
                            double ds = pr * (dpv * z - delta[row]) * scale;
                            for (int e = 0; e < d; e++) dq[qo + e] += ds * ka[ko + e];
                        }
                    }
                }
            });
        }
        return new Tensor[]{
                needsInputGrad(0) ? toTensor(dq, p.b(), p.hq(), sq, d) : null,
                needsInputGrad(1) ? toTensor(dk, p.b(), p.hkv(), sk, d) : null,
                needsInputGrad(2) ? toTensor(dvv, p.b(), p.hkv(), sk, dv) : null};
    }
}
