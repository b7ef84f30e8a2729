package dev.flare.attention;

import dev.flare.autograd.GradCheck;
import dev.flare.tensor.DType;
import dev.flare.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** FLASH_CPU against the MATH reference (forward and the three gradients), gradient checks, dropout. */
class AttentionFlashCpuTest {
    private final long seed = new Random().nextLong();
    private final Random rnd = new Random(seed);

    private Tensor randn(DType dtype, int... shape) {
        int n = 1;
        for (int s : shape) n *= s;
        double[] v = new double[n];
        for (int i = 0; i < n; i++) v[i] = rnd.nextGaussian();
        Tensor t = Tensor.fromArray(v, shape);
        return dtype == DType.F64 ? t : t.to(dtype);
    }

    private static double maxDiff(Tensor a, Tensor b) {
        assertArrayEquals(a.shape(), b.shape());
        double[] x = a.toDoubleArray(), y = b.toDoubleArray();
        double m = 0;
        for (int i = 0; i < x.length; i++) {
            if (Double.isNaN(x[i]) || Double.isNaN(y[i])) return Double.NaN;
            m = Math.max(m, Math.abs(x[i] - y[i]));
        }
        return m;
    }

    private record Case(int b, int hq, int hkv, int sq, int sk, int d, int dv, boolean causal, CausalAlignment align) {
        AttentionOptions options() {
            return AttentionOptions.DEFAULT.withCausal(causal).withCausalAlignment(align).withEnableGqa(hq != hkv);
        }
    }

    /** Runs both backends on the same leaves; compares outputs and dq, dk, dv. */
    private void compare(Case c, AttentionOptions opts, DType dtype, double tol) {
        String why = c + " " + dtype + " seed " + seed;
        Tensor q = randn(dtype, c.b, c.hq, c.sq, c.d), k = randn(dtype, c.b, c.hkv, c.sk, c.d), v = randn(dtype, c.b, c.hkv, c.sk, c.dv);
        Tensor w = randn(dtype, c.b, c.hq, c.sq, c.dv);
        Tensor[][] grads = new Tensor[2][];
        Tensor[] outs = new Tensor[2];
        AttentionBackend[] backends = {AttentionBackend.MATH, AttentionBackend.FLASH_CPU};
        for (int r = 0; r < 2; r++) {
            Tensor lq = q.detach().requiresGrad(true), lk = k.detach().requiresGrad(true), lv = v.detach().requiresGrad(true);
            Tensor o = Attention.scaledDotProductAttention(lq, lk, lv, opts.withBackend(backends[r]));
            assertArrayEquals(new int[]{c.b, c.hq, c.sq, c.dv}, o.shape(), why);
            o.mul(w).sum().backward();
            outs[r] = o;
            grads[r] = new Tensor[]{lq.grad(), lk.grad(), lv.grad()};
        }
        assertTrue(maxDiff(outs[0], outs[1]) <= tol, "output differs by " + maxDiff(outs[0], outs[1]) + ": " + why);
        String[] names = {"dq", "dk", "dv"};
        for (int i = 0; i < 3; i++) {
            double diff = maxDiff(grads[0][i], grads[1][i]);
            assertTrue(diff <= tol, names[i] + " differs by " + diff + ": " + why);
        }
    }

    private static final Case[] CASES = {
            new Case(1, 2, 2, 17, 17, 32, 32, false, CausalAlignment.TOP_LEFT),
            new Case(2, 2, 2, 65, 65, 64, 64, true, CausalAlignment.TOP_LEFT),
            new Case(1, 4, 2, 17, 33, 32, 32, true, CausalAlignment.BOTTOM_RIGHT),   // GQA, decoding-style
            new Case(1, 4, 1, 130, 70, 32, 16, true, CausalAlignment.TOP_LEFT),      // MQA, Sq > Sk, Dv != D
            new Case(1, 2, 2, 1, 17, 96, 96, true, CausalAlignment.BOTTOM_RIGHT),    // one query
            new Case(1, 1, 1, 33, 17, 128, 128, true, CausalAlignment.BOTTOM_RIGHT), // rows with no visible key
            new Case(1, 1, 1, 5, 9, 256, 256, false, CausalAlignment.TOP_LEFT),
            new Case(1, 2, 2, 70, 130, 32, 32, true, CausalAlignment.TOP_LEFT),
    };

    @Test
    void flashCpuMatchesMathInF64() {
        for (Case c : CASES) compare(c, c.options(), DType.F64, 1e-10);
    }

    @Test
    void flashCpuMatchesMathInF32() {
        compare(CASES[1], CASES[1].options(), DType.F32, 2e-4);
        compare(CASES[3], CASES[3].options(), DType.F32, 2e-4);
    }

    @Test
    void dropoutMasksAgreeBetweenBackends() {
        for (Case c : new Case[]{CASES[0], CASES[2], CASES[3]}) {
            AttentionOptions o = c.options().withDropout(0.3).withDropoutSeed(rnd.nextLong(), rnd.nextInt(1000));
            compare(c, o, DType.F64, 1e-10);
        }
    }

    @Test
    void customScaleAndNonContiguousViews() {
        int b = 2, h = 3, s = 19, d = 8;
        Tensor qb = randn(DType.F64, b, s, h, d), kb = randn(DType.F64, b, s, h, d), vb = randn(DType.F64, b, s, h, d);
        AttentionOptions o = AttentionOptions.causal().withScale(0.3);
        Tensor ref = Attention.scaledDotProductAttention(qb.transpose(1, 2).contiguous(), kb.transpose(1, 2).contiguous(),
                vb.transpose(1, 2).contiguous(), o.withBackend(AttentionBackend.MATH));
        Tensor got = Attention.scaledDotProductAttention(qb.transpose(1, 2), kb.transpose(1, 2), vb.transpose(1, 2),
                o.withBackend(AttentionBackend.FLASH_CPU));
        assertTrue(maxDiff(ref, got) < 1e-10, "seed " + seed);
    }

    /**
     * FLASH_CPU reads F32/F64 views in their own storage (q, k, v as heads of a packed (B, S, 3, H, D) tensor at
     * nonzero offsets, dO a transposed view) and copies others (k with a non-unit last stride): output and all three
     * gradients against MATH on contiguous copies.
     */
    @Test
    void stridedViewsGiveTheSameOutputAndGradientsAsContiguousCopies() {
        for (DType dtype : new DType[]{DType.F64, DType.F32}) {
            int b = 2, s = 37 + rnd.nextInt(60), h = 3, d = 16;
            double tol = dtype == DType.F64 ? 1e-10 : 2e-4;
            String why = dtype + " S=" + s + " seed " + seed;
            Tensor packed = randn(dtype, b, s, 3, h, d).requiresGrad(true);
            Tensor kT = randn(dtype, b, h, d, s).requiresGrad(true);         // k = kT^T: last stride s
            Tensor dO = randn(dtype, b, s, h, d).transpose(1, 2);            // (B, H, S, D), not contiguous
            AttentionOptions o = AttentionOptions.causal().withDropout(0.2).withDropoutSeed(rnd.nextLong(), 3);
            Tensor q = QkvPackedAttention.part(packed, 0), v = QkvPackedAttention.part(packed, 2), k = kT.transpose(2, 3);
            assertFalse(q.isContiguous() || v.isContiguous() || k.isContiguous() || dO.isContiguous(), why);
            Tensor out = Attention.scaledDotProductAttention(q, k, v, o.withBackend(AttentionBackend.FLASH_CPU));
            out.backward(dO);

            Tensor rq = q.contiguous().detach().requiresGrad(true), rk = k.contiguous().detach().requiresGrad(true);
            Tensor rv = v.contiguous().detach().requiresGrad(true);
            Tensor ref = Attention.scaledDotProductAttention(rq, rk, rv, o.withBackend(AttentionBackend.MATH));
            ref.backward(dO.contiguous());
            assertTrue(maxDiff(ref, out) <= tol, "output differs by " + maxDiff(ref, out) + ": " + why);
            Tensor[][] pairs = {{rq.grad(), QkvPackedAttention.part(packed.grad(), 0)},
                    {rk.grad(), kT.grad().transpose(2, 3)}, {rv.grad(), QkvPackedAttention.part(packed.grad(), 2)}};
            String[] names = {"dq", "dk", "dv"};
            for (int i = 0; i < 3; i++) {
                double diff = maxDiff(pairs[i][0], pairs[i][1]);
                assertTrue(diff <= tol, names[i] + " differs by " + diff + ": " + why);
            }
            assertEquals(0.0, QkvPackedAttention.part(packed.grad(), 1).abs().sum().item(), "k's part of packed: " + why);
        }
    }

    /**
     * Views read in place with GQA (q's heads to k/v's heads, k and v heads of one packed tensor) and with a key
     * broadcast over the heads by expand (head stride 0; v needs no gradient): against MATH on the same leaves.
     */
    @Test
    void groupedAndBroadcastViewsGiveTheSameResultsAsMath() {
        for (DType dtype : new DType[]{DType.F64, DType.F32}) {
            int b = 2, s = 20 + rnd.nextInt(70), d = 8;
            double tol = dtype == DType.F64 ? 1e-10 : 2e-4;
            String why = dtype + " S=" + s + " seed " + seed;
            Tensor qBase = randn(dtype, b, s, 4, d), kvBase = randn(dtype, b, s, 2, 2, d), k1Base = randn(dtype, b, 1, s, d);
            Tensor vPlain = randn(dtype, b, 4, s, d), dO = randn(dtype, b, 4, s, d);
            for (int variant = 0; variant < 2; variant++) {
                Tensor[][] grads = new Tensor[2][];
                Tensor[] outs = new Tensor[2];
                AttentionBackend[] backends = {AttentionBackend.MATH, AttentionBackend.FLASH_CPU};
                for (int r = 0; r < 2; r++) {
                    Tensor qLeaf = qBase.detach().requiresGrad(true), q = qLeaf.transpose(1, 2);
                    Tensor leaf, k, v;
                    AttentionOptions o = AttentionOptions.causal().withBackend(backends[r]);
                    if (variant == 0) {      // GQA: 4 query heads on 2 kv heads, k and v from one packed tensor
                        leaf = kvBase.detach().requiresGrad(true);
                        k = leaf.select(2, 0).transpose(1, 2);
                        v = leaf.select(2, 1).transpose(1, 2);
                        o = o.withEnableGqa(true);
                    } else {                 // one key head broadcast over 4 heads; v without a gradient
                        leaf = k1Base.detach().requiresGrad(true);
                        k = leaf.expand(b, 4, s, d);
                        v = vPlain;
                    }
                    outs[r] = Attention.scaledDotProductAttention(q, k, v, o);
                    outs[r].backward(dO);
                    grads[r] = new Tensor[]{qLeaf.grad(), leaf.grad()};
                }
                String w = (variant == 0 ? "GQA packed kv " : "expanded k ") + why;
                assertTrue(maxDiff(outs[0], outs[1]) <= tol, "output differs by " + maxDiff(outs[0], outs[1]) + ": " + w);
                assertTrue(maxDiff(grads[0][0], grads[1][0]) <= tol, "dq differs by " + maxDiff(grads[0][0], grads[1][0]) + ": " + w);
                assertTrue(maxDiff(grads[0][1], grads[1][1]) <= tol, "d(k, v leaf) differs by " + maxDiff(grads[0][1], grads[1][1]) + ": " + w);
            }
        }
    }

    /** The forward's output (the F32 result itself) and its inputs are read again by the backward: changing one in place fails. */
    @Test
    void changingTheOutputOrAnInputInPlaceBeforeTheBackwardFails() {
        for (int which = 0; which < 2; which++) {
            Tensor q = randn(DType.F32, 1, 2, 9, 8).requiresGrad(true), k = randn(DType.F32, 1, 2, 9, 8);
            Tensor v = randn(DType.F32, 1, 2, 9, 8);
            Tensor out = Attention.scaledDotProductAttention(q, k, v, AttentionOptions.causal().withBackend(AttentionBackend.FLASH_CPU));
            (which == 0 ? out : k).fill(1);
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> out.sum().backward());
            assertTrue(e.getMessage().contains("modified in place"), e.getMessage());
        }
    }

    @Test
    void threeDimensionalInputsGiveThreeDimensionalOutput() {
        Tensor q = randn(DType.F64, 2, 5, 4), k = randn(DType.F64, 2, 7, 4), v = randn(DType.F64, 2, 7, 3);
        Tensor o = Attention.scaledDotProductAttention(q, k, v);
        assertArrayEquals(new int[]{2, 5, 3}, o.shape());
        Tensor ref = Attention.scaledDotProductAttention(q, k, v, AttentionOptions.DEFAULT.withBackend(AttentionBackend.MATH));
        assertTrue(maxDiff(ref, o) < 1e-10);
    }

    @Test
    void fullyMaskedRowsGiveZeroOutput() {
        Tensor q = randn(DType.F64, 1, 1, 4, 4), k = randn(DType.F64, 1, 1, 2, 4), v = randn(DType.F64, 1, 1, 2, 4);
        AttentionOptions o = AttentionOptions.causal().withCausalAlignment(CausalAlignment.BOTTOM_RIGHT);
        for (AttentionBackend be : new AttentionBackend[]{AttentionBackend.MATH, AttentionBackend.FLASH_CPU}) {
            Tensor out = Attention.scaledDotProductAttention(q, k, v, o.withBackend(be));
            double[] a = out.toDoubleArray();
            for (int i = 0; i < 8; i++) assertEquals(0.0, a[i], 0.0, be + " element " + i);   // rows 0, 1 see no key
            assertNotEquals(0.0, a[8], be.toString());
        }
    }

    @Test
    void reducedPrecisionInputs() {
        Tensor q = randn(DType.BF16, 1, 2, 9, 32), k = randn(DType.BF16, 1, 2, 9, 32), v = randn(DType.BF16, 1, 2, 9, 32);
        Tensor ref = Attention.scaledDotProductAttention(q.to(DType.F64), k.to(DType.F64), v.to(DType.F64), AttentionOptions.causal());
        Tensor got = Attention.scaledDotProductAttention(q, k, v, AttentionOptions.causal().withBackend(AttentionBackend.FLASH_CPU));
        assertEquals(DType.BF16, got.dtype());
        assertTrue(maxDiff(ref, got.to(DType.F64)) < 2e-2, "seed " + seed);
    }

    private void gradCheck(AttentionOptions o, int hq, int hkv) {
        Tensor q = randn(DType.F64, 1, hq, 3, 4).requiresGrad(true);
        Tensor k = randn(DType.F64, 1, hkv, 5, 4).requiresGrad(true);
        Tensor v = randn(DType.F64, 1, hkv, 5, 3).requiresGrad(true);
        AttentionOptions opts = o.withBackend(AttentionBackend.FLASH_CPU).withEnableGqa(hq != hkv);
        GradCheck.check(in -> Attention.scaledDotProductAttention(in.get(0), in.get(1), in.get(2), opts), List.of(q, k, v),
                GradCheck.Tolerance.DEFAULT, seed);
    }

    @Test
    void gradCheckFlashCpu() {
        gradCheck(AttentionOptions.DEFAULT, 2, 2);
        gradCheck(AttentionOptions.causal(), 2, 1);
        gradCheck(AttentionOptions.causal().withCausalAlignment(CausalAlignment.BOTTOM_RIGHT), 2, 2);
        gradCheck(AttentionOptions.DEFAULT.withDropout(0.25).withDropoutSeed(1234, 5), 2, 2);
    }

    @Test
    void dropoutAgreesInF32() {
        Case c = CASES[2];
        compare(c, c.options().withDropout(0.2).withDropoutSeed(rnd.nextLong(), 77), DType.F32, 2e-4);
    }

    @Test
    void backwardIsBitwiseReproducible() {
        Tensor q = randn(DType.F32, 2, 4, 70, 32), k = randn(DType.F32, 2, 2, 90, 32), v = randn(DType.F32, 2, 2, 90, 32);
        AttentionOptions o = AttentionOptions.causal().withEnableGqa(true).withDropout(0.1).withDropoutSeed(5, 6)
                .withBackend(AttentionBackend.FLASH_CPU);
        float[][] first = null;
        for (int run = 0; run < 2; run++) {
            Tensor lq = q.detach().requiresGrad(true), lk = k.detach().requiresGrad(true), lv = v.detach().requiresGrad(true);
            Tensor out = Attention.scaledDotProductAttention(lq, lk, lv, o);
            out.sum().backward();
            float[][] now = {out.toFloatArray(), lq.grad().toFloatArray(), lk.grad().toFloatArray(), lv.grad().toFloatArray()};
            if (first == null) first = now;
            else for (int i = 0; i < 4; i++) assertArrayEquals(first[i], now[i], 0f, "tensor " + i);
        }
    }

    @Test
    void mathGivesZeroAndFiniteGradientsForRowsMaskedByADenseMask() {
        Tensor q = randn(DType.F64, 1, 1, 3, 4).requiresGrad(true), k = randn(DType.F64, 1, 1, 3, 4).requiresGrad(true);
        Tensor v = randn(DType.F64, 1, 1, 3, 4).requiresGrad(true);
        double inf = Double.NEGATIVE_INFINITY;
        Tensor mask = Tensor.fromArray(new double[]{0, inf, 0, inf, inf, inf, 0, 0, 0}, 3, 3);   // row 1 sees nothing
        Tensor out = Attention.scaledDotProductAttention(q, k, v, AttentionOptions.DEFAULT.withAttnMask(mask));
        double[] o = out.toDoubleArray();
        for (int e = 4; e < 8; e++) assertEquals(0.0, o[e], 0.0);
        out.sum().backward();
        for (Tensor t : new Tensor[]{q, k, v})
            for (double g : t.grad().toDoubleArray()) assertTrue(Double.isFinite(g), "gradient " + g);
        for (int e = 4; e < 8; e++) assertEquals(0.0, q.grad().toDoubleArray()[e], 0.0);
    }

    @Test
    void flashCpuMatchesMathOnRandomShapes() {
        int[] lengths = {1, 17, 65, 130};
        int[] dims = {32, 64, 96, 128, 256};
        for (int n = 0; n < 4; n++) {
            int hkv = 1 + rnd.nextInt(2), hq = hkv * (1 + rnd.nextInt(3));
            int sq = rnd.nextBoolean() ? lengths[rnd.nextInt(4)] : 1 + rnd.nextInt(80);
            int sk = rnd.nextBoolean() ? lengths[rnd.nextInt(4)] : 1 + rnd.nextInt(80);
            int d = dims[rnd.nextInt(dims.length)];
            int dv = rnd.nextBoolean() ? d : 8 + rnd.nextInt(40);
            Case c = new Case(1 + rnd.nextInt(2), hq, hkv, sq, sk, d, dv, rnd.nextBoolean(),
                    rnd.nextBoolean() ? CausalAlignment.TOP_LEFT : CausalAlignment.BOTTOM_RIGHT);
            AttentionOptions o = c.options();
            if (rnd.nextBoolean()) o = o.withDropout(0.15).withDropoutSeed(rnd.nextLong(), rnd.nextInt());
            compare(c, o, DType.F64, 1e-9);
        }
    }

    @Test
    void savedLogsumexpMatchesTheScores() {
        Tensor q = randn(DType.F64, 1, 2, 5, 8), k = randn(DType.F64, 1, 2, 7, 8), v = randn(DType.F64, 1, 2, 7, 8);
        AttentionOptions o = AttentionOptions.causal().withCausalAlignment(CausalAlignment.BOTTOM_RIGHT);
        Tensor lse = Attention.withLogsumexp(q, k, v, o.withBackend(AttentionBackend.FLASH_CPU))[1];
        assertArrayEquals(new int[]{1, 2, 5}, lse.shape());
        double scale = 1 / Math.sqrt(8);
        for (int h = 0; h < 2; h++)
            for (int i = 0; i < 5; i++) {
                double sum = 0;
                for (int j = 0; j <= i + 2; j++) {
                    double dot = 0;
                    for (int e = 0; e < 8; e++) dot += q.get(0, h, i, e) * k.get(0, h, j, e);
                    sum += Math.exp(dot * scale);
                }
                assertEquals(Math.log(sum), lse.get(0, h, i), 1e-12, "seed " + seed);
            }
    }
}
