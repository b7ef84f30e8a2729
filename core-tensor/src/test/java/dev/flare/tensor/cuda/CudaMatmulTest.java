package dev.flare.tensor.cuda;

import dev.flare.tensor.DType;
import dev.flare.tensor.Shapes;
import dev.flare.tensor.Tensor;
import dev.flare.tensor.ops.BinaryOp;
import dev.flare.tensor.ops.UnaryOp;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;

import static dev.flare.tensor.cuda.CudaTestSupport.*;
import static org.junit.jupiter.api.Assertions.*;

/** cuBLAS GEMMs (every dtype, transposed, padded, broadcast and batched operands) and cuBLASLt epilogues. */
@Tag("cuda")
class CudaMatmulTest {
    /** out = a @ b over a shared batch shape; also returns sum |a||b| per element for the tolerance. */
    static double[][] gemmRef(double[] a, double[] b, int batch, int m, int k, int n) {
        double[] out = new double[batch * m * n], mag = new double[batch * m * n];
        for (int bt = 0; bt < batch; bt++)
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++) {
                    double s = 0, g = 0;
                    for (int q = 0; q < k; q++) {
                        double p = a[(bt * m + i) * k + q] * b[(bt * k + q) * n + j];
                        s += p;
                        g += Math.abs(p);
                    }
                    out[(bt * m + i) * n + j] = s;
                    mag[(bt * m + i) * n + j] = g;
                }
        return new double[][]{out, mag};
    }

    static void assertGemm(String what, DType t, double[][] ref, double[] got, double accum) {
        double[] e = ref[0], mag = ref[1];
        for (int i = 0; i < e.length; i++) {
            double tol = rtol(t) * Math.abs(e[i]) + accum * mag[i] + 1e-30;
            if (!(Math.abs(got[i] - e[i]) <= tol))
                fail(what + ": element " + i + " expected " + e[i] + " got " + got[i] + " (tol " + tol + ")");
        }
    }

    /** Accumulation error allowed, relative to sum |a||b|: F32 accumulation (any K here), F64 for F64. */
    static double accumTol(DType t) { return t == DType.F64 ? 1e-12 : 2e-5; }

    /**
     * The same with reduced-precision split-K reductions allowed (the default): BF16/F16 partial sums may each be
     * rounded once to the output type and summed there, a few roundings of at most 2^-9 (BF16) of sum |a||b|.
     */
    static double accumTol(DType t, boolean reduced) {
        return reduced && t.isHalf() ? accumTol(t) + 0x1p-6 : accumTol(t);
    }

    /** Runs body with reduced-precision reductions allowed or not, restoring the setting. */
    static void withReduction(boolean allow, Runnable body) {
        boolean before = Cublas.allowReducedPrecisionReduction();
        try {
            Cublas.setAllowReducedPrecisionReduction(allow);
            body.run();
        } finally {
            Cublas.setAllowReducedPrecisionReduction(before);
        }
    }

    /** Values of shape (batch..., R, S) stored as (batch..., S, R) and viewed transposed (column-major matrices). */
    static Tensor colMajor(CudaBackend b, DType t, double[] v, int[] shape) {
        int r = shape.length, rows = shape[r - 2], cols = shape[r - 1];
        int batch = (int) (Shapes.numel(shape) / Math.max(1, (long) rows * cols));
        double[] tv = new double[v.length];
        for (int bt = 0; bt < batch; bt++)
            for (int i = 0; i < rows; i++)
                for (int j = 0; j < cols; j++) tv[(bt * cols + j) * rows + i] = v[(bt * rows + i) * cols + j];
        int[] ts = shape.clone();
        ts[r - 2] = cols;
        ts[r - 1] = rows;
        int[] perm = new int[r];
        for (int d = 0; d < r; d++) perm[d] = d;
        perm[r - 2] = r - 1;
        perm[r - 1] = r - 2;
        return permute(tensor(b, t, tv, ts), perm);
    }

    enum Kind { ROW, COL, PADDED, OFFSET, PERMUTED }

    static Tensor operand(CudaBackend b, DType t, double[] v, int[] shape, Kind kind) {
        return switch (kind) {
            case ROW -> tensor(b, t, v, shape, Layout.CONTIGUOUS);
            case COL -> colMajor(b, t, v, shape);
            case PADDED -> tensor(b, t, v, shape, Layout.PADDED);
            case OFFSET -> tensor(b, t, v, shape, Layout.OFFSET);
            case PERMUTED -> tensor(b, t, v, shape, Layout.PERMUTED);
        };
    }

    @Test
    void reductionsInF32WhenReducedPrecisionIsOff() {
        assertTrue(Cublas.allowReducedPrecisionReduction(), "PyTorch's default: reduced-precision reductions allowed");
        withReduction(false, () -> everyDtypeAndLayout(false));
    }

    @Test
    void everyDtypeAndLayoutByDefault() { everyDtypeAndLayout(true); }

    void everyDtypeAndLayout(boolean reduced) {
        CudaBackend b = gpu();
        Random rnd = new Random(31);
        int[][] mkn = {{1, 1, 1}, {7, 13, 5}, {33, 1023, 65}, {64, 128, 96}};
        int[][] batches = {{}, {3}, {2, 3}};
        for (DType t : FLOATS)
            for (int[] s : mkn)
                for (int[] batch : batches)
                    for (Kind ka : Kind.values())
                        for (Kind kb : new Kind[]{Kind.ROW, Kind.COL, Kind.PADDED}) {
                            if (s[1] == 1023 && (batch.length > 0 || ka == Kind.PERMUTED)) continue;   // keep it quick
                            int m = s[0], k = s[1], n = s[2];
                            int bc = (int) Shapes.numel(batch);
                            int[] as = concat(batch, m, k), bs = concat(batch, k, n), os = concat(batch, m, n);
                            double[] va = random(rnd, t, bc * m * k, -2, 2), vb = random(rnd, t, bc * k * n, -2, 2);
                            Tensor ta = operand(b, t, va, as, ka), tb = operand(b, t, vb, bs, kb);
                            Tensor out = output(b, t, os);
                            b.matmul(ta, tb, out);
                            assertGemm("matmul " + t + " " + Arrays.toString(os) + " k=" + k + " a=" + ka + " b=" + kb, t,
                                    gemmRef(va, vb, bc, m, k, n), values(out), accumTol(t, reduced));
                            ta.release();
                            tb.release();
                            out.release();
                        }
    }

    static int[] concat(int[] batch, int r, int c) {
        int[] s = Arrays.copyOf(batch, batch.length + 2);
        s[batch.length] = r;
        s[batch.length + 1] = c;
        return s;
    }

    @Test
    void broadcastBatches() {
        CudaBackend b = gpu();
        Random rnd = new Random(32);
        for (DType t : FLOATS) {
            int m = 5, k = 6, n = 7;
            // b (k, n) shared by a batch of 4 (stride 0: one strided-batched call).
            double[] va = random(rnd, t, 4 * m * k, -2, 2), vb = random(rnd, t, k * n, -2, 2);
            Tensor ta = tensor(b, t, va, 4, m, k);
            Tensor tb = expand(tensor(b, t, vb, k, n), 4, k, n);
            Tensor out = output(b, t, 4, m, n);
            b.matmul(ta, tb, out);
            double[] vbb = new double[4 * k * n];
            for (int i = 0; i < 4; i++) System.arraycopy(vb, 0, vbb, i * k * n, k * n);
            assertGemm("broadcast b " + t, t, gemmRef(va, vbb, 4, m, k, n), values(out), accumTol(t));
            // a (2, 1, m, k) against b (2, 3, k, n): a's batch is not uniform (strides M*K, 0): copied first.
            double[] va2 = random(rnd, t, 2 * m * k, -2, 2), vb2 = random(rnd, t, 6 * k * n, -2, 2);
            Tensor ta2 = expand(tensor(b, t, va2, 2, 1, m, k), 2, 3, m, k);
            Tensor tb2 = tensor(b, t, vb2, 2, 3, k, n);
            Tensor out2 = output(b, t, 2, 3, m, n);
            b.matmul(ta2, tb2, out2);
            double[] vaa = new double[6 * m * k];
            for (int i = 0; i < 6; i++) System.arraycopy(va2, (i / 3) * m * k, vaa, i * m * k, m * k);
            assertGemm("non-uniform batch " + t, t, gemmRef(vaa, vb2, 6, m, k, n), values(out2), accumTol(t));
        }
    }

    @Test
    void emptyAndZeroK() {
        CudaBackend b = gpu();
        for (DType t : FLOATS) {
            Tensor a = tensor(b, t, new double[0], 3, 0), c = tensor(b, t, new double[0], 0, 4);
            Tensor out = output(b, t, 3, 4);
            b.matmul(a, c, out);
            assertSame("K = 0 gives zeros " + t, new double[12], values(out));
            b.matmul(tensor(b, t, new double[0], 0, 5), tensor(b, t, new double[10], 5, 2), output(b, t, 0, 2));
        }
    }

    @Test
    void tf32IsOptIn() {
        CudaBackend b = gpu();
        Random rnd = new Random(33);
        int m = 64, k = 256, n = 64;
        double[] va = random(rnd, DType.F32, m * k, -1, 1), vb = random(rnd, DType.F32, k * n, -1, 1);
        Tensor ta = tensor(b, DType.F32, va, m, k), tb = tensor(b, DType.F32, vb, k, n);
        assertFalse(Cublas.allowTf32());
        try {
            Cublas.setAllowTf32(true);
            Tensor out = output(b, DType.F32, m, n);
            b.matmul(ta, tb, out);
            assertGemm("TF32", DType.F32, gemmRef(va, vb, 1, m, k, n), values(out), 2e-3);
        } finally {
            Cublas.setAllowTf32(false);
        }
        System.out.println("cuBLAS: " + Cublas.libraryDescription() + ", version " + b.cublas().version());
    }

    // ---- cuBLASLt epilogues -----------------------------------------------------------------------------------------

    static double gelu(double x) { return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x))); }

    @Test
    void epiloguesMatchSeparateOps() {
        withReduction(false, () -> epiloguesMatchSeparateOps(false));
        epiloguesMatchSeparateOps(true);
    }

    void epiloguesMatchSeparateOps(boolean reduced) {
        CudaBackend b = gpu();
        Random rnd = new Random(34);
        int[][] shapes = {{37, 64, 96}, {1, 64, 32}, {128, 768, 512}};
        for (DType t : new DType[]{DType.F32, DType.BF16, DType.F16})
            for (int[] s : shapes)
                for (Cublas.Epilogue ep : Cublas.Epilogue.values()) {
                    int m = s[0], k = s[1], n = s[2];
                    double[] vx = random(rnd, t, m * k, -1, 1), vw = random(rnd, t, n * k, -0.5, 0.5), vb = random(rnd, t, n, -1, 1);
                    Tensor x = tensor(b, t, vx, m, k);
                    Tensor w = tensor(b, t, vw, n, k);                 // nn.Linear layout (out, in)
                    Tensor wt = permute(w, 1, 0);                      // (k, n) column-major view
                    Tensor bias = tensor(b, t, vb, n);
                    Tensor out = output(b, t, m, n);
                    b.matmulEpilogue(x, wt, ep == Cublas.Epilogue.NONE || ep == Cublas.Epilogue.GELU ? null : bias, ep, out);
                    // Reference in double.
                    double[] wtv = new double[k * n];
                    for (int i = 0; i < n; i++) for (int j = 0; j < k; j++) wtv[j * n + i] = vw[i * k + j];
                    double[][] ref = gemmRef(vx, wtv, 1, m, k, n);
                    boolean hasBias = ep == Cublas.Epilogue.BIAS || ep == Cublas.Epilogue.GELU_BIAS;
                    boolean hasGelu = ep == Cublas.Epilogue.GELU || ep == Cublas.Epilogue.GELU_BIAS;
                    for (int i = 0; i < m; i++)
                        for (int j = 0; j < n; j++) {
                            double z = ref[0][i * n + j] + (hasBias ? vb[j] : 0);
                            ref[0][i * n + j] = hasGelu ? gelu(z) : z;
                            ref[1][i * n + j] += 1;   // room for the GELU approximation and the bias add
                        }
                    double[] got = values(out);
                    String what = "cuBLASLt " + ep + " " + t + " " + m + "x" + k + "x" + n;
                    // cuBLASLt may evaluate GELU's tanh approximately: allow about 1e-3 there.
                    double acc = (hasGelu ? (t == DType.F32 ? 2e-3 : 4e-3) : (t == DType.F32 ? 2e-5 : 1e-3))
                            + (reduced && t.isHalf() ? 0x1p-6 : 0);
                    assertGemm(what, t, ref, got, acc);
                    // Against separate ops on the GPU: matmul, add (broadcast bias), gelu.
                    Tensor sep = output(b, t, m, n);
                    b.matmul(x, wt, sep);
                    if (hasBias) b.binary(BinaryOp.ADD, sep, expand(bias, m, n), sep);
                    if (hasGelu) b.unary(UnaryOp.GELU, sep, sep);
                    double[] s2 = values(sep);
                    double tol = t == DType.F32 ? (hasGelu ? 3e-3 : 1e-4) : 3e-2;
                    for (int i = 0; i < got.length; i++)
                        if (!(Math.abs(got[i] - s2[i]) <= tol * (1 + Math.abs(s2[i]))))
                            fail(what + " vs separate ops: element " + i + ": " + got[i] + " vs " + s2[i]);
                    for (Tensor tt : new Tensor[]{x, w, bias, out, sep}) tt.release();
                }
        System.out.println("cuBLASLt epilogue fallbacks to separate ops: " + b.epilogueFallbacks.get());
    }

    /** Plans are cached per shape: a second bias (and other operand addresses) must be honoured on the next call. */
    @Test
    void epiloguePlanFollowsNewPointers() {
        CudaBackend b = gpu();
        Random rnd = new Random(35);
        DType t = DType.F32;
        int m = 16, k = 32, n = 24;
        double[] vx = random(rnd, t, m * k, -1, 1), vw = random(rnd, t, n * k, -1, 1);
        Tensor x = tensor(b, t, vx, m, k), w = tensor(b, t, vw, n, k), wt = permute(w, 1, 0);
        double[] wtv = new double[k * n];
        for (int i = 0; i < n; i++) for (int j = 0; j < k; j++) wtv[j * n + i] = vw[i * k + j];
        double[][] base = gemmRef(vx, wtv, 1, m, k, n);
        // All biases stay alive, so each call gets a different bias address (the allocator would reuse a freed one).
        java.util.List<Tensor> keep = new java.util.ArrayList<>();
        for (int rep = 0; rep < 3; rep++) {
            double[] vb = random(rnd, t, n, -4, 4);
            Tensor bias = tensor(b, t, vb, n), out = output(b, t, m, n);
            keep.add(bias);
            keep.add(out);
            b.matmulEpilogue(x, wt, bias, Cublas.Epilogue.BIAS, out);
            double[][] ref = {base[0].clone(), base[1].clone()};
            for (int i = 0; i < m; i++) for (int j = 0; j < n; j++) ref[0][i * n + j] += vb[j];
            assertGemm("bias #" + rep, t, ref, values(out), 2e-5);
        }
        keep.forEach(Tensor::release);
        for (Tensor tt : new Tensor[]{x, w}) tt.release();
    }

    /**
     * The op a Linear layer calls: x (..., K) @ w (K, N) row-major, as Flare stores weights, + bias, through the bias
     * epilogue, against double math on the same rounded values; odd sizes, a transposed x, and no bias.
     */
    @Test
    void matmulAddBiasMatchesDefinition() {
        CudaBackend b = gpu();
        long seed = new Random().nextLong();
        Random rnd = new Random(seed);
        for (DType t : new DType[]{DType.F32, DType.BF16, DType.F16})
            for (boolean transposedX : new boolean[]{false, true})
                for (boolean withBias : new boolean[]{true, false}) {
                    int m = 1 + rnd.nextInt(300), k = 8 * (1 + rnd.nextInt(40)), n = 8 * (1 + rnd.nextInt(40)) + (t == DType.F32 ? rnd.nextInt(8) : 0);
                    double[] vx = random(rnd, t, m * k, -1, 1), vw = random(rnd, t, k * n, -0.5, 0.5), vb = random(rnd, t, n, -1, 1);
                    Tensor x = transposedX ? permute(tensor(b, t, transposeOf(vx, m, k), k, m), 1, 0) : tensor(b, t, vx, m, k);
                    Tensor w = tensor(b, t, vw, k, n), bias = tensor(b, t, vb, n);
                    long fallbacks = b.epilogueFallbacks.get();
                    Tensor out = x.reshape(1, m, k).matmulAddBias(w, withBias ? bias : null);
                    assertArrayEquals(new int[]{1, m, n}, out.shape());
                    double[][] ref = gemmRef(vx, vw, 1, m, k, n);
                    if (withBias) for (int i = 0; i < m; i++) for (int j = 0; j < n; j++) ref[0][i * n + j] += vb[j];
                    String what = "matmulAddBias " + t + " m=" + m + " k=" + k + " n=" + n + (transposedX ? " transposed x" : "")
                            + (withBias ? "" : " no bias") + " seed " + seed;
                    assertGemm(what, t, ref, values(out), accumTol(t, true));
                    if (withBias && n % 8 == 0) assertEquals(fallbacks, b.epilogueFallbacks.get(), what + ": cuBLASLt could not fuse the bias");
                    for (Tensor tt : new Tensor[]{x, w, bias, out}) tt.release();
                }
    }

    private static double[] transposeOf(double[] v, int rows, int cols) {
        double[] out = new double[v.length];
        for (int i = 0; i < rows; i++) for (int j = 0; j < cols; j++) out[j * rows + i] = v[i * cols + j];
        return out;
    }
}
