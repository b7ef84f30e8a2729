package dev.flare.tensor.cuda;

import dev.flare.tensor.DType;
import dev.flare.tensor.Tensor;
import dev.flare.tensor.ops.BinaryOp;
import dev.flare.tensor.ops.UnaryOp;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.Random;
import java.util.function.Supplier;

import static dev.flare.tensor.cuda.CudaTestSupport.*;

/**
 * The bandwidth fast paths at their edges, each against its slow reference on the same inputs: vector kernels at
 * lengths that are not whole vectors or whole unrolled steps and at unaligned offsets (which take the strided
 * kernels); layer norm and softmax register kernels at every chunk count, odd row lengths (scalar index map),
 * unaligned rows, and rows too long for the registers, against the general kernels ({@code forceReference}).
 */
@Tag("cuda")
class CudaFastPathTest {
    /** Element counts around vector (4/8), unrolled-step (4 x 256 threads x vector) and multi-block boundaries. */
    static final int[] LENGTHS = {1, 7, 8, 9, 31, 1023, 1024 * 8 + 5, 3 * 8192 + 8, 300_001};

    @Test
    void elementwiseVectorPathsAtEveryLength() {
        CudaBackend b = gpu();
        Random rnd = new Random(71);
        for (DType t : new DType[]{DType.F32, DType.BF16, DType.F16})
            for (int n : LENGTHS)
                for (Layout l : new Layout[]{Layout.CONTIGUOUS, Layout.OFFSET}) {
                    double[] va = random(rnd, t, n, -3, 3), vb = random(rnd, t, n, 0.5, 3);
                    Tensor a = tensor(b, t, va, new int[]{n}, l), bb = tensor(b, t, vb, new int[]{n}, l);
                    String what = t + " n=" + n + " " + l;
                    for (BinaryOp op : new BinaryOp[]{BinaryOp.ADD, BinaryOp.SUB, BinaryOp.MUL, BinaryOp.DIV, BinaryOp.MAXIMUM}) {
                        Tensor out = output(b, t, n);
                        b.binary(op, a, bb, out);
                        double[] e = new double[n];
                        for (int i = 0; i < n; i++) e[i] = round(t, CudaElementwiseTest.binaryRef(op, va[i], vb[i]));
                        assertClose(op + " " + what, t, e, values(out));
                        b.binaryScalar(op, a, 1.5, false, out);
                        for (int i = 0; i < n; i++) e[i] = round(t, CudaElementwiseTest.binaryRef(op, va[i], round(t, 1.5)));
                        assertClose(op + " scalar " + what, t, e, values(out));
                        out.release();
                    }
                    for (UnaryOp op : new UnaryOp[]{UnaryOp.GELU, UnaryOp.NEG, UnaryOp.SQUARE, UnaryOp.EXP}) {
                        Tensor out = output(b, t, n);
                        b.unary(op, a, out);
                        double[] e = new double[n];
                        for (int i = 0; i < n; i++) e[i] = round(t, CudaElementwiseTest.unaryRef(op, va[i]));
                        assertClose(op + " " + what, t, e, values(out));
                        out.release();
                    }
                    // In place: out is the very same view as an input.
                    Tensor c = tensor(b, t, va, new int[]{n}, l);
                    b.binary(BinaryOp.ADD, c, bb, c);
                    double[] e = new double[n];
                    for (int i = 0; i < n; i++) e[i] = round(t, va[i] + vb[i]);
                    assertClose("in-place ADD " + what, t, e, values(c));
                    // GELU backward, dx contiguous (vector kernel when aligned) and in place over dy.
                    Tensor dx = output(b, t, n);
                    b.geluBackward(a, bb, dx);
                    for (int i = 0; i < n; i++) e[i] = round(t, vb[i] * CudaNNTest.geluGrad(va[i]));
                    assertClose("geluBackward " + what, e, values(dx), CudaNNTest.rt(t) * 2, CudaNNTest.at(t));
                    b.geluBackward(a, bb, bb);
                    assertClose("geluBackward in place " + what, e, values(bb), CudaNNTest.rt(t) * 2, CudaNNTest.at(t));
                    for (Tensor x : new Tensor[]{a, bb, c, dx}) x.release();
                }
    }

    /**
     * The broadcast 16-byte path (a row vector or a column over a contiguous matrix, on either side of the op)
     * against the element-wise definition, at widths that are and are not whole packs (the latter take the strided
     * kernel), row vectors narrower and wider than one 32-pack slab (flat and slab kernels; 776 bf16 columns leave a
     * partial slab, 256 bf16 columns are exactly one, 33 and 18 rows a partial row pass), a 3-d batch that coalesces
     * to rows, an unaligned bias (strided kernel) and in place.
     */
    @Test
    void binaryWithRowOrColumnBroadcastMatchesDefinition() {
        CudaBackend b = gpu();
        long seed = System.nanoTime();
        Random rnd = new Random(seed);
        int[][] shapes = {{1, 8}, {3, 16}, {1025, 64}, {7, 776}, {33, 256}, {2, 9, 512}, {5, 12}, {4, 9, 24}};
        for (DType t : new DType[]{DType.F32, DType.BF16, DType.F16})
            for (int[] shape : shapes)
                for (boolean column : new boolean[]{false, true})
                    for (boolean bcastFirst : new boolean[]{false, true})
                        for (Layout bl : new Layout[]{Layout.CONTIGUOUS, Layout.OFFSET}) {
                            int cols = shape[shape.length - 1], n = (int) dev.flare.tensor.Shapes.numel(shape), rows = n / cols;
                            double[] vd = random(rnd, t, n, 0.5, 3);
                            double[] vc = random(rnd, t, column ? rows : cols, 0.5, 3);
                            Tensor dense = tensor(b, t, vd, shape, Layout.CONTIGUOUS);
                            int[] small = shape.clone();
                            if (column) small[shape.length - 1] = 1;
                            else for (int d = 0; d < shape.length - 1; d++) small[d] = 1;
                            Tensor bc = expand(tensor(b, t, vc, small, bl), shape);
                            String what = t + " " + java.util.Arrays.toString(shape) + (column ? " column" : " row")
                                    + (bcastFirst ? " first " : " second ") + bl + " seed " + seed;
                            for (BinaryOp op : new BinaryOp[]{BinaryOp.ADD, BinaryOp.SUB, BinaryOp.MUL, BinaryOp.DIV, BinaryOp.MAXIMUM}) {
                                Tensor out = output(b, t, shape);
                                if (bcastFirst) b.binary(op, bc, dense, out);
                                else b.binary(op, dense, bc, out);
                                double[] e = new double[n];
                                for (int i = 0; i < n; i++) {
                                    double v = vc[column ? i / cols : i % cols];
                                    e[i] = round(t, bcastFirst ? CudaElementwiseTest.binaryRef(op, v, vd[i]) : CudaElementwiseTest.binaryRef(op, vd[i], v));
                                }
                                assertClose(op + " " + what, t, e, values(out));
                                out.release();
                            }
                            b.binary(BinaryOp.ADD, dense, bc, dense);     // in place
                            double[] e = new double[n];
                            for (int i = 0; i < n; i++) e[i] = round(t, vd[i] + vc[column ? i / cols : i % cols]);
                            assertClose("in-place ADD " + what, t, e, values(dense));
                            dense.release();
                            bc.release();
                        }
    }

    @Test
    void castVectorPathsAtEveryLength() {
        CudaBackend b = gpu();
        Random rnd = new Random(72);
        for (DType h : new DType[]{DType.BF16, DType.F16})
            for (int n : LENGTHS)
                for (Layout l : new Layout[]{Layout.CONTIGUOUS, Layout.OFFSET}) {
                    double[] v = random(rnd, DType.F32, n, -70000, 70000);
                    v[0] = Double.NaN;
                    Tensor f = tensor(b, DType.F32, v, new int[]{n}, l);
                    Tensor hv = output(b, h, n);
                    b.copy(f, hv);
                    double[] e = rounded(h, v);
                    assertSame("F32 -> " + h + " n=" + n + " " + l, e, values(hv));
                    Tensor back = tensor(b, DType.F32, new double[n], new int[]{n}, l);
                    b.copy(hv, back);
                    assertSame(h + " -> F32 n=" + n + " " + l, e, values(back));
                    for (Tensor x : new Tensor[]{f, hv, back}) x.release();
                }
    }

    /** Runs make with the fast kernels, then with the references forced, and compares (a few ulps: sum order). */
    static void fastVsReference(String what, DType t, Supplier<Tensor[]> make) {
        Tensor[] fast = make.get();
        Tensor[] ref;
        LayerNormKernels.forceReference = true;
        SoftmaxKernels.forceReference = true;
        try {
            ref = make.get();
        } finally {
            LayerNormKernels.forceReference = false;
            SoftmaxKernels.forceReference = false;
        }
        for (int i = 0; i < fast.length; i++) {
            DType dt = fast[i].dtype();
            assertClose(what + " output " + i, values(ref[i]), values(fast[i]), 4 * rtol(dt), 4 * atol(dt));
            fast[i].release();
            ref[i].release();
        }
    }

    @Test
    void layerNormFastMatchesReference() {
        CudaBackend b = gpu();
        Random rnd = new Random(73);
        // Row-group kernels of G = 32..256 threads per row (BF16: 8 elements per chunk, F32: 4), odd lengths (scalar
        // index map), rows too long for them (F32 past 8192, BF16/F16 past 16384). CudaLayerNormRowsTest checks every
        // (G, P) against the CPU.
        int[] lens = {8, 250, 256, 257, 768, 770, 1024, 1536, 2048, 3072, 3075, 4096, 4100, 8200, 12290, 16390};
        for (DType t : new DType[]{DType.F32, DType.BF16, DType.F16})
            for (int c : lens)
                for (Layout l : new Layout[]{Layout.CONTIGUOUS, Layout.OFFSET})
                    for (Layout wl : new Layout[]{Layout.CONTIGUOUS, Layout.OFFSET}) {
                        int rows = 19;
                        double[] v = random(rnd, t, rows * c, -3, 5), w = random(rnd, t, c, 0.5, 1.5), bv = random(rnd, t, c, -1, 1);
                        double[] g = random(rnd, t, rows * c, -1, 1);
                        Tensor x = tensor(b, t, v, new int[]{rows, c}, l), dy = tensor(b, t, g, new int[]{rows, c}, l);
                        Tensor tw = tensor(b, t, w, new int[]{c}, wl), tb = tensor(b, t, bv, new int[]{c}, wl);
                        fastVsReference("layerNorm " + t + " " + rows + "x" + c + " " + l + " w " + wl, t, () -> {
                            Tensor y = output(b, t, rows, c), mean = output(b, DType.F32, rows), rstd = output(b, DType.F32, rows);
                            b.layerNorm(x, tw, tb, 1e-5, y, mean, rstd);
                            Tensor dx = output(b, t, rows, c), dw = output(b, t, c), db = output(b, t, c);
                            b.layerNormBackward(dy, x, tw, mean, rstd, dx, dw, db);
                            Tensor dx0 = output(b, t, rows, c);
                            b.layerNormBackward(dy, x, null, mean, rstd, dx0, null, null);
                            return new Tensor[]{y, mean, rstd, dx, dw, db, dx0};
                        });
                        for (Tensor tt : new Tensor[]{x, dy, tw, tb}) tt.release();
                    }
    }

    @Test
    void softmaxFastMatchesReference() {
        CudaBackend b = gpu();
        Random rnd = new Random(74);
        // Register kernels at each thread count and chunk count, odd lengths, rows too long (vector kernel or
        // general), a vocabulary.
        int[] lens = {1, 8, 31, 256, 1000, 1023, 1024, 4096, 8192, 16384, 20000, 24576, 32768, 50257, 50304};
        for (DType t : new DType[]{DType.F32, DType.BF16, DType.F16})
            for (int c : lens)
                for (Layout l : new Layout[]{Layout.CONTIGUOUS, Layout.OFFSET})
                    for (boolean log : new boolean[]{false, true}) {
                        int rows = 5;
                        double[] v = random(rnd, t, rows * c, -8, 8), g = random(rnd, t, rows * c, -1, 1);
                        for (int i = 3; i < v.length; i += 11) if (i % c != 0) v[i] = Double.NEGATIVE_INFINITY;   // masks
                        Tensor x = tensor(b, t, v, new int[]{rows, c}, l), dy = tensor(b, t, g, new int[]{rows, c}, l);
                        fastVsReference((log ? "logSoftmax " : "softmax ") + t + " " + rows + "x" + c + " " + l, t, () -> {
                            Tensor y = output(b, t, rows, c), dx = output(b, t, rows, c);
                            b.softmax(x, 1, log, y);
                            b.softmaxBackward(log ? y : y, dy, 1, log, dx);
                            return new Tensor[]{y, dx};
                        });
                        x.release();
                        dy.release();
                    }
    }
}
