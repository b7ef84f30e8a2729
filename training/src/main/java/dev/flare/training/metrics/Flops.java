package dev.flare.training.metrics;

import dev.flare.models.gpt.GPTConfig;
import dev.flare.tensor.Device;
import dev.flare.tensor.cuda.Cuda;
import dev.flare.training.Precision;

import java.util.Locale;

/** Model FLOPs per token and model FLOPs utilization (MFU), as nanoGPT's estimate_mfu (PaLM appendix B). */
public final class Flops {
    private Flops() {}

    /**
     * Training FLOPs per token: 6N for the weight matmuls forward and backward (N: parameters without the
     * position embedding) plus 12 L H Q T for attention (L layers, H heads, Q head size, T context).
     */
    public static double perToken(GPTConfig c) {
        double n = c.parameterCount() - (double) c.blockSize() * c.nEmbd();
        return 6 * n + 12.0 * c.nLayer() * c.nHead() * c.headDim() * c.blockSize();
    }

    /** MFU = achieved model FLOP/s over the peak; NaN when the peak is unknown (0). */
    public static double mfu(double flopsPerToken, double tokensPerSecond, double peakFlops) {
        return peakFlops > 0 ? flopsPerToken * tokensPerSecond / peakFlops : Double.NaN;
    }

    /**
     * Dense peak FLOP/s of the GPUs we know for BF16/FP16 tensor-core math (H100/H200 SXM 989e12, A100 312e12);
     * 0 (unknown) for the CPU, FP32, and other GPUs: then set TrainConfig.peakFlops to get MFU.
     */
    public static double knownPeak(Device device, Precision precision) {
        if (!device.isCuda() || precision == Precision.FP32 || !Cuda.isAvailable()) return 0;
        return peakForName(Cuda.deviceName(device.index()));
    }

    static double peakForName(String gpuName) {
        String n = gpuName.toUpperCase(Locale.ROOT);
        if (n.contains("H100") || n.contains("H200")) return 989e12;
        if (n.contains("A100")) return 312e12;
        return 0;
    }
}
