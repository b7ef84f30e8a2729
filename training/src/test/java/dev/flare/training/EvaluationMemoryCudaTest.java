package dev.flare.training;

import dev.flare.tensor.Device;
import dev.flare.tensor.cuda.Cuda;
import dev.flare.tensor.cuda.CudaBackend;
import dev.flare.tensor.cuda.MemoryStats;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Evaluation over K batches holds one batch's activations at a time: its peak device memory does not grow with K.
 * (It once kept all K batches' activations until the end, which ran GPT-2 124M at 16 x 1024 tokens out of memory
 * at its first evaluation.) Skipped without a GPU.
 */
@Tag("cuda")
class EvaluationMemoryCudaTest {
    @TempDir
    Path dir;

    /** Peak bytes allocated above the starting point during one evaluate() over evalIters batches. */
    private long evaluationPeak(int evalIters, String out) throws Exception {
        TrainConfig cfg = TinyRuns.config(TinyRuns.model(0), dir.resolve(out), 2, 7).toBuilder()
                .batchSize(16).evalIters(evalIters).device(Device.cuda(0)).build();
        try (Trainer t = Trainer.create(cfg, TinyRuns.pattern(4096), TinyRuns.pattern(4096))) {
            CudaBackend gpu = CudaBackend.of(0);
            t.evaluate();                                   // first call: one-time allocations (cuBLAS workspace, tables)
            gpu.synchronize();
            gpu.allocator().cache().resetPeak();
            long before = gpu.memoryStats().allocatedBytes();
            t.evaluate();
            MemoryStats after = gpu.memoryStats();
            assertTrue(after.allocatedBytes() == before, "evaluate() kept memory: " + before + " -> " + after.allocatedBytes() + " bytes");
            return after.peakAllocatedBytes() - before;
        }
    }

    @Test
    void evaluationPeakDoesNotGrowWithTheNumberOfBatches() throws Exception {
        Assumptions.assumeTrue(Cuda.isAvailable(), () -> "CUDA unavailable: " + Cuda.unavailableReason());
        long one = evaluationPeak(1, "one"), eight = evaluationPeak(8, "eight");
        assertTrue(one > 0, "evaluation allocated nothing on the GPU");
        assertTrue(eight <= one * 1.25, "peak over 8 batches " + eight + " bytes vs " + one + " over 1");
    }
}
