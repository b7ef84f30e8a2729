package dev.flare.tensor.cuda;

import dev.flare.tensor.DType;
import dev.flare.tensor.Tensor;
import dev.flare.tensor.ops.BinaryOp;
import dev.flare.tensor.ops.UnaryOp;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Which cuBLAS settings win on this GPU: times the BF16 GEMMs of GPT-2 small at 16k tokens (x @ W^T, W in
 * nn.Linear layout) under each variant, with CUDA events, and prints one table.
 *
 * <ul>
 *   <li>cublasGemmEx with reduced-precision split-K reductions allowed or not (math mode), with the 32 MiB
 *       workspace or none;</li>
 *   <li>cublasLtMatmul (no epilogue) with each of the heuristic's top algorithms;</li>
 *   <li>for the MLP's first GEMM, the GELU_BIAS epilogue with each of the top algorithms, the BIAS epilogue + a
 *       GELU kernel, and GemmEx + add + GELU (three kernels).</li>
 * </ul>
 *
 * Two timings per variant: "call" is one call between two events (host overhead included when the host is slower
 * than the GPU, as in CudaOpsBench and bench/torch_ops_bench.py); "queued" is {@value #QUEUED} calls back to back
 * between two events, divided by {@value #QUEUED} (the steady state of a training step, where the host runs ahead).
 *
 * <pre>bash .gpu/run main dev.flare.tensor.cuda.CublasTuning [repeats]</pre>
 */
public final class CublasTuning {
    static final int QUEUED = 20;

    private record Row(String shape, String variant, double callMs, double queuedMs, double flop, String note) {}

    private final CudaBackend b;
    private final int repeats;
    private final List<Row> rows = new ArrayList<>();

    private CublasTuning(CudaBackend b, int repeats) {
        this.b = b;
        this.repeats = repeats;
    }

    public static void main(String[] args) {
        if (!Cuda.isAvailable()) {
            System.out.println("CUDA unavailable: " + Cuda.unavailableReason());
            return;
        }
        int repeats = args.length > 0 ? Integer.parseInt(args[0]) : 30;
        System.out.println(Cuda.describe());
        CudaBackend b = CudaBackend.of(0);
        System.out.println("cuBLAS: " + Cublas.libraryDescription() + ", version " + b.cublas().version());
        new CublasTuning(b, repeats).run();
    }

    /** {median ms of one call, mean ms of a call in a queue of QUEUED}, after warmup. */
    private double[] time(Runnable body) {
        for (int i = 0; i < 10; i++) body.run();
        b.synchronize();
        double[] ms = new double[repeats];
        double queued;
        try (CudaEvent start = CudaEvent.timing(b.context()); CudaEvent end = CudaEvent.timing(b.context())) {
            for (int r = 0; r < repeats; r++) {
                start.record(b.stream());
                body.run();
                end.record(b.stream());
                ms[r] = CudaEvent.elapsedMillis(start, end);
            }
            double[] q = new double[5];
            for (int r = 0; r < q.length; r++) {
                start.record(b.stream());
                for (int i = 0; i < QUEUED; i++) body.run();
                end.record(b.stream());
                q[r] = CudaEvent.elapsedMillis(start, end) / QUEUED;
            }
            Arrays.sort(q);
            queued = q[q.length / 2];
        }
        Arrays.sort(ms);
        return new double[]{ms[repeats / 2], queued};
    }

    private void add(String shape, String variant, double flop, Runnable body, String note) {
        try {
            double[] t = time(body);
            rows.add(new Row(shape, variant, t[0], t[1], flop, note));
        } catch (RuntimeException e) {
            rows.add(new Row(shape, variant, Double.NaN, Double.NaN, flop, "failed: " + e.getMessage()));
        }
    }

    private Tensor randn(DType t, int... shape) {
        Tensor x = b.empty(t, shape);
        b.fillNormal(x, 1234, 0, 0, 1.0);
        return x;
    }

    /** cuBLAS-side arguments of out = x @ wt, as CudaBackend.matmulEpilogue computes them. */
    private GemmPlan plan(Tensor x, Tensor wt) {
        return GemmPlan.of(1, x.size(0), wt.size(1), x.size(1), GemmPlan.layout(x.shape(), x.strides()),
                GemmPlan.layout(wt.shape(), wt.strides()));
    }

    private void gemmVariants(int m, int k, int n, boolean gelu) {
        String shape = m + "x" + k + "x" + n;
        double flop = 2.0 * m * k * n;
        Tensor x = randn(DType.BF16, m, k), w = randn(DType.BF16, n, k), bias = randn(DType.BF16, n);
        Tensor out = b.empty(DType.BF16, m, n);
        Tensor wt = CudaBackend.permuted(w, new int[]{1, 0});
        Cublas cublas = b.cublas();
        try {
            for (boolean workspace : new boolean[]{true, false})
                for (boolean reduced : new boolean[]{true, false}) {
                    cublas.setWorkspaceEnabled(workspace);
                    Cublas.setAllowReducedPrecisionReduction(reduced);
                    add(shape, "GemmEx ws=" + (workspace ? "32MiB" : "0") + " reducedReduction=" + reduced, flop,
                            () -> b.matmul(x, wt, out), "");
                }
            cublas.setWorkspaceEnabled(true);
            Cublas.setAllowReducedPrecisionReduction(true);
            GemmPlan p = plan(x, wt);
            long xa = b.first(x), wa = b.first(wt), oa = b.first(out), ba = b.first(bias);
            List<Cublas.Epilogue> eps = new ArrayList<>(List.of(Cublas.Epilogue.NONE));
            if (gelu) eps.addAll(List.of(Cublas.Epilogue.BIAS, Cublas.Epilogue.GELU_BIAS));
            for (Cublas.Epilogue ep : eps) {
                long bp = ep.hasBias() ? ba : 0;
                int count = cublas.lt().algorithms(DType.BF16, p.transA, p.transB, p.m, p.n, p.k, wa, p.lda, xa, p.ldb, oa, p.ldc, bp, ep);
                for (int i = 0; i < count; i++) {
                    int algo = i;
                    String note = cublas.lt().describe(DType.BF16, p.transA, p.transB, p.m, p.n, p.k, wa, p.lda, xa, p.ldb, oa, p.ldc, bp, ep, i);
                    add(shape, "Lt " + ep + " algo #" + i, flop, () -> cublas.lt().matmul(DType.BF16, p.transA, p.transB,
                            p.m, p.n, p.k, wa, p.lda, xa, p.ldb, oa, p.ldc, bp, ep, algo), note);
                }
            }
            if (gelu) {
                add(shape, "Lt BIAS + gelu kernel (2 kernels)", flop, () -> {
                    b.matmulEpilogue(x, wt, bias, Cublas.Epilogue.BIAS, out);
                    b.unary(UnaryOp.GELU, out, out);
                }, "torch's F.gelu(F.linear(x, W, b))");
                Tensor bias2d = Tensor.of(bias.storage(), new int[]{m, n}, new long[]{0, 1}, bias.offset());
                add(shape, "GemmEx + add + gelu (3 kernels)", flop, () -> {
                    b.matmul(x, wt, out);
                    b.binary(BinaryOp.ADD, out, bias2d, out);
                    b.unary(UnaryOp.GELU, out, out);
                }, "");
                add(shape, "matmulEpilogue(GELU_BIAS) as used", flop,
                        () -> b.matmulEpilogue(x, wt, bias, Cublas.Epilogue.GELU_BIAS, out), "the plan's chosen algorithm");
            }
        } finally {
            cublas.setWorkspaceEnabled(true);
            Cublas.setAllowReducedPrecisionReduction(true);
            for (Tensor t : new Tensor[]{x, w, bias, out}) t.release();
        }
    }

    private void run() {
        int tokens = 16384;
        gemmVariants(tokens, 768, 2304, false);
        gemmVariants(tokens, 3072, 768, false);
        gemmVariants(tokens, 768, 50304, false);
        gemmVariants(tokens, 768, 3072, true);
        System.out.printf("%n%-18s %-44s %9s %9s %9s %9s  %s%n", "shape MxKxN", "variant", "call ms", "TFLOP/s",
                "queued ms", "TFLOP/s", "note");
        for (Row r : rows)
            System.out.printf("%-18s %-44s %9.3f %9.0f %9.3f %9.0f  %s%n", r.shape, r.variant, r.callMs,
                    r.flop / (r.callMs * 1e-3) / 1e12, r.queuedMs, r.flop / (r.queuedMs * 1e-3) / 1e12, r.note);
    }
}
