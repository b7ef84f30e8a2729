package dev.flare.training.optim;

import dev.flare.tensor.DType;
import dev.flare.tensor.Device;
import dev.flare.tensor.Tensor;
import dev.flare.tensor.random.Generator;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** AdamW against hand-computed values, fused vs reference paths, parameter groups, schedules, clipping. */
class OptimTest {
    private final long seed = new Random().nextLong();

    @Test
    void adamWMatchesTheUpdateComputedByHand() {
        double[] w0 = {0.5, -1.0, 2.0};
        double[][] grads = {{0.1, -0.2, 0.3}, {-0.4, 0.5, 0.0}};
        double lr = 0.01, b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = 0.1;
        for (DType t : new DType[]{DType.F32, DType.F64}) {
            for (boolean reference : new boolean[]{false, true}) {
                Tensor p = Tensor.fromArray(w0).to(t).requiresGrad(true);
                AdamW opt = new AdamW(List.of(new AdamW.Group("all", List.of(p), wd)), b1, b2, eps);
                opt.useReferencePath(reference);
                double[] w = w0.clone(), m = new double[3], v = new double[3];
                for (int s = 1; s <= 2; s++) {
                    p.setGrad(Tensor.fromArray(grads[s - 1]).to(t));
                    opt.step(lr);
                    for (int i = 0; i < 3; i++) {
                        double g = grads[s - 1][i];
                        w[i] -= lr * wd * w[i];
                        m[i] = b1 * m[i] + (1 - b1) * g;
                        v[i] = b2 * v[i] + (1 - b2) * g * g;
                        w[i] -= lr * (m[i] / (1 - Math.pow(b1, s))) / (Math.sqrt(v[i] / (1 - Math.pow(b2, s))) + eps);
                    }
                }
                assertArrayEquals(w, p.toDoubleArray(), t == DType.F32 ? 1e-6 : 1e-12, t + (reference ? " reference" : " fused"));
                assertEquals(2, opt.stepCount());
            }
        }
    }

    @Test
    void fusedAndReferencePathsAgreeOnRandomTensors() {
        Generator gen = new Generator(seed);
        Tensor a = Tensor.randn(gen, 17, 33).requiresGrad(true), b = a.detach().copy().requiresGrad(true);
        AdamW fused = new AdamW(List.of(new AdamW.Group("g", List.of(a), 0.05)), 0.9, 0.95, 1e-8);
        AdamW ref = new AdamW(List.of(new AdamW.Group("g", List.of(b), 0.05)), 0.9, 0.95, 1e-8);
        ref.useReferencePath(true);
        for (int s = 0; s < 5; s++) {
            Tensor g = Tensor.randn(gen, 17, 33);
            a.setGrad(g);
            b.setGrad(g.copy());
            fused.step(3e-3);
            ref.step(3e-3);
        }
        // The paths round differently (fused keeps m/v updates in registers) and five steps compound it: allow
        // 2e-6 relative (about 16 float ulps), far below what a wrong formula gives (> 1e-3).
        float[] want = b.toFloatArray(), got = a.toFloatArray();
        for (int i = 0; i < want.length; i++)
            assertEquals(want[i], got[i], 2e-6f * Math.max(1f, Math.abs(want[i])), "index " + i + ", seed " + seed);
    }

    @Test
    void defaultGroupsExemptBiasesNormsAndEmbeddings() {
        Map<String, Tensor> named = new LinkedHashMap<>();
        Tensor wte = Tensor.zeros(10, 4).requiresGrad(true);
        named.put("wte.weight", wte);
        named.put("h.0.attn.c_attn.weight", Tensor.zeros(4, 12).requiresGrad(true));
        named.put("h.0.attn.c_attn.bias", Tensor.zeros(12).requiresGrad(true));
        named.put("h.0.ln_1.weight", Tensor.zeros(4).requiresGrad(true));
        named.put("lm_head.weight", wte);                       // tied: listed once
        List<AdamW.Group> groups = AdamW.defaultGroups(named, 0.1);
        assertEquals(1, groups.get(0).params().size());
        assertEquals(3, groups.get(1).params().size());
        assertEquals(0.0, groups.get(1).weightDecay());
    }

    @Test
    void warmupCosineScheduleValues() {
        LrSchedule s = new LrSchedule.WarmupCosine(6e-4, 6e-5, 10, 110);
        assertEquals(6e-5, s.at(0), 1e-15);                     // 6e-4 * 1/10
        assertEquals(6e-4, s.at(9), 1e-15);
        assertEquals(6e-4, s.at(10), 1e-15);
        assertEquals(6e-5 + 0.5 * (6e-4 - 6e-5), s.at(60), 1e-15);
        assertEquals(6e-5, s.at(110), 1e-15);
        assertEquals(6e-5, s.at(10_000), 1e-15);
        assertEquals(1e-3, new LrSchedule.Constant(1e-3).at(123), 0);
        assertThrows(IllegalArgumentException.class, () -> new LrSchedule.WarmupCosine(1e-3, 1e-2, 0, 10));
    }

    @Test
    void clippingScalesToTheMaxNormAndReportsTheNormBefore() {
        Tensor a = Tensor.zeros(2).requiresGrad(true), b = Tensor.zeros(1).requiresGrad(true);
        a.setGrad(Tensor.fromArray(new float[]{3, 0}));
        b.setGrad(Tensor.fromArray(new float[]{4}));
        double norm = GradClip.clipGlobalNorm(List.of(a, b), 1.0);
        assertEquals(5.0, norm, 1e-6);
        assertEquals(1.0, GradClip.globalNorm(List.of(a, b)), 1e-5);
        assertEquals(0.5, GradClip.clipGlobalNorm(List.of(a, b), 10.0) * 0.5, 1e-5, "no scaling below the max");
        b.setGrad(Tensor.fromArray(new float[]{Float.NaN}));
        assertTrue(Double.isNaN(GradClip.clipGlobalNorm(List.of(a, b), 1.0)));
        assertTrue(Device.CPU.isCpu());
    }
}
