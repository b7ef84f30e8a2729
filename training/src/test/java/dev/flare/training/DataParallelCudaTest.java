package dev.flare.training;

import dev.flare.models.gpt.GPT;
import dev.flare.tensor.Device;
import dev.flare.tensor.Tensor;
import dev.flare.tensor.cuda.Cuda;
import dev.flare.tensor.cuda.Nccl;
import dev.flare.tensor.random.Generator;
import dev.flare.training.distributed.DataParallel;
import dev.flare.training.distributed.ProcessGroup;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The data-parallel path forced through NCCL with a world of one on cuda:0: the all-reduce must leave gradients
 * bit for bit as they were, and training must match plain training. Skipped without a GPU or without NCCL.
 */
@Tag("cuda")
class DataParallelCudaTest {
    @TempDir Path dir;

    private static void assumeNccl() {
        Assumptions.assumeTrue(Cuda.isAvailable(), () -> "CUDA unavailable: " + Cuda.unavailableReason());
        Assumptions.assumeTrue(Nccl.isAvailable(), () -> "NCCL unavailable: " + Nccl.unavailableReason());
    }

    @Test
    void worldOfOneReduceLeavesGradientsBitForBit() throws Exception {
        assumeNccl();
        GPT gpt = new GPT(TinyRuns.model(0), new Generator(3));
        gpt.to(Device.cuda(0));
        Random rnd = new Random(3);
        long[] ids = new long[4 * TinyRuns.CONTEXT];
        for (int i = 0; i < ids.length; i++) ids[i] = rnd.nextInt(TinyRuns.VOCAB);
        Tensor x = Tensor.fromArray(ids, 4, TinyRuns.CONTEXT).to(Device.cuda(0));
        gpt.forward(x, x).loss().backward();
        List<Tensor> params = new ArrayList<>();
        gpt.namedParameters().forEach((n, p) -> params.add(p.value()));
        List<float[]> before = new ArrayList<>();
        for (Tensor p : params) before.add(p.grad().toFloatArray());
        try (DataParallel dp = DataParallel.withNccl(ProcessGroup.single(), Device.cuda(0))) {
            dp.reduceGradients(params);
        }
        for (int i = 0; i < params.size(); i++) assertArrayEquals(before.get(i), params.get(i).grad().toFloatArray(), "gradient " + i);
    }

    private List<double[]> train(Path out, boolean nccl) throws Exception {
        TrainConfig cfg = TinyRuns.config(TinyRuns.model(0), out, 3, 11).toBuilder().device(Device.cuda(0)).build();
        List<double[]> rows = new ArrayList<>();
        DataParallel dp = nccl ? DataParallel.withNccl(ProcessGroup.single(), Device.cuda(0)) : DataParallel.single();
        try (Trainer t = Trainer.create(cfg, TinyRuns.pattern(600), TinyRuns.pattern(300), dp)) {
            t.run(m -> rows.add(new double[]{m.loss(), m.gradNorm()}));
        }
        return rows;
    }

    @Test
    void trainingThroughNcclMatchesPlainTraining() throws Exception {
        assumeNccl();
        List<double[]> plain = train(dir.resolve("plain"), false), nccl = train(dir.resolve("nccl"), true);
        // step 1's forward is deterministic; later steps inherit the embedding backward's F32 atomics, whose
        // order (so last bits) varies run to run even without NCCL (docs/cuda.md)
        assertEquals(plain.get(0)[0], nccl.get(0)[0], "step 1 loss, bit for bit");
        for (int i = 0; i < plain.size(); i++)
            for (int k = 0; k < 2; k++)
                assertEquals(plain.get(i)[k], nccl.get(i)[k], 1e-5 * Math.abs(plain.get(i)[k]), "step " + (i + 1) + (k == 0 ? " loss" : " grad norm"));
    }
}
