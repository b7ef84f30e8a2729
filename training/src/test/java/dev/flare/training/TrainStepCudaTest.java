package dev.flare.training;

import dev.flare.models.gpt.GPT;
import dev.flare.models.gpt.GPTConfig;
import dev.flare.tensor.DType;
import dev.flare.tensor.Device;
import dev.flare.tensor.Tensor;
import dev.flare.tensor.cuda.Cuda;
import dev.flare.tensor.random.Generator;
import dev.flare.training.optim.AdamW;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * One F32 training step of a tiny GPT (forward, backward, AdamW) on CUDA against the same step on the CPU, from
 * the same weights and batch. Tolerances: loss 1e-5 relative, every gradient and updated weight 1e-4 relative
 * to its tensor's largest value (F32 sums in a different order on each device). Skipped without a GPU.
 */
@Tag("cuda")
class TrainStepCudaTest {
    private final long seed = new Random().nextLong();

    @Test
    void oneStepOnCudaMatchesTheCpuStep() {
        Assumptions.assumeTrue(Cuda.isAvailable(), () -> "CUDA unavailable: " + Cuda.unavailableReason());
        GPTConfig cfg = GPTConfig.preset("nano").withVocabSize(50).withBlockSize(32);
        Random rnd = new Random(seed);
        long[] ids = new long[4 * 32], targets = new long[4 * 32];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = rnd.nextInt(50);
            targets[i] = rnd.nextInt(50);
        }
        double[] losses = new double[2];
        Map<String, Tensor>[] grads = new Map[2], weights = new Map[2];
        Device[] devices = {Device.CPU, Device.cuda(0)};
        for (int run = 0; run < 2; run++) {
            final int r = run;
            GPT gpt = new GPT(cfg, new Generator(seed));
            gpt.eval();   // no dropout: the two devices must see the same function
            gpt.to(devices[r]);
            Map<String, Tensor> named = new java.util.LinkedHashMap<>();
            gpt.namedParameters().forEach((n, p) -> named.put(n, p.value()));
            AdamW opt = new AdamW(AdamW.defaultGroups(named, 0.1), 0.9, 0.95, 1e-8);
            Tensor loss = gpt.forward(Tensor.fromArray(ids, 4, 32).to(devices[r]), Tensor.fromArray(targets, 4, 32).to(devices[r])).loss();
            loss.backward();
            losses[r] = loss.item();
            grads[r] = new java.util.TreeMap<>();
            gpt.namedParameters().forEach((n, p) -> grads[r].put(n, p.value().grad().to(Device.CPU).copy()));
            opt.step(1e-3);
            weights[r] = new java.util.TreeMap<>();
            gpt.namedParameters().forEach((n, p) -> weights[r].put(n, p.value().to(Device.CPU).copy()));
        }
        assertTrue(Math.abs(losses[0] - losses[1]) <= 1e-5 * Math.abs(losses[0]), "loss " + losses[0] + " vs " + losses[1] + " (seed " + seed + ")");
        for (String n : grads[0].keySet()) {
            double[] g = grads[0].get(n).to(DType.F64).toDoubleArray();
            close("gradient of " + n, g, grads[1].get(n).to(DType.F64).toDoubleArray(), null);
            // AdamW's first step moves each weight by about lr * sign(g): where g is rounding noise (the key bias's
            // gradient is zero in exact arithmetic) the sign is arbitrary, so only clear gradients are compared.
            double gMax = 0;
            for (double v : g) gMax = Math.max(gMax, Math.abs(v));
            boolean[] clear = new boolean[g.length];
            for (int i = 0; i < g.length; i++) clear[i] = Math.abs(g[i]) > 1e-3 * gMax;
            close("updated " + n, weights[0].get(n).to(DType.F64).toDoubleArray(), weights[1].get(n).to(DType.F64).toDoubleArray(), clear);
        }
    }

    /** Max difference within 1e-4 of the tensor's largest value, over the elements selected (all when null). */
    private void close(String what, double[] a, double[] b, boolean[] selected) {
        double scale = 1e-12, worst = 0;
        for (double v : a) scale = Math.max(scale, Math.abs(v));
        for (int i = 0; i < a.length; i++) if (selected == null || selected[i]) worst = Math.max(worst, Math.abs(a[i] - b[i]));
        assertTrue(worst <= 1e-4 * scale, what + ": max difference " + worst + " vs largest value " + scale + " (seed " + seed + ")");
    }
}
