package dev.flare.tensor.cuda;

import dev.flare.tensor.DType;
import dev.flare.tensor.Tensor;
import dev.flare.tensor.ops.BinaryOp;
import dev.flare.tensor.ops.ReduceOp;
import dev.flare.tensor.ops.UnaryOp;
import jcuda.driver.JCudaDriver;

import java.util.ArrayList;
import java.util.List;

/**
 * Throughput of Flare's CUDA ops on GPT-2-small shapes (16k tokens): BF16 GEMMs in TFLOP/s (cuBLAS, and the
 * cuBLASLt GELU+bias epilogue), layer norm and elementwise kernels in GB/s next to a device-to-device copy of the
 * same bytes measured in the same run. GPU time from CUDA events, after warmup; median of the timed repeats.
 *
 * <p>Two timings per op. "ms" is one call between two events, as bench/torch_ops_bench.py measures: it includes
 * the host's time to issue the call whenever that is longer than the GPU's. "queued" is {@value #QUEUED} calls
 * back to back between two events, per call: the steady state of a training step, where the host runs ahead of
 * the GPU. Memory-bound rows also print the device-to-device copy bandwidth of the same shape (measured in the
 * same run) and the op's bandwidth as a percentage of it (issue 4's target: at least 80%). A third timing, "kernel
 * ms", sums the GPU time inside the op's kernels (kernel profiling's event pairs): where it is well below "queued",
 * the host's time to issue the call is what limits the op, not its kernel; "host ms" is that time (per call, queued).
 *
 * <pre>bash .gpu/run main dev.flare.tensor.cuda.CudaOpsBench [repeats]</pre>
 * The PyTorch side by side: {@code python3 bench/torch_ops_bench.py}.
 */
public final class CudaOpsBench {
    static final int QUEUED = 20;

    /** work: FLOP (flops true) or bytes moved; copyGBs: the copy bandwidth of the same shape, or NaN. */
    private record Row(String op, String shape, double ms, double queuedMs, double kernelMs, double hostMs, double work,
                       boolean flops, double copyGBs) {
        double rate(double t) { return work / (t * 1e-3) / (flops ? 1e12 : 1e9); }

        String unit() { return flops ? "TFLOP/s" : "GB/s"; }
    }

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

    /** {median GPU ms of one call, median GPU ms per call of QUEUED calls back to back}, after warmup. */
    private double[] time(Runnable body) {
        // Warm up for 2000 calls or 0.3 s, whichever comes first: the JIT compiles the host side of a call only
        // after a few hundred to thousands of calls, and until then "host ms" times the interpreter (a training
        // step calls each op thousands of times).
        long until = System.nanoTime() + 300_000_000L;
        for (int i = 0; i < 2000 && (i < 10 || System.nanoTime() < until); i++) {
            body.run();
            if (i % 50 == 49) b.synchronize();   // keep the queue short
        }
        b.synchronize();
        double[] ms = new double[repeats], q = new double[Math.max(3, repeats / 4)], host = new double[q.length];
        try (CudaEvent start = CudaEvent.timing(b.context()); CudaEvent end = CudaEvent.timing(b.context())) {
            for (int r = 0; r < repeats; r++) {
                start.record(b.stream());
                body.run();
                end.record(b.stream());
                ms[r] = CudaEvent.elapsedMillis(start, end);
            }
            for (int r = 0; r < q.length; r++) {
                start.record(b.stream());
                long t0 = System.nanoTime();
                for (int i = 0; i < QUEUED; i++) body.run();
                host[r] = (System.nanoTime() - t0) * 1e-6 / QUEUED;
                end.record(b.stream());
                q[r] = CudaEvent.elapsedMillis(start, end) / QUEUED;
            }
        }
        java.util.Arrays.sort(ms);
        java.util.Arrays.sort(q);
        java.util.Arrays.sort(host);
        // GPU time inside the op's kernels alone (an event pair around each launch): what a queued call would
        // take if the host never made the GPU wait. NaN when the op launches no kernel (the copy is a memcpy).
        b.setKernelProfiling(true);
        b.kernelProfile().reset();
        for (int i = 0; i < QUEUED; i++) body.run();
        b.synchronize();
        double kernel = b.kernelProfile().totalMs() / QUEUED;
        b.setKernelProfiling(false);
        b.kernelProfile().reset();
        return new double[]{ms[repeats / 2], q[q.length / 2], kernel > 0 ? kernel : Double.NaN, host[host.length / 2]};
    }

    private void add(String op, String shape, double work, boolean flops, double copyGBs, Runnable body) {
        double[] t = time(body);
        rows.add(new Row(op, shape, t[0], t[1], t[2], t[3], work, flops, copyGBs));
    }

    /** Times a device-to-device copy of the bytes of x into y and adds its row; returns its queued GB/s. */
    private double copyRow(Tensor x, Tensor y, String shape) {
        long bytes = x.numel() * x.dtype().byteSize();
        CudaStorage xs = (CudaStorage) x.storage(), ys = (CudaStorage) y.storage();
        double[] t = time(() -> CudaException.check(JCudaDriver.cuMemcpyDtoDAsync(ys.pointer(), xs.pointer(), bytes,
                b.stream().handle()), "cuMemcpyDtoDAsync"));
        Row r = new Row("device-to-device copy " + x.dtype().name().toLowerCase(), shape, t[0], t[1], t[2], t[3], 2.0 * bytes, false, Double.NaN);
        rows.add(r);
        return r.rate(r.queuedMs);
    }

    private Tensor randn(DType t, int... shape) {
        Tensor x = b.empty(t, shape);
        b.fillNormal(x, 1234, 0, 0, 0.02 * 50);
        return x;
    }

    private void gemm(int m, int k, int n) {
        Tensor x = randn(DType.BF16, m, k), w = randn(DType.BF16, n, k), out = b.empty(DType.BF16, m, n);
        Tensor wt = CudaBackend.permuted(w, new int[]{1, 0});
        add("matmul bf16 (x @ W^T)", m + "x" + k + "x" + n, 2.0 * m * k * n, true, Double.NaN, () -> b.matmul(x, wt, out));
        x.release();
        w.release();
        out.release();
    }

    private void gemmGelu(int m, int k, int n) {
        Tensor x = randn(DType.BF16, m, k), w = randn(DType.BF16, n, k), bias = randn(DType.BF16, n), out = b.empty(DType.BF16, m, n);
        Tensor wt = CudaBackend.permuted(w, new int[]{1, 0});
        long before = b.epilogueFallbacks.get();
        Runnable body = () -> b.matmulEpilogue(x, wt, bias, Cublas.Epilogue.GELU_BIAS, out);
        double[] t = time(body);
        String how = b.epilogueFallbacks.get() > before ? " [separate ops]" : "";
        rows.add(new Row("cuBLASLt gelu(x @ W^T + b) bf16" + how, m + "x" + k + "x" + n, t[0], t[1], t[2], t[3], 2.0 * m * k * n, true, Double.NaN));
        for (Tensor tt : new Tensor[]{x, w, bias, out}) tt.release();
    }

    private void memoryBound(int rowsN, int cols) {
        long n = (long) rowsN * cols;
        Tensor x = randn(DType.BF16, rowsN, cols), y = randn(DType.BF16, rowsN, cols), out = b.empty(DType.BF16, rowsN, cols);
        Tensor w = randn(DType.BF16, cols), bias = randn(DType.BF16, cols);
        Tensor mean = b.empty(DType.F32, rowsN), rstd = b.empty(DType.F32, rowsN);
        String shape = rowsN + "x" + cols;
        double copy = copyRow(x, out, shape);
        add("layerNorm bf16 (+mean/rstd)", shape, 4.0 * n + 8.0 * rowsN, false, copy, () -> b.layerNorm(x, w, bias, 1e-5, out, mean, rstd));
        Tensor dx = b.empty(DType.BF16, rowsN, cols);
        add("layerNorm backward dx bf16", shape, 6.0 * n + 8.0 * rowsN, false, copy,
                () -> b.layerNormBackward(y, x, w, mean, rstd, dx, null, null));
        add("add bf16", shape, 6.0 * n, false, copy, () -> b.binary(BinaryOp.ADD, x, y, out));
        Tensor biasRows = Tensor.of(bias.storage(), new int[]{rowsN, cols}, new long[]{0, 1}, bias.offset());
        add("add bias (row vector) bf16", shape, 4.0 * n, false, copy, () -> b.binary(BinaryOp.ADD, x, biasRows, out));
        Tensor colSum = b.empty(DType.BF16, 1, cols);
        add("sum over rows (bias grad) bf16", shape, 2.0 * n, false, copy, () -> b.reduce(ReduceOp.SUM, x, new int[]{0}, colSum));
        colSum.release();
        add("gelu bf16", shape, 4.0 * n, false, copy, () -> b.unary(UnaryOp.GELU, x, out));
        add("gelu backward bf16", shape, 6.0 * n, false, copy, () -> b.geluBackward(x, y, dx));
        Tensor xf = randn(DType.F32, rowsN, cols), yf = randn(DType.F32, rowsN, cols), of = b.empty(DType.F32, rowsN, cols);
        add("add f32", shape, 12.0 * n, false, copy, () -> b.binary(BinaryOp.ADD, xf, yf, of));
        add("cast f32 -> bf16", shape, 6.0 * n, false, copy, () -> b.copy(xf, out));
        for (Tensor t : new Tensor[]{x, y, out, w, bias, mean, rstd, dx, xf, yf, of}) t.release();
    }

    private void softmaxAndLoss(int n, int vocab) {
        Tensor logits = randn(DType.BF16, n, vocab), dLogits = b.empty(DType.BF16, n, vocab);
        Tensor targets = b.empty(DType.I32, n);
        b.fill(targets, 7);
        Tensor loss = b.empty(DType.F32, n), lse = b.empty(DType.F32, n), dLoss = b.empty(DType.F32, n);
        b.fill(dLoss, 1.0 / n);
        String shape = n + "x" + vocab;
        double copy = copyRow(logits, dLogits, shape);
        add("cross-entropy fwd bf16", shape, 2.0 * n * vocab, false, copy, () -> b.crossEntropy(logits, targets, -100, loss, lse));
        add("cross-entropy bwd bf16", shape, 4.0 * n * vocab, false, copy,
                () -> b.crossEntropyBackward(logits, targets, -100, lse, dLoss, dLogits));
        add("softmax bf16", shape, 4.0 * n * vocab, false, copy, () -> b.softmax(logits, 1, false, dLogits));
        for (Tensor t : new Tensor[]{logits, dLogits, targets, loss, lse, dLoss}) t.release();
    }

    private void run() {
        int tokens = 16384;
        gemm(tokens, 768, 2304);
        gemm(tokens, 3072, 768);
        gemm(tokens, 768, 50304);
        gemm(tokens, 768, 50257);   // GPT-2's vocabulary unpadded: rows of the output not 16-byte multiples
        gemmGelu(tokens, 768, 3072);
        memoryBound(tokens, 768);
        memoryBound(tokens, 3072);
        softmaxAndLoss(4096, 50304);
        System.out.println("allocator: " + b.memoryStats());
        System.out.printf("%n%-40s %-20s %9s %9s %9s %9s %9s %9s %-8s %9s %7s %7s%n", "op", "shape (MxKxN / rows x cols)", "ms", "rate",
                "queued ms", "rate", "kernel ms", "host ms", "unit", "copy GB/s", "% copy", "kernel%");
        for (Row r : rows) {
            String vsCopy = Double.isNaN(r.copyGBs) ? "" : String.format("%9.0f %6.0f%% %6.0f%%", r.copyGBs,
                    100 * r.rate(r.queuedMs) / r.copyGBs, 100 * r.rate(r.kernelMs) / r.copyGBs);
            System.out.printf("%-40s %-20s %9.3f %9.0f %9.3f %9.0f %9.3f %9.3f %-8s %s%n", r.op, r.shape, r.ms, r.rate(r.ms),
                    r.queuedMs, r.rate(r.queuedMs), r.kernelMs, r.hostMs, r.unit(), vsCopy);
        }
        System.out.println("(% copy: the op's queued bandwidth over the queued device-to-device copy of the same shape;"
                + " kernel%: the same with the GPU time inside the op's kernels alone, no host gaps)");
    }
}
