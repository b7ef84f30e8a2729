package dev.flare.tensor.cuda;

import dev.flare.tensor.DType;
import dev.flare.tensor.Tensor;
import dev.flare.tensor.ops.BinaryOp;
import dev.flare.tensor.ops.UnaryOp;
import jcuda.driver.JCudaDriver;

import java.util.ArrayList;
import java.util.List;

/**
 * Throughput of Flare's CUDA ops on GPT-2-small shapes (16k tokens): BF16 GEMMs in TFLOP/s (cuBLAS, and the
 * cuBLASLt GELU+bias epilogue), layer norm and elementwise kernels in GB/s next to a device-to-device copy of the
 * same bytes measured in the same run. GPU time from CUDA events, after warmup; median of the timed repeats.
 *
 * <pre>bash .gpu/run main dev.flare.tensor.cuda.CudaOpsBench [repeats]</pre>
 * The PyTorch side by side: {@code python3 bench/torch_ops_bench.py}.
 */
public final class CudaOpsBench {
    private record Row(String op, String shape, double ms, String rate) {}

    private final CudaBackend b;
    private final int repeats;
    private final List<Row> rows = new ArrayList<>();

    private CudaOpsBench(CudaBackend b, int repeats) {
        this.b = b;
        this.repeats = repeats;
    }

    public static void main(String[] args) {
        if (!Cuda.isAvailable()) {
            System.out.println("CUDA unavailable: " + Cuda.unavailableReason());
            return;
        }
        int repeats = args.length > 0 ? Integer.parseInt(args[0]) : 20;
        System.out.println(Cuda.describe());
        CudaOpsBench bench = new CudaOpsBench(CudaBackend.of(0), repeats);
        bench.run();
    }

    /** Median GPU milliseconds of one call of body. */
    private double time(Runnable body) {
        for (int i = 0; i < 3; i++) body.run();
        b.synchronize();
        double[] ms = new double[repeats];
        try (CudaEvent start = CudaEvent.timing(b.context()); CudaEvent end = CudaEvent.timing(b.context())) {
            for (int r = 0; r < repeats; r++) {
                start.record(b.stream());
                body.run();
                end.record(b.stream());
                ms[r] = CudaEvent.elapsedMillis(start, end);
            }
        }
        java.util.Arrays.sort(ms);
        return ms[repeats / 2];
    }

    private Tensor randn(DType t, int... shape) {
        Tensor x = b.empty(t, shape);
        b.fillNormal(x, 1234, 0, 0, 0.02 * 50);
        return x;
    }

    private void gemm(int m, int k, int n) {
        Tensor x = randn(DType.BF16, m, k), w = randn(DType.BF16, n, k), out = b.empty(DType.BF16, m, n);
        Tensor wt = CudaBackend.permuted(w, new int[]{1, 0});
        double ms = time(() -> b.matmul(x, wt, out));
        double tflops = 2.0 * m * k * n / (ms * 1e-3) / 1e12;
        rows.add(new Row("matmul bf16 (x @ W^T)", m + "x" + k + "x" + n, ms, String.format("%.0f TFLOP/s", tflops)));
        x.release();
        w.release();
        out.release();
    }

    private void gemmGelu(int m, int k, int n) {
        Tensor x = randn(DType.BF16, m, k), w = randn(DType.BF16, n, k), bias = randn(DType.BF16, n), out = b.empty(DType.BF16, m, n);
        Tensor wt = CudaBackend.permuted(w, new int[]{1, 0});
        long before = b.epilogueFallbacks.get();
        double ms = time(() -> b.matmulEpilogue(x, wt, bias, Cublas.Epilogue.GELU_BIAS, out));
        double tflops = 2.0 * m * k * n / (ms * 1e-3) / 1e12;
        String how = b.epilogueFallbacks.get() > before ? " [separate ops]" : "";
        rows.add(new Row("cuBLASLt gelu(x @ W^T + b) bf16" + how, m + "x" + k + "x" + n, ms, String.format("%.0f TFLOP/s", tflops)));
        for (Tensor t : new Tensor[]{x, w, bias, out}) t.release();
    }

    private String gbs(double bytes, double ms) { return String.format("%.0f GB/s", bytes / (ms * 1e-3) / 1e9); }

    private void memoryBound(int rowsN, int cols) {
        long n = (long) rowsN * cols;
        Tensor x = randn(DType.BF16, rowsN, cols), y = randn(DType.BF16, rowsN, cols), out = b.empty(DType.BF16, rowsN, cols);
        Tensor w = randn(DType.BF16, cols), bias = randn(DType.BF16, cols);
        Tensor mean = b.empty(DType.F32, rowsN), rstd = b.empty(DType.F32, rowsN);
        CudaStorage xs = (CudaStorage) x.storage(), os = (CudaStorage) out.storage();
        double copyMs = time(() -> CudaException.check(JCudaDriver.cuMemcpyDtoDAsync(os.pointer(), xs.pointer(), n * 2,
                b.stream().handle()), "cuMemcpyDtoDAsync"));
        String shape = rowsN + "x" + cols;
        rows.add(new Row("device-to-device copy bf16", shape, copyMs, gbs(4.0 * n, copyMs)));
        double ln = time(() -> b.layerNorm(x, w, bias, 1e-5, out, mean, rstd));
        rows.add(new Row("layerNorm bf16 (+mean/rstd)", shape, ln, gbs(4.0 * n + 8.0 * rowsN, ln)));
        double add = time(() -> b.binary(BinaryOp.ADD, x, y, out));
        rows.add(new Row("add bf16", shape, add, gbs(6.0 * n, add)));
        double gelu = time(() -> b.unary(UnaryOp.GELU, x, out));
        rows.add(new Row("gelu bf16", shape, gelu, gbs(4.0 * n, gelu)));
        Tensor dx = b.empty(DType.BF16, rowsN, cols);
        double geluBwd = time(() -> b.geluBackward(x, y, dx));
        rows.add(new Row("gelu backward bf16", shape, geluBwd, gbs(6.0 * n, geluBwd)));
        Tensor xf = randn(DType.F32, rowsN, cols), yf = randn(DType.F32, rowsN, cols), of = b.empty(DType.F32, rowsN, cols);
        double addF = time(() -> b.binary(BinaryOp.ADD, xf, yf, of));
        rows.add(new Row("add f32", shape, addF, gbs(12.0 * n, addF)));
        double cast = time(() -> b.copy(xf, out));
        rows.add(new Row("cast f32 -> bf16", shape, cast, gbs(6.0 * n, cast)));
        for (Tensor t : new Tensor[]{x, y, out, w, bias, mean, rstd, dx, xf, yf, of}) t.release();
    }

    private void softmaxAndLoss(int n, int vocab) {
        Tensor logits = randn(DType.BF16, n, vocab), dLogits = b.empty(DType.BF16, n, vocab);
        Tensor targets = b.empty(DType.I32, n);
        b.fill(targets, 7);
        Tensor loss = b.empty(DType.F32, n), lse = b.empty(DType.F32, n), dLoss = b.empty(DType.F32, n);
        b.fill(dLoss, 1.0 / n);
        String shape = n + "x" + vocab;
        double fwd = time(() -> b.crossEntropy(logits, targets, -100, loss, lse));
        rows.add(new Row("cross-entropy fwd bf16", shape, fwd, gbs(2.0 * n * vocab, fwd)));
        double bwd = time(() -> b.crossEntropyBackward(logits, targets, -100, lse, dLoss, dLogits));
        rows.add(new Row("cross-entropy bwd bf16", shape, bwd, gbs(4.0 * n * vocab, bwd)));
        double sm = time(() -> b.softmax(logits, 1, false, dLogits));
        rows.add(new Row("softmax bf16", shape, sm, gbs(4.0 * n * vocab, sm)));
        for (Tensor t : new Tensor[]{logits, dLogits, targets, loss, lse, dLoss}) t.release();
    }

    private void run() {
        int tokens = 16384;
        gemm(tokens, 768, 2304);
        gemm(tokens, 3072, 768);
        gemm(tokens, 768, 50304);
        gemmGelu(tokens, 768, 3072);
        memoryBound(tokens, 768);
        memoryBound(tokens, 3072);
        softmaxAndLoss(4096, 50304);
        System.out.println("allocator: " + b.memoryStats());
        System.out.printf("%n%-40s %-20s %10s %14s%n", "op", "shape (MxKxN / rows x cols)", "ms", "rate");
        for (Row r : rows) System.out.printf("%-40s %-20s %10.3f %14s%n", r.op, r.shape, r.ms, r.rate);
    }
}
