package dev.flare.tensor.cuda;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The row-major -> column-major cuBLAS mapping, checked by running the planned call through a plain Java
 * implementation of cuBLAS's strided-batched GEMM semantics. No GPU needed.
 */
class GemmPlanTest {
    /** cuBLAS: C[i + j*ldc] = sum_p op(A)[i, p] op(B)[p, j], column-major, per batch. */
    static void cublas(GemmPlan p, double[] a, long aOff, double[] b, long bOff, double[] c, long cOff) {
        for (int bt = 0; bt < p.batch; bt++) {
            long ao = aOff + bt * p.strideA, bo = bOff + bt * p.strideB, co = cOff + bt * p.strideC;
            for (int i = 0; i < p.m; i++)
                for (int j = 0; j < p.n; j++) {
                    double s = 0;
                    for (int q = 0; q < p.k; q++) {
                        double av = p.transA ? a[(int) (ao + q + (long) i * p.lda)] : a[(int) (ao + i + (long) q * p.lda)];
                        double bv = p.transB ? b[(int) (bo + j + (long) q * p.ldb)] : b[(int) (bo + q + (long) j * p.ldb)];
                        s += av * bv;
                    }
                    c[(int) (co + i + (long) j * p.ldc)] = s;
                }
        }
    }

    record View(double[] data, int[] shape, long[] strides, long offset) {
        double get(int[] idx) {
            long o = offset;
            for (int d = 0; d < idx.length; d++) o += idx[d] * strides[d];
            return data[(int) o];
        }

        View contiguous() {
            int n = 1;
            for (int s : shape) n *= s;
            double[] out = new double[n];
            int[] idx = new int[shape.length];
            for (int i = 0; i < n; i++) {
                out[i] = get(idx);
                for (int d = shape.length - 1; d >= 0; d--) {
                    if (++idx[d] < shape[d]) break;
                    idx[d] = 0;
                }
            }
            return new View(out, shape, contiguousStrides(shape), 0);
        }
    }

    static long[] contiguousStrides(int[] shape) {
        long[] s = new long[shape.length];
        long acc = 1;
        for (int d = shape.length - 1; d >= 0; d--) {
            s[d] = acc;
            acc *= Math.max(shape[d], 1);
        }
        return s;
    }

    /** A random view of the given (batch..., R, S) shape: row- or column-major, padded, broadcast or permuted batches. */
    static View randomView(Random rnd, int[] shape, int kind) {
        int r = shape.length;
        int[] storageShape = shape.clone();
        boolean transposed = kind % 2 == 1;
        boolean broadcastBatch = r > 2 && kind >= 2 && kind < 4;
        boolean permuteBatch = r > 3 && kind >= 4;
        if (broadcastBatch) storageShape[0] = 1;
        // Build strides: matrix dims (possibly transposed, padded), then batch dims.
        long[] st = new long[r];
        int rows = shape[r - 2], cols = shape[r - 1];
        int pad = rnd.nextInt(3);
        long matrix;
        if (!transposed) {
            st[r - 1] = 1;
            st[r - 2] = cols + pad;
            matrix = (long) rows * (cols + pad);
        } else {
            st[r - 2] = 1;
            st[r - 1] = rows + pad;
            matrix = (long) cols * (rows + pad);
        }
        int[] order = new int[r - 2];
        for (int i = 0; i < r - 2; i++) order[i] = i;
        if (permuteBatch) {
            order[0] = 1;
            order[1] = 0;
        }
        long acc = matrix;
        for (int i = r - 3; i >= 0; i--) {
            int d = order[i];
            st[d] = storageShape[d] == 1 && broadcastBatch && d == 0 ? 0 : acc;
            acc *= storageShape[d];
        }
        long offset = rnd.nextInt(4);
        double[] data = new double[(int) (offset + acc + 8)];
        for (int i = 0; i < data.length; i++) data[i] = rnd.nextInt(7) - 3;
        return new View(data, shape, st, offset);
    }

    @Test
    void plannedCallsMatchNaiveMatmul() {
        Random rnd = new Random(7);
        int copies = 0, direct = 0;
        for (int trial = 0; trial < 400; trial++) {
            int nb = rnd.nextInt(3);
            int[] batch = new int[nb];
            for (int i = 0; i < nb; i++) batch[i] = 1 + rnd.nextInt(3);
            int m = 1 + rnd.nextInt(5), n = 1 + rnd.nextInt(5), k = 1 + rnd.nextInt(5);
            int[] as = Arrays.copyOf(batch, nb + 2), bs = Arrays.copyOf(batch, nb + 2);
            as[nb] = m;
            as[nb + 1] = k;
            bs[nb] = k;
            bs[nb + 1] = n;
            View a = randomView(rnd, as, rnd.nextInt(6)), b = randomView(rnd, bs, rnd.nextInt(6));
            GemmPlan.Layout la = GemmPlan.layout(a.shape, a.strides), lb = GemmPlan.layout(b.shape, b.strides);
            if (la == null) { a = a.contiguous(); la = GemmPlan.layout(a.shape, a.strides); copies++; } else direct++;
            if (lb == null) { b = b.contiguous(); lb = GemmPlan.layout(b.shape, b.strides); copies++; } else direct++;
            assertNotNull(la);
            assertNotNull(lb);
            int bcount = 1;
            for (int x : batch) bcount *= x;
            GemmPlan p = GemmPlan.of(bcount, m, n, k, la, lb);
            double[] out = new double[bcount * m * n];
            cublas(p, b.data, b.offset, a.data, a.offset, out, 0);
            // Naive reference.
            int[] bi = new int[nb];
            for (int bt = 0; bt < bcount; bt++) {
                for (int i = 0; i < m; i++)
                    for (int j = 0; j < n; j++) {
                        double s = 0;
                        for (int q = 0; q < k; q++) {
                            int[] ai = Arrays.copyOf(bi, nb + 2), bj = Arrays.copyOf(bi, nb + 2);
                            ai[nb] = i;
                            ai[nb + 1] = q;
                            bj[nb] = q;
                            bj[nb + 1] = j;
                            s += a.get(ai) * b.get(bj);
                        }
                        assertEquals(s, out[(bt * m + i) * n + j], 0, "trial " + trial + " " + p);
                    }
                for (int d = nb - 1; d >= 0; d--) {
                    if (++bi[d] < batch[d]) break;
                    bi[d] = 0;
                }
            }
        }
        assertTrue(direct > copies, "most layouts go to cuBLAS directly (" + direct + " direct, " + copies + " copies)");
    }

    @Test
    void layouts() {
        // Row-major contiguous (2, 3): ld 3.
        assertEquals(new GemmPlan.Layout(false, 3, 0), GemmPlan.layout(new int[]{2, 3}, new long[]{3, 1}));
        // Transposed view of a contiguous (3, 2): column-major, ld 2.
        assertEquals(new GemmPlan.Layout(true, 2, 0), GemmPlan.layout(new int[]{2, 3}, new long[]{1, 2}));
        // Batched contiguous and broadcast batch.
        assertEquals(new GemmPlan.Layout(false, 3, 6), GemmPlan.layout(new int[]{4, 2, 3}, new long[]{6, 3, 1}));
        assertEquals(new GemmPlan.Layout(false, 3, 0), GemmPlan.layout(new int[]{4, 2, 3}, new long[]{0, 3, 1}));
        // Two batch dims that collapse, and two that do not.
        assertEquals(new GemmPlan.Layout(false, 3, 6), GemmPlan.layout(new int[]{2, 4, 2, 3}, new long[]{24, 6, 3, 1}));
        assertNull(GemmPlan.layout(new int[]{2, 4, 2, 3}, new long[]{6, 12, 3, 1}));
        assertNull(GemmPlan.layout(new int[]{2, 4, 2, 3}, new long[]{0, 6, 3, 1}));
        // Expanded rows (stride 0) cannot be passed.
        assertNull(GemmPlan.layout(new int[]{5, 3}, new long[]{0, 1}));
        // Vectors: (1, K) and (K, 1) always fit.
        assertEquals(new GemmPlan.Layout(false, 7, 0), GemmPlan.layout(new int[]{1, 7}, new long[]{99, 1}));
        assertNotNull(GemmPlan.layout(new int[]{7, 1}, new long[]{5, 3}));
    }
}
