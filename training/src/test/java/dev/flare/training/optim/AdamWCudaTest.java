package dev.flare.training.optim;

import dev.flare.tensor.Device;
import dev.flare.tensor.Tensor;
import dev.flare.tensor.cuda.Cuda;
import dev.flare.tensor.random.Generator;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The fused multi-tensor CUDA AdamW against the CPU fused loop on the same random tensors: parameters and both
 * moments bit for bit after several steps, over tensors smaller than, equal to and straddling the kernel's chunk,
 * in two groups with different weight decay. Skipped without a GPU or without the compiled kernels.
 */
@Tag("cuda")
class AdamWCudaTest {
    private static final Device GPU = Device.cuda(0);
    private final long seed = new Random().nextLong();

    @BeforeEach
    void needsKernels() {
        Assumptions.assumeTrue(Cuda.isAvailable(), () -> "CUDA unavailable: " + Cuda.unavailableReason());
        Assumptions.assumeTrue(AdamWKernels.built(), "AdamWKernels.fatbin was not built (no nvcc at build time)");
    }

    @Test
    void matchesTheCpuLoopBitForBit() {
        Random r = new Random(seed);
        int[][] shapes = {{1}, {3}, {AdamWKernels.CHUNK}, {AdamWKernels.CHUNK + 1}, {37, 129}, {3, AdamWKernels.CHUNK + 7}, {1 + r.nextInt(200_000)}};
        Generator gen = new Generator(seed);
        List<Tensor> cpu = new ArrayList<>(), gpu = new ArrayList<>();
        for (int[] s : shapes) {
            Tensor p = Tensor.randn(gen, s);
            cpu.add(p.copy().requiresGrad(true));
            gpu.add(p.to(GPU).requiresGrad(true));
        }
        int half = shapes.length / 2;
        AdamW onCpu = new AdamW(List.of(new AdamW.Group("decay", cpu.subList(0, half), 0.1), new AdamW.Group("none", cpu.subList(half, cpu.size()), 0)), 0.9, 0.95, 1e-8);
        AdamW onGpu = new AdamW(List.of(new AdamW.Group("decay", gpu.subList(0, half), 0.1), new AdamW.Group("none", gpu.subList(half, gpu.size()), 0)), 0.9, 0.95, 1e-8);
        for (int step = 1; step <= 4; step++) {
            for (int i = 0; i < cpu.size(); i++) {
                Tensor g = Tensor.randn(gen, shapes[i]).mul(Math.pow(10, r.nextInt(7) - 3));   // gradients over many scales
                cpu.get(i).setGrad(g);
                gpu.get(i).setGrad(g.to(GPU));
            }
            double lr = 1e-3 * step;
            onCpu.step(lr);
            onGpu.step(lr);
        }
        assertEquals(8, onGpu.kernelLaunches, "one launch per group per step");
        for (int i = 0; i < cpu.size(); i++) {
            String where = "tensor " + i + " of shape " + java.util.Arrays.toString(shapes[i]) + ", seed " + seed;
            assertArrayEquals(cpu.get(i).toFloatArray(), gpu.get(i).toFloatArray(), "params, " + where);
            Tensor[] a = onCpu.moments(cpu.get(i)), b = onGpu.moments(gpu.get(i));
            assertArrayEquals(a[0].toFloatArray(), b[0].toFloatArray(), "exp_avg, " + where);
            assertArrayEquals(a[1].toFloatArray(), b[1].toFloatArray(), "exp_avg_sq, " + where);
        }
    }

    @Test
    void aReallocatedGradientIsPickedUp() {
        Generator gen = new Generator(seed);
        Tensor cpu = Tensor.randn(gen, 1000).requiresGrad(true), gpu = cpu.detach().to(GPU).requiresGrad(true);
        AdamW a = new AdamW(List.of(new AdamW.Group("g", List.of(cpu), 0.1)), 0.9, 0.95, 1e-8);
        AdamW b = new AdamW(List.of(new AdamW.Group("g", List.of(gpu), 0.1)), 0.9, 0.95, 1e-8);
        for (int s = 0; s < 3; s++) {
            Tensor g = Tensor.randn(gen, 1000);
            cpu.setGrad(g);
            gpu.setGrad(g.to(GPU));                          // a new device tensor each step: the table must follow it
            a.step(1e-2);
            b.step(1e-2);
        }
        assertArrayEquals(cpu.toFloatArray(), gpu.toFloatArray(), "seed " + seed);
    }
}
