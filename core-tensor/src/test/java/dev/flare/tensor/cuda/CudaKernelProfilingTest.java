package dev.flare.tensor.cuda;

import dev.flare.tensor.DType;
import dev.flare.tensor.MemoryScope;
import dev.flare.tensor.Tensor;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** Kernel profiling on the GPU: each launch and cuBLAS call is timed under its name while on, nothing while off. */
@Tag("cuda")
class CudaKernelProfilingTest {
    @Test
    void timesKernelsAndGemmsWhileOnAndNothingWhileOff() {
        CudaBackend b = CudaTestSupport.gpu();
        boolean was = b.isKernelProfiling();
        try (MemoryScope ignored = MemoryScope.open()) {
            Tensor x = Tensor.ones(DType.BF16, b.device(), 512, 256), w = Tensor.ones(DType.BF16, b.device(), 256, 384);
            b.setKernelProfiling(true);
            b.kernelProfile().reset();
            for (int i = 0; i < 3; i++) x.matmul(w).add(1.0);
            List<KernelProfile.Row> rows = b.kernelProfile().rows();
            assertTrue(rows.stream().anyMatch(r -> r.name().startsWith("cublasGemmEx BF16") && r.calls() == 3 && r.totalMs() > 0), rows.toString());
            assertTrue(rows.stream().anyMatch(r -> !r.name().startsWith("cublas") && r.calls() >= 3 && r.totalMs() > 0), rows.toString());
            b.setKernelProfiling(false);
            b.kernelProfile().reset();
            x.matmul(w).add(1.0);
            assertTrue(b.kernelProfile().rows().isEmpty(), "timed while off: " + b.kernelProfile().rows());
        } finally {
            b.setKernelProfiling(was);
        }
    }
}
