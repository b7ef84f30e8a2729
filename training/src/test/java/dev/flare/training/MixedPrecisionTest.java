package dev.flare.training;

import dev.flare.models.gpt.GPT;
import dev.flare.tensor.DType;
import dev.flare.tensor.Tensor;
import dev.flare.tensor.random.Generator;
import dev.flare.training.data.Tokens;
import dev.flare.training.precision.LossScaler;
import dev.flare.training.precision.MasterWeights;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/**
 * BF16/FP16 compute with F32 master weights, on the CPU: the model holds the rounded masters, gradients reach the
 * masters unscaled in F32, training follows the F32 run closely, and FP16 overflow skips steps and lowers the scale.
 */
class MixedPrecisionTest {
    @TempDir Path dir;
    private final long seed = Long.getLong("flare.test.seed", new Random().nextLong());
    private final Tokens data = TinyRuns.pattern(3000);

    @Test
    void mastersStayF32AndTheModelHoldsTheirRoundedCopy() {
        GPT model = new GPT(TinyRuns.model(0), new Generator(seed));
        List<float[]> before = model.parameters().stream().map(Tensor::toFloatArray).toList();
        MasterWeights w = MasterWeights.of(model, DType.BF16);
        assertTrue(w.isMixed());
        List<Tensor> masters = w.list(), compute = model.parameters();
        for (int i = 0; i < masters.size(); i++) {
            assertEquals(DType.F32, masters.get(i).dtype());
            assertEquals(DType.BF16, compute.get(i).dtype());
            assertArrayEquals(before.get(i), masters.get(i).toFloatArray(), "the masters are the model's former F32 weights");
        }
        Random r = new Random(seed);
        for (Tensor m : masters) m.copyFrom(Tensor.randn(new Generator(r.nextLong()), m.shape()));
        w.copyToModel();
        for (int i = 0; i < masters.size(); i++)
            assertArrayEquals(masters.get(i).to(DType.BF16).toFloatArray(), compute.get(i).toFloatArray(), "seed " + seed);
    }

    /**
     * The masters are views of one F32 buffer and the model's weights views of one BF16 buffer (tied weights one view),
     * with no gaps or overlaps, so copyToModel is one cast: the same weights as casting each master.
     */
    @Test
    void weightsAreViewsOfFlatBuffersAndCopyToModelRoundsEachMaster() {
        GPT model = new GPT(TinyRuns.model(0), new Generator(seed));
        MasterWeights w = MasterWeights.of(model, DType.BF16);
        dev.flare.tensor.Storage masters = w.list().getFirst().storage(), compute = model.parameters().getFirst().storage();
        for (Tensor m : w.list()) assertSame(masters, m.storage(), "every master is a view of one buffer");
        for (Tensor p : model.parameters()) assertSame(compute, p.storage(), "every model weight is a view of one buffer");
        assertEquals(masters.numel(), w.list().stream().mapToLong(Tensor::numel).sum(), "no gaps, no overlaps");
        assertEquals(masters.numel(), model.parameters().stream().mapToLong(Tensor::numel).sum());
        Random r = new Random(seed);
        for (Tensor m : w.list()) m.copyFrom(Tensor.randn(new Generator(r.nextLong()), m.shape()));
        w.copyToModel();
        for (int i = 0; i < w.list().size(); i++)
            assertArrayEquals(w.list().get(i).to(DType.BF16).toFloatArray(), model.parameters().get(i).toFloatArray(), "seed " + seed);
    }

    /**
     * The flat layout releases the model's former F32 tensors (their values now live in the flat masters), and the
     * per-tensor layout (a model on several devices) keeps them as the masters; both give the model the same weights.
     */
    @Test
    void flatAndPerTensorLayoutsGiveTheSameWeights() {
        GPT flatModel = new GPT(TinyRuns.model(0), new Generator(seed)), perModel = new GPT(TinyRuns.model(0), new Generator(seed));
        List<Tensor> formerFlat = flatModel.parameters(), formerPer = perModel.parameters();
        MasterWeights flat = MasterWeights.of(flatModel, DType.BF16), per = MasterWeights.of(perModel, DType.BF16, false);
        for (Tensor t : formerFlat) assertTrue(t.storage().isReleased(), "the flat layout releases the former F32 tensors");
        for (int i = 0; i < formerPer.size(); i++) assertSame(formerPer.get(i), per.list().get(i), "per tensor: they are the masters");
        assertNotSame(per.list().get(0).storage(), per.list().get(1).storage());
        Random r = new Random(seed);
        for (int i = 0; i < flat.list().size(); i++) {
            Tensor values = Tensor.randn(new Generator(r.nextLong()), flat.list().get(i).shape());
            flat.list().get(i).copyFrom(values);
            per.list().get(i).copyFrom(values);
        }
        flat.copyToModel();
        per.copyToModel();
        for (int i = 0; i < flat.list().size(); i++)
            assertArrayEquals(perModel.parameters().get(i).toFloatArray(), flatModel.parameters().get(i).toFloatArray(), "seed " + seed);
    }

    @Test
    void gradientsReachTheMastersDividedByTheLossScale() {
        GPT model = new GPT(TinyRuns.model(0), new Generator(seed));
        MasterWeights w = MasterWeights.of(model, DType.F16);
        Tensor ids = Tensor.fromArray(new long[2 * TinyRuns.CONTEXT], 2, TinyRuns.CONTEXT);
        model.forward(ids, ids).loss().mul(1024.0).backward();
        List<float[]> compute = model.parameters().stream().map(p -> p.grad().to(DType.F32).toFloatArray()).toList();
        w.accumulateGradients(1024.0);
        List<Tensor> masters = w.list();
        for (int i = 0; i < masters.size(); i++) {
            float[] got = masters.get(i).grad().toFloatArray(), want = compute.get(i);
            for (int j = 0; j < want.length; j++) assertEquals(want[j] / 1024f, got[j], 0f, "exact: 1/1024 is a power of two");
            assertEquals(0.0, model.parameters().get(i).grad().abs().sum().item(), "compute gradients are cleared");
        }
        assertThrows(IllegalArgumentException.class, () -> MasterWeights.of(model, DType.BF16), "an F16 model cannot provide F32 masters");
    }

    /**
     * Micro-batches add up in the masters: the first after zeroing is cast in (the masters hold zeros), the next ones
     * are added; after zeroGradients the next micro-batch starts again from nothing (nothing stale), on the flat and
     * the per-parameter path alike.
     */
    @Test
    void microBatchesAddUpAndZeroingStartsAfresh() {
        for (boolean replaceOne : new boolean[]{false, true}) {
            GPT model = new GPT(TinyRuns.model(0), new Generator(seed));
            MasterWeights w = MasterWeights.of(model, DType.BF16);
            if (replaceOne) model.parameters().get(0).setGrad(model.parameters().get(0).grad().copy());
            Random r = new Random(seed);
            List<List<float[]>> perMicro = new ArrayList<>();
            for (int micro = 0; micro < 3; micro++) {
                if (micro == 2) w.zeroGradients();
                long[] ids = new long[2 * TinyRuns.CONTEXT];
                for (int i = 0; i < ids.length; i++) ids[i] = r.nextInt(TinyRuns.model(0).vocabSize());
                Tensor x = Tensor.fromArray(ids, 2, TinyRuns.CONTEXT);
                model.forward(x, x).loss().mul(8.0).backward();
                perMicro.add(model.parameters().stream().map(p -> p.grad().to(DType.F32).toFloatArray()).toList());
                w.accumulateGradients(8.0);
                List<Tensor> masters = w.list();
                for (int i = 0; i < masters.size(); i++) {
                    float[] got = masters.get(i).grad().toFloatArray();
                    for (int j = 0; j < got.length; j++) {
                        float want = micro == 1 ? perMicro.get(0).get(i)[j] / 8f + perMicro.get(1).get(i)[j] / 8f
                                : perMicro.get(micro).get(i)[j] / 8f;
                        assertEquals(want, got[j], 0f, "micro-batch " + micro + (replaceOne ? ", per-parameter" : ", flat") + ", seed " + seed);
                    }
                }
            }
        }
    }

    /**
     * The master gradients are views of one F32 buffer and the model's of one BF16 buffer, so accumulating, the norm,
     * clipping and zeroing are whole-buffer ops; a model whose gradient was replaced (the views no longer intact)
     * takes the per-parameter path, and both give the same gradients, norm and clipped values.
     */
    @Test
    void flatGradientBuffersMatchThePerParameterPath() {
        GPT flatModel = new GPT(TinyRuns.model(0), new Generator(seed)), perModel = new GPT(TinyRuns.model(0), new Generator(seed));
        MasterWeights flat = MasterWeights.of(flatModel, DType.BF16), per = MasterWeights.of(perModel, DType.BF16);
        Tensor first = perModel.parameters().get(0);
        first.setGrad(first.grad().copy());     // no longer a view of the flat buffer: per-parameter path
        assertEquals(1, flat.gradients().size(), "one flat gradient buffer");
        assertEquals(flat.list().size(), per.gradients().size());
        dev.flare.tensor.Storage shared = flat.list().get(0).grad().storage();
        for (Tensor m : flat.list()) assertSame(shared, m.grad().storage(), "every master gradient is a view of one buffer");

        Random r = new Random(seed);
        long[] ids = new long[2 * TinyRuns.CONTEXT];
        for (int i = 0; i < ids.length; i++) ids[i] = r.nextInt(TinyRuns.model(0).vocabSize());
        Tensor x = Tensor.fromArray(ids, 2, TinyRuns.CONTEXT);
        for (GPT m : new GPT[]{flatModel, perModel}) m.forward(x, x).loss().mul(8.0).backward();
        flat.accumulateGradients(8.0);
        per.accumulateGradients(8.0);
        for (int i = 0; i < flat.list().size(); i++)
            assertArrayEquals(per.list().get(i).grad().toFloatArray(), flat.list().get(i).grad().toFloatArray(), "seed " + seed);
        for (Tensor p : flatModel.parameters()) assertEquals(0.0, p.grad().abs().sum().item(), "compute gradients are cleared");

        double nFlat = dev.flare.training.optim.GradClip.clipGlobalNormOf(flat.gradients(), 1e-3);
        double nPer = dev.flare.training.optim.GradClip.clipGlobalNormOf(per.gradients(), 1e-3);
        assertEquals(nPer, nFlat, 1e-6 * nPer, "seed " + seed);
        assertTrue(nFlat > 1e-3, "the clip must scale: norm " + nFlat);
        for (int i = 0; i < flat.list().size(); i++) {
            float[] a = per.list().get(i).grad().toFloatArray(), b = flat.list().get(i).grad().toFloatArray();
            for (int j = 0; j < a.length; j++) assertEquals(a[j], b[j], 1e-6 * Math.abs(a[j]) + 1e-12, "clipped, seed " + seed);
        }
        flat.zeroGradients();
        for (Tensor m : flat.list()) assertEquals(0.0, m.grad().abs().sum().item(), "zeroed");
        assertEquals(1, flat.gradients().size(), "still the flat buffer after zeroing");
    }

    private List<StepMetrics> run(Precision p, String out) throws Exception {
        TrainConfig cfg = TinyRuns.config(TinyRuns.model(0), dir.resolve(out), 30, seed).toBuilder().precision(p).build();
        List<StepMetrics> steps = new ArrayList<>();
        try (Trainer t = Trainer.create(cfg, data, data)) {
            // These gradients overflow F16 near a loss scale of 2^17, so the standard 2^16 skips a step now and then,
            // and one skipped step early on leaves the curve a step behind FP32's. Starting at 2^12 compares the
            // precisions alone (the overflow handling has its own test below).
            if (p == Precision.FP16) t.scaler.restore(Math.pow(2, 12), 0);
            t.run(steps::add);
            assertEquals(0, t.skippedSteps(), p + ": skipped steps; seed " + seed);
        }
        return steps;
    }

    @Test
    void bf16AndFp16TrainLikeFp32() throws Exception {
        List<StepMetrics> f32 = run(Precision.FP32, "f32");
        for (Precision p : new Precision[]{Precision.BF16, Precision.FP16}) {
            List<StepMetrics> low = run(p, p.toString());
            assertEquals(f32.getFirst().loss(), low.getFirst().loss(), 0.02, p + " first loss, seed " + seed);
            double a = f32.getLast().loss(), b = low.getLast().loss();
            assertTrue(b < 0.8 * low.getFirst().loss(), p + " did not learn: " + low.getFirst().loss() + " -> " + b + ", seed " + seed);
            assertEquals(a, b, 0.1 * a, p + " final loss vs fp32, seed " + seed);
        }
    }

    @Test
    void fp16OverflowSkipsTheStepAndHalvesTheScale() throws Exception {
        TrainConfig cfg = TinyRuns.config(TinyRuns.model(0), dir, 24, seed).toBuilder().precision(Precision.FP16).build();
        try (Trainer t = Trainer.create(cfg, data, data)) {
            t.scaler.restore(Math.pow(2, 30), 0);       // loss * 2^30 overflows F16 (max 65504) in backward
            List<StepMetrics> steps = new ArrayList<>();
            t.run(steps::add);
            assertFalse(steps.getFirst().finite(), "step 1 overflowed");
            assertTrue(t.skippedSteps() >= 1 && t.skippedSteps() < 16, "skipped " + t.skippedSteps() + ", seed " + seed);
            assertEquals(Math.pow(2, 30 - t.skippedSteps()), t.lossScale(), "halved once per overflow");
            int firstFinite = 0;
            while (firstFinite < steps.size() && !steps.get(firstFinite).finite()) firstFinite++;
            assertTrue(firstFinite < steps.size() - 4, "no finite step once the scale was halved; seed " + seed);
            // The scale stops at the first value that fits, at the edge of F16's range, and the first updates make the
            // gradients grow: a few more overflows (and halvings) may follow before training goes on. Over 60 seeds
            // 0-2 followed, and 3 once (seed -1198901289186422950, 2^18 to 2^15); more than 4 (a scale 32x or more
            // below the first fit) would mean the halving overshoots.
            long laterSkips = steps.subList(firstFinite, steps.size()).stream().filter(m -> !m.finite()).count();
            assertTrue(laterSkips <= 4, laterSkips + " overflows after the scale first fit; seed " + seed);
            assertTrue(steps.getLast().finite() || steps.get(steps.size() - 2).finite(), "training recovered; seed " + seed);
        }
    }

    @Test
    void lossScalerGrowsBacksOffAndGivesUp() {
        LossScaler s = new LossScaler(8, 3);
        s.update(false);
        s.update(false);
        assertEquals(8, s.scale());
        s.update(false);
        assertEquals(16, s.scale());
        assertEquals(0, s.goodSteps());
        s.update(false);
        s.update(true);
        assertEquals(8, s.scale());
        assertEquals(0, s.goodSteps());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> s.restore(1, 3));
        assertTrue(e.getMessage().startsWith("savedGoodSteps: expected in [0, 3)"), e.getMessage());
        LossScaler tiny = new LossScaler(LossScaler.MIN_SCALE, 10);
        assertThrows(IllegalStateException.class, () -> tiny.update(true));
    }
}
