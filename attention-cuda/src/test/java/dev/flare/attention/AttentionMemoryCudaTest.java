package dev.flare.attention;

import dev.flare.tensor.DType;
import dev.flare.tensor.Device;
import dev.flare.tensor.cuda.CachingAllocator;
import dev.flare.tensor.cuda.Cuda;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * FLASH_CUDA's memory beyond its inputs and results, counted by the caching allocator: the forward adds only the
 * logsumexp (B·H·S floats); the backward adds delta (B·H·S floats) and the fp32 dQ partial sums (B·H·S·D floats, as
 * FlashAttention-2's), each rounded to its allocator size class, plus 1 MiB for small temporaries. Nothing of order
 * S². Skipped without a GPU.
 */
@Tag("cuda")
class AttentionMemoryCudaTest {
    @Test
    void flashCudaHoldsOnlyLogsumexpDeltaAndDqPartialSums() {
        Assumptions.assumeTrue(Cuda.isAvailable(), () -> "CUDA unavailable: " + Cuda.unavailableReason());
        Assumptions.assumeTrue(FlashCudaAttention.isAvailable(), "FlashAttentionKernels.fatbin was not built (no nvcc at build time)");
        int b = 1, h = 4, s = 8192, d = 64;
        AttentionMemoryProbe.measure(Device.cuda(0), AttentionBackend.FLASH_CUDA, DType.BF16, b, h, s, d);   // module load
        AttentionMemoryProbe.Result r = AttentionMemoryProbe.measure(Device.cuda(0), AttentionBackend.FLASH_CUDA, DType.BF16, b, h, s, d);
        long lse = CachingAllocator.roundSize(r.lseBytes()), delta = lse;
        long slack = 1L << 20;   // small temporaries; what matters is the absence of anything S x S (512 MiB here)
        long dqPartials = CachingAllocator.roundSize((long) b * h * s * d * 4);
        String seen = r + "; lse " + lse + " B, dQ partial sums " + dqPartials + " B, score matrix " + r.scoreMatrixBytes() + " B";
        assertTrue(r.forwardExtraBytes() <= lse + slack, "forward held more than the logsumexp: " + seen);
        assertTrue(r.backwardExtraBytes() <= lse + delta + dqPartials + slack,
                "backward held more than lse, delta and dQ partials: " + seen);
    }
}
