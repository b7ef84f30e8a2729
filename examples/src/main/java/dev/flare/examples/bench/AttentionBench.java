package dev.flare.examples.bench;

import dev.flare.attention.Attention;
import dev.flare.attention.AttentionBackend;
import dev.flare.attention.AttentionOptions;
import dev.flare.tensor.DType;
import dev.flare.tensor.Device;
import dev.flare.tensor.MemoryScope;
import dev.flare.tensor.Tensor;
import dev.flare.tensor.cuda.Cuda;
import dev.flare.tensor.cuda.CudaBackend;
import dev.flare.tensor.cuda.CudaEvent;
import dev.flare.tensor.random.Generator;

import java.util.Arrays;

/**
 * Flash attention forward and backward TFLOP/s through the public API (autograd included), on the settings of
 * {@code bench/sdpa_bench.py} so the two tables line up: bf16, 16384 tokens per batch, hidden 2048 (H = 2048 / D),
 * D 64 and 128, causal off/on, plus dropout 0.1 at S = 2048 causal. FLOPs: 4·B·H·S²·D (halved when causal);
 * backward counts 2.5x. Times are GPU medians between CUDA events around calls queued back to back; backward = (forward+backward) - forward.
 *
 * <p>Usage: {@code AttentionBench [seq,seq,...] [repeats]} (default 1024,4096,16384 and 30).
 */
public final class AttentionBench {
    private final CudaBackend gpu = CudaBackend.of(0);
    private final int repeats;

    private AttentionBench(int repeats) { this.repeats = repeats; }

    public static void main(String[] args) {
        if (!Cuda.isAvailable()) {
            System.out.println("CUDA unavailable: " + Cuda.unavailableReason());
            return;
        }
        int[] seqs = Arrays.stream((args.length > 0 ? args[0] : "1024,4096,16384").split(",")).mapToInt(Integer::parseInt).toArray();
        AttentionBench b = new AttentionBench(args.length > 1 ? Integer.parseInt(args[1]) : 30);
        System.out.println(Cuda.describe());
        System.out.printf("%4s %6s %6s %18s %9s %9s%n", "D", "S", "causal", "backend", "fwd TF/s", "bwd TF/s");
        for (int d : new int[]{64, 128})
            for (int s : seqs)
                for (boolean causal : new boolean[]{false, true}) b.row(d, s, causal, 0);
        for (int d : new int[]{64, 128}) b.row(d, 2048, true, 0.1);
    }

    private void row(int d, int s, boolean causal, double dropout) {
        int h = 2048 / d, batch = Math.max(1, 16384 / s);
        Generator gen = new Generator(1234);
        Tensor q = randn(gen, batch, h, s, d), k = randn(gen, batch, h, s, d), v = randn(gen, batch, h, s, d);
        Tensor dO = randn(gen, batch, h, s, d);
        AttentionOptions opts = AttentionOptions.DEFAULT.withCausal(causal).withBackend(AttentionBackend.FLASH_CUDA);
        if (dropout > 0) opts = opts.withDropout(dropout).withDropoutSeed(42, 0);
        AttentionOptions o = opts;
        double fwdMs = time(() -> Attention.scaledDotProductAttention(q, k, v, o));
        double bothMs = time(() -> {
            // Leaf gradients outlive memory scopes (training keeps them); free them here or they pile up.
            for (Tensor t : new Tensor[]{q, k, v}) {
                if (t.grad() != null) t.grad().storage().release();
                t.setGrad(null);
            }
            Attention.scaledDotProductAttention(q, k, v, o).backward(dO);
        });
        double flops = 4.0 * batch * h * (double) s * s * d * (causal ? 0.5 : 1.0);
        String name = dropout > 0 ? "flare+dropout" + dropout : "flare";
        System.out.printf("%4d %6d %6s %18s %9.1f %9.1f%n", d, s, causal ? "True" : "False", name,
                flops / (fwdMs * 1e-3) / 1e12, 2.5 * flops / ((bothMs - fwdMs) * 1e-3) / 1e12);
        for (Tensor t : new Tensor[]{q, k, v, dO}) t.storage().release();
    }

    private Tensor randn(Generator gen, int... shape) {
        try (MemoryScope ignored = MemoryScope.open()) {
            return MemoryScope.detach(Tensor.randn(gen, shape).to(DType.BF16).to(Device.cuda(0))).requiresGrad(true);
        }
    }

    /**
     * Median GPU milliseconds of one call. The calls are queued back to back, each between its own pair of events, and
     * the events are read after the last call, as Triton's {@code do_bench} times PyTorch's side: the host's time to
     * issue a call overlaps the previous call on the GPU instead of being timed as GPU idle (it was, when each call
     * was waited for before the next: up to 15% of a short forward). Each call's temporaries are freed by its memory
     * scope; the caching allocator reuses them in stream order.
     */
    private double time(Runnable body) {
        for (int i = 0; i < 3; i++) try (MemoryScope ignored = MemoryScope.open()) { body.run(); }
        gpu.synchronize();
        CudaEvent[] start = new CudaEvent[repeats], end = new CudaEvent[repeats];
        try {
            for (int r = 0; r < repeats; r++) {
                start[r] = CudaEvent.timing(gpu.context());
                end[r] = CudaEvent.timing(gpu.context());
            }
            for (int r = 0; r < repeats; r++) {
                try (MemoryScope ignored = MemoryScope.open()) {
                    start[r].record(gpu.stream());
                    body.run();
                    end[r].record(gpu.stream());
                }
            }
            double[] ms = new double[repeats];
            for (int r = 0; r < repeats; r++) ms[r] = CudaEvent.elapsedMillis(start[r], end[r]);
            Arrays.sort(ms);
            return ms[repeats / 2];
        } finally {
            for (CudaEvent e : start) if (e != null) e.close();
            for (CudaEvent e : end) if (e != null) e.close();
        }
    }
}
