package dev.flare.tensor.cuda;

import dev.flare.tensor.DType;
import dev.flare.tensor.Shapes;
import dev.flare.tensor.Tensor;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;

import static dev.flare.tensor.cuda.CudaTestSupport.*;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Softmax, layer norm, GELU backward, embedding and cross-entropy on CUDA against double references. */
@Tag("cuda")
class CudaNNTest {
    /** Tolerances of float math followed by one rounding to dtype. */
    static double rt(DType t) { return t == DType.F32 ? 2e-5 : t == DType.F64 ? 1e-11 : rtol(t); }

    static double at(DType t) { return t == DType.F32 ? 2e-6 : t == DType.F64 ? 1e-12 : t == DType.BF16 ? 2e-3 : 5e-4; }

    /** Moves dim to the end: returns (rows, len) and an index map from row-major (rows, len) to x's row-major order. */
    static int[] rowMap(int[] shape, int dim) {
        int n = (int) Shapes.numel(shape), len = shape[dim];
        int[] map = new int[n];
        long[] st = Shapes.contiguousStrides(shape);
        int[] idx = new int[shape.length];
        int[] rowShape = new int[shape.length - 1];
        for (int d = 0, i = 0; d < shape.length; d++) if (d != dim) rowShape[i++] = shape[d];
        long[] rst = Shapes.contiguousStrides(rowShape);
        for (int i = 0; i < n; i++) {
            int row = 0;
            for (int d = 0, k = 0; d < shape.length; d++) if (d != dim) row += idx[d] * rst[k++];
            map[row * len + idx[dim]] = i;
            for (int d = shape.length - 1; d >= 0; d--) {
                if (++idx[d] < shape[d]) break;
                idx[d] = 0;
            }
        }
        return map;
    }

    static double[] softmaxRef(double[] x, int[] shape, int dim, boolean log) {
        int len = shape[dim], rows = len == 0 ? 0 : x.length / len;
        int[] map = rowMap(shape, dim);
        double[] y = new double[x.length];
        for (int r = 0; r < rows; r++) {
            double m = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < len; j++) m = Math.max(m, x[map[r * len + j]]);
            double s = 0;
            for (int j = 0; j < len; j++) s += Math.exp(x[map[r * len + j]] - m);
            for (int j = 0; j < len; j++) {
                int i = map[r * len + j];
                y[i] = log ? x[i] - m - Math.log(s) : Math.exp(x[i] - m) / s;
            }
        }
        return y;
    }

    @Test
    void softmaxForwardAndBackward() {
        CudaBackend b = gpu();
        Random rnd = new Random(41);
        int[][][] cases = {{{7, 1023}, {1}}, {{33, 50304}, {1}}, {{5, 7, 3}, {1}}, {{4, 1}, {1}}, {{1, 7}, {0}}, {{65, 129}, {0}}};
        for (DType t : FLOATS)
            for (boolean log : new boolean[]{false, true})
                for (int[][] c : cases)
                    for (Layout l : new Layout[]{Layout.CONTIGUOUS, Layout.PERMUTED}) {
                        int[] shape = c[0];
                        int dim = c[1][0], n = (int) Shapes.numel(shape);
                        double[] v = random(rnd, t, n, -8, 8);
                        // A few masked entries (attention masks), never a whole row.
                        for (int i = 3; i < n; i += 11) v[i] = Double.NEGATIVE_INFINITY;
                        if (shape[dim] == 1) for (int i = 0; i < n; i++) if (Double.isInfinite(v[i])) v[i] = 0;
                        Tensor x = tensor(b, t, v, shape, l);
                        Tensor y = output(b, t, shape);
                        b.softmax(x, dim, log, y);
                        double[] yref = softmaxRef(v, shape, dim, log);
                        String what = (log ? "logSoftmax " : "softmax ") + t + " " + Arrays.toString(shape) + " dim " + dim + " " + l;
                        assertClose(what, rounded(t, yref), values(y), rt(t), at(t));
                        // Backward with the reference y (rounded to dtype) and a random dy.
                        double[] yv = rounded(t, yref), dyv = random(rnd, t, n, -1, 1);
                        if (log) for (int i = 0; i < n; i++) if (Double.isInfinite(yv[i])) dyv[i] = 0;
                        Tensor ty = tensor(b, t, yv, shape, l), tdy = tensor(b, t, dyv, shape, Layout.CONTIGUOUS);
                        Tensor dx = output(b, t, shape);
                        b.softmaxBackward(ty, tdy, dim, log, dx);
                        int len = shape[dim], rows = n / len;
                        int[] map = rowMap(shape, dim);
                        double[] expect = new double[n];
                        for (int r = 0; r < rows; r++) {
                            double s = 0;
                            for (int j = 0; j < len; j++) {
                                int i = map[r * len + j];
                                s += log ? dyv[i] : dyv[i] * yv[i];
                            }
                            for (int j = 0; j < len; j++) {
                                int i = map[r * len + j];
                                expect[i] = log ? dyv[i] - Math.exp(yv[i]) * s : yv[i] * (dyv[i] - s);
                            }
                        }
                        assertClose(what + " backward", rounded(t, expect), values(dx), rt(t), at(t) * 4);
                        for (Tensor tt : new Tensor[]{x, y, ty, tdy, dx}) tt.release();
                    }
    }

    // ---- layer norm -------------------------------------------------------------------------------------------------

    @Test
    void layerNormForwardAndBackward() {
        CudaBackend b = gpu();
        Random rnd = new Random(42);
        int[][] shapes = {{7, 33}, {4097, 768}, {3, 1}, {2, 3, 65}, {1, 4096}, {0, 8}};
        double eps = 1e-5;
        for (DType t : FLOATS)
            for (int[] shape : shapes)
                for (boolean affine : new boolean[]{true, false})
                    for (Layout l : new Layout[]{Layout.CONTIGUOUS, Layout.PERMUTED}) {
                        int c = shape[shape.length - 1], n = (int) Shapes.numel(shape), rows = c == 0 ? 0 : n / c;
                        DType st = t == DType.F64 ? DType.F64 : DType.F32;
                        double[] v = random(rnd, t, n, -3, 5), w = random(rnd, t, c, 0.5, 1.5), bv = random(rnd, t, c, -1, 1);
                        Tensor x = tensor(b, t, v, shape, l);
                        Tensor tw = affine ? tensor(b, t, w, new int[]{c}, Layout.OFFSET) : null;
                        Tensor tb = affine ? tensor(b, t, bv, c) : null;
                        int[] rowShape = Arrays.copyOf(shape, shape.length - 1);
                        Tensor y = output(b, t, shape), mean = output(b, st, rowShape), rstd = output(b, st, rowShape);
                        b.layerNorm(x, tw, tb, eps, y, mean, rstd);
                        double[] ym = new double[n], mu = new double[rows], rs = new double[rows];
                        for (int r = 0; r < rows; r++) {
                            double s = 0;
                            for (int j = 0; j < c; j++) s += v[r * c + j];
                            mu[r] = s / c;
                            double q = 0;
                            for (int j = 0; j < c; j++) q += (v[r * c + j] - mu[r]) * (v[r * c + j] - mu[r]);
                            rs[r] = 1 / Math.sqrt(q / c + eps);
                            for (int j = 0; j < c; j++) {
                                double o = (v[r * c + j] - mu[r]) * rs[r];
                                ym[r * c + j] = affine ? o * w[j] + bv[j] : o;
                            }
                        }
                        String what = "layerNorm " + t + " " + Arrays.toString(shape) + (affine ? " affine " : " ") + l;
                        assertClose(what, rounded(t, ym), values(y), rt(t) * 4, at(t) * 8);
                        assertClose(what + " mean", rounded(st, mu), values(mean), rt(st), 1e-5);
                        assertClose(what + " rstd", rounded(st, rs), values(rstd), 1e-4, 1e-5);

                        // Backward from the reference statistics.
                        double[] dyv = random(rnd, t, n, -1, 1);
                        Tensor dy = tensor(b, t, dyv, shape, Layout.CONTIGUOUS);
                        Tensor tmu = tensor(b, st, rounded(st, mu), rowShape), trs = tensor(b, st, rounded(st, rs), rowShape);
                        Tensor dx = output(b, t, shape);
                        Tensor dw = affine ? output(b, t, c) : null, db = affine ? output(b, t, c) : null;
                        b.layerNormBackward(dy, x, tw, tmu, trs, dx, dw, db);
                        double[] edx = new double[n], edw = new double[c], edb = new double[c];
                        for (int r = 0; r < rows; r++) {
                            double m = round(st, mu[r]), q = round(st, rs[r]);
                            double sg = 0, sgx = 0;
                            for (int j = 0; j < c; j++) {
                                double g = dyv[r * c + j] * (affine ? w[j] : 1);
                                sg += g;
                                sgx += g * (v[r * c + j] - m) * q;
                            }
                            for (int j = 0; j < c; j++) {
                                double g = dyv[r * c + j] * (affine ? w[j] : 1);
                                double xh = (v[r * c + j] - m) * q;
                                edx[r * c + j] = q * (g - sg / c - xh * sgx / c);
                                edw[j] += dyv[r * c + j] * xh;
                                edb[j] += dyv[r * c + j];
                            }
                        }
                        assertClose(what + " dx", rounded(t, edx), values(dx), rt(t) * 10, at(t) * 50);
                        if (affine) {
                            double scale = Math.sqrt(Math.max(rows, 1));
                            assertClose(what + " dWeight", rounded(t, edw), values(dw), rt(t) * 10, at(t) * 50 * scale);
                            assertClose(what + " dBias", rounded(t, edb), values(db), rt(t) * 10, at(t) * 50 * scale);
                        }
                        for (Tensor tt : new Tensor[]{x, tw, tb, y, mean, rstd, dy, tmu, trs, dx, dw, db}) if (tt != null) tt.release();
                    }
    }

    // ---- GELU backward ----------------------------------------------------------------------------------------------

    static double geluGrad(double x) {
        double k = Math.sqrt(2 / Math.PI), a = 0.044715;
        double u = k * (x + a * x * x * x), th = Math.tanh(u);
        return 0.5 * (1 + th) + 0.5 * x * (1 - th * th) * k * (1 + 3 * a * x * x);
    }

    @Test
    void geluBackward() {
        CudaBackend b = gpu();
        Random rnd = new Random(43);
        for (DType t : FLOATS)
            for (int[] shape : new int[][]{{1}, {4097}, {37, 29}})
                for (Layout l : new Layout[]{Layout.CONTIGUOUS, Layout.PERMUTED, Layout.OFFSET}) {
                    int n = (int) Shapes.numel(shape);
                    double[] x = random(rnd, t, n, -6, 6), dy = random(rnd, t, n, -2, 2);
                    x[0] = round(t, -20);
                    if (n > 1) x[1] = round(t, 20);
                    Tensor tx = tensor(b, t, x, shape, l), tdy = tensor(b, t, dy, shape, Layout.CONTIGUOUS);
                    Tensor dx = tensor(b, t, new double[n], shape, Layout.PADDED);
                    b.geluBackward(tx, tdy, dx);
                    double[] e = new double[n];
                    for (int i = 0; i < n; i++) e[i] = round(t, dy[i] * geluGrad(x[i]));
                    assertClose("geluBackward " + t + " " + l + " n=" + n, e, values(dx), rt(t) * 2, at(t));
                }
    }

    // ---- embedding ---------------------------------------------------------------------------------------------

    @Test
    void embeddingForwardAndBackward() {
        CudaBackend b = gpu();
        Random rnd = new Random(44);
        int vocab = 50, dim = 33;
        for (DType t : FLOATS)
            for (DType it : new DType[]{DType.I32, DType.I64})
                for (Layout wl : new Layout[]{Layout.CONTIGUOUS, Layout.PADDED})
                    for (Layout il : new Layout[]{Layout.CONTIGUOUS, Layout.PERMUTED}) {
                        int[] idShape = {3, 17};
                        double[] ids = random(rnd, it, 51, 0, vocab - 1);
                        ids[0] = 0;
                        ids[1] = vocab - 1;
                        double[] w = random(rnd, t, vocab * dim, -1, 1);
                        Tensor tw = tensor(b, t, w, new int[]{vocab, dim}, wl);
                        Tensor tids = tensor(b, it, ids, idShape, il);
                        Tensor out = output(b, t, 3, 17, dim);
                        b.embedding(tw, tids, out);
                        double[] e = new double[51 * dim];
                        for (int i = 0; i < 51; i++) System.arraycopy(w, (int) ids[i] * dim, e, i * dim, dim);
                        String what = "embedding " + t + " ids " + it + " " + wl + "/" + il;
                        assertSame(what, e, values(out));

                        double[] g = random(rnd, t, 51 * dim, -1, 1);
                        double[] init = random(rnd, t, vocab * dim, -1, 1);
                        Tensor tg = tensor(b, t, g, new int[]{3, 17, dim}, Layout.CONTIGUOUS);
                        Tensor dw = tensor(b, t, init, new int[]{vocab, dim}, wl);
                        b.embeddingBackward(tg, tids, dw);
                        double[] ed = init.clone();
                        for (int i = 0; i < 51; i++)
                            for (int j = 0; j < dim; j++) ed[(int) ids[i] * dim + j] += g[i * dim + j];
                        assertClose(what + " backward", rounded(t, ed), values(dw), rt(t) * 2, at(t) * 4);
                        for (Tensor tt : new Tensor[]{tw, tids, out, tg, dw}) tt.release();
                    }
        // A larger one with many repeats (atomics contend).
        int n = 16384, v2 = 257, d2 = 768;
        double[] ids = random(rnd, DType.I32, n, 0, v2 - 1);
        double[] g = random(rnd, DType.F32, n * d2, -1, 1);
        Tensor dw = tensor(b, DType.F32, new double[v2 * d2], v2, d2);
        b.embeddingBackward(tensor(b, DType.F32, g, n, d2), tensor(b, DType.I32, ids, n), dw);
        double[] ed = new double[v2 * d2];
        for (int i = 0; i < n; i++) for (int j = 0; j < d2; j++) ed[(int) ids[i] * d2 + j] += g[i * d2 + j];
        assertClose("embedding backward 16384 x 768", ed, values(dw), 1e-5, 1e-4);
    }

    // ---- cross-entropy ----------------------------------------------------------------------------------------------

    @Test
    void crossEntropyForwardAndBackward() {
        CudaBackend b = gpu();
        Random rnd = new Random(45);
        int[][] nc = {{67, 1023}, {5, 50304}, {1, 1}, {3, 2}, {0, 7}};
        long ignore = -100;
        for (DType t : FLOATS)
            for (DType it : new DType[]{DType.I32, DType.I64})
                for (int[] s : nc)
                    for (Layout l : new Layout[]{Layout.CONTIGUOUS, Layout.PERMUTED}) {
                        int n = s[0], c = s[1];
                        DType st = t == DType.F64 ? DType.F64 : DType.F32;
                        double[] x = random(rnd, t, n * c, -6, 6);
                        double[] tg = random(rnd, it, n, 0, c - 1);
                        for (int i = 2; i < n; i += 5) tg[i] = ignore;
                        Tensor tx = tensor(b, t, x, new int[]{n, c}, l);
                        Tensor tt = tensor(b, it, tg, new int[]{n}, Layout.OFFSET);
                        Tensor loss = output(b, st, n), lse = output(b, st, n);
                        b.crossEntropy(tx, tt, ignore, loss, lse);
                        double[] el = new double[n], es = new double[n];
                        for (int r = 0; r < n; r++) {
                            double m = Double.NEGATIVE_INFINITY;
                            for (int j = 0; j < c; j++) m = Math.max(m, x[r * c + j]);
                            double sum = 0;
                            for (int j = 0; j < c; j++) sum += Math.exp(x[r * c + j] - m);
                            es[r] = m + Math.log(sum);
                            el[r] = tg[r] == ignore ? 0 : es[r] - x[r * c + (int) tg[r]];
                        }
                        String what = "crossEntropy " + t + " " + it + " " + n + "x" + c + " " + l;
                        assertClose(what + " lse", rounded(st, es), values(lse), rt(st) * 2, at(st) * 10);
                        assertClose(what + " loss", rounded(st, el), values(loss), rt(st) * 2, at(st) * 10);

                        double[] dl = random(rnd, st, n, -2, 2);
                        Tensor tlse = tensor(b, st, rounded(st, es), new int[]{n}, Layout.OFFSET), tdl = tensor(b, st, dl, n);
                        Tensor dx = tensor(b, t, new double[n * c], new int[]{n, c}, Layout.PADDED);
                        b.crossEntropyBackward(tx, tt, ignore, tlse, tdl, dx);
                        double[] ed = new double[n * c];
                        for (int r = 0; r < n; r++) {
                            if (tg[r] == ignore) continue;
                            double l0 = round(st, es[r]);
                            for (int j = 0; j < c; j++) {
                                double p = Math.exp(x[r * c + j] - l0);
                                ed[r * c + j] = dl[r] * (j == tg[r] ? p - 1 : p);
                            }
                        }
                        assertClose(what + " backward", rounded(t, ed), values(dx), rt(t) * 2, at(t));
                        for (Tensor x2 : new Tensor[]{tx, tt, loss, lse, tlse, tdl, dx}) x2.release();
                    }
    }
    /**
     * The 16-byte forward (rows of contiguous classes on 16-byte boundaries, as a padded vocabulary's view gives)
     * against the scalar kernel on the same values (the transposed copy takes the scalar kernel): class counts with
     * and without a tail, rows with NaN, +inf, -inf and all -inf, ignored rows.
     */
    @Test
    void crossEntropyVectorRowsMatchTheScalarKernel() {
        CudaBackend b = gpu();
        long seed = System.nanoTime();
        Random rnd = new Random(seed);
        for (DType t : new DType[]{DType.F32, DType.BF16, DType.F16})
            for (int c : new int[]{8, 13, 1000, 50257}) {
                int n = 9, pad = (c + 7) / 8 * 8;
                double[] x = random(rnd, t, n * pad, -6, 6);
                x[1 * pad + 3] = Double.NaN;
                x[2 * pad + c - 1] = Double.POSITIVE_INFINITY;
                x[3 * pad] = Double.NEGATIVE_INFINITY;
                for (int j = 0; j < c; j++) x[4 * pad + j] = Double.NEGATIVE_INFINITY;
                double[] tg = random(rnd, DType.I64, n, 0, c - 1);
                tg[5] = -100;
                Tensor full = tensor(b, t, x, new int[]{n, pad}, Layout.CONTIGUOUS);
                Tensor rows = Tensor.of(full.storage(), new int[]{n, c}, new long[]{pad, 1}, full.offset());
                // the same (n, c) values stored transposed: classes not contiguous, so the scalar kernel
                double[] xt = new double[n * c];
                for (int r = 0; r < n; r++) for (int j = 0; j < c; j++) xt[j * n + r] = x[r * pad + j];
                Tensor scalar = permute(tensor(b, t, xt, new int[]{c, n}, Layout.CONTIGUOUS), 1, 0);
                Tensor tt = tensor(b, DType.I64, tg, n);
                Tensor loss = output(b, DType.F32, n), lse = output(b, DType.F32, n);
                Tensor loss0 = output(b, DType.F32, n), lse0 = output(b, DType.F32, n);
                b.crossEntropy(rows, tt, -100, loss, lse);
                b.crossEntropy(scalar, tt, -100, loss0, lse0);
                String what = "crossEntropy 16-byte rows " + t + " c=" + c + " seed " + seed;
                double[] l = values(loss), l0 = values(loss0), s1 = values(lse), s0 = values(lse0);
                assertClose(what + " lse", s0, s1, 1e-5, 1e-5);
                assertClose(what + " loss", l0, l, 1e-5, 1e-4);
                for (Tensor x2 : new Tensor[]{full, scalar, tt, loss, lse, loss0, lse0}) x2.release();
            }
    }

    /**
     * The 16-byte backward (logits and dLogits rows on 16-byte boundaries: the first c columns of padded rows, as
     * GPT's loss writes its gradient) against the scalar kernel on the same logits, lse and dLoss, written into a
     * transposed gradient (the scalar kernel): bit for bit, class counts with and without a tail, an ignored row.
     */
    @Test
    void crossEntropyBackwardVectorRowsMatchTheScalarKernel() {
        CudaBackend b = gpu();
        long seed = System.nanoTime();
        Random rnd = new Random(seed);
        for (DType t : new DType[]{DType.F32, DType.BF16, DType.F16})
            for (int c : new int[]{8, 13, 1000, 50257}) {
                // rows from element `pad` on (an aligned, non-zero offset), one spare row in front
                int n = 7, pad = (c + 7) / 8 * 8 + 8;
                double[] x = random(rnd, t, (n + 1) * pad, -6, 6);
                DType targetType = c % 2 == 0 ? DType.I32 : DType.I64;
                double[] tg = random(rnd, targetType, n, 0, c - 1);
                tg[2] = -100;
                Tensor full = tensor(b, t, x, new int[]{n + 1, pad}, Layout.CONTIGUOUS);
                Tensor rows = Tensor.of(full.storage(), new int[]{n, c}, new long[]{pad, 1}, full.offset() + pad);
                Tensor tt = tensor(b, targetType, tg, n);
                Tensor loss = output(b, DType.F32, n), lse = output(b, DType.F32, n);
                b.crossEntropy(rows, tt, -100, loss, lse);
                Tensor dl = tensor(b, DType.F32, random(rnd, DType.F32, n, 0.5, 2), n);
                Tensor dFull = output(b, t, n + 1, pad);
                Tensor dRows = Tensor.of(dFull.storage(), new int[]{n, c}, new long[]{pad, 1}, dFull.offset() + pad);
                Tensor dT = permute(output(b, t, c, n), 1, 0);      // (n, c) with classes strided: the scalar kernel
                String what = "crossEntropy backward 16-byte rows " + t + " c=" + c + " targets " + targetType + " seed " + seed;
                boolean was = b.isKernelProfiling();
                b.setKernelProfiling(true);
                b.kernelProfile().reset();
                try {
                    b.crossEntropyBackward(rows, tt, -100, lse, dl, dRows);
                    assertTrue(b.kernelProfile().rows().stream().anyMatch(k -> k.name().startsWith("ce_bwd_vec")),
                            what + ": the 16-byte kernel was not used: " + b.kernelProfile().rows());
                } finally {
                    b.setKernelProfiling(was);
                }
                b.crossEntropyBackward(rows, tt, -100, lse, dl, dT);
                assertSame(what, values(dT), values(dRows));
                for (Tensor x2 : new Tensor[]{full, tt, loss, lse, dl, dFull, dT}) x2.release();
            }
    }
}
