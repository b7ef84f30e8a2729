package dev.flare.tensor.cuda;

/**
 * Maps a row-major batched product out = a @ b onto one column-major cuBLAS strided-batched GEMM.
 *
 * <p>cuBLAS is column-major: a row-major (R x S) matrix with row stride ld is, read column-major, the (S x R)
 * transpose with leading dimension ld. So out (M x N, row-major, ld N) is out^T (N x M) column-major, and
 * out^T = b^T a^T: cuBLAS computes C = op(A) op(B) with A = b's memory, B = a's memory, m = N, n = M, k = K. A
 * row-major operand needs no transpose flag (its memory already is the transpose cuBLAS wants); a column-major one
 * (a transposed view: stride 1 along its rows) takes OP_T with its column stride as leading dimension.
 *
 * <p>Batch dims: each operand's batch dims must collapse to one uniform stride (contiguous batches, or stride 0
 * for a broadcast operand); otherwise, or when a matrix is neither row- nor column-major, the caller makes a
 * contiguous copy first. Pure host arithmetic, unit-tested without a GPU against a column-major reference GEMM.
 */
final class GemmPlan {
    /** How one operand's memory is read: column-major (OP_T) or not, leading dimension, batch stride. */
    record Layout(boolean colMajor, long ld, long batchStride) {}

    final boolean transA, transB;   // cuBLAS flags: A is b's memory, B is a's memory
    final int m, n, k, lda, ldb, ldc, batch;
    final long strideA, strideB, strideC;

    private GemmPlan(boolean transA, boolean transB, int m, int n, int k, int lda, long strideA, int ldb, long strideB,
                     int ldc, long strideC, int batch) {
        this.transA = transA;
        this.transB = transB;
        this.m = m;
        this.n = n;
        this.k = k;
        this.lda = lda;
        this.ldb = ldb;
        this.ldc = ldc;
        this.strideA = strideA;
        this.strideB = strideB;
        this.strideC = strideC;
        this.batch = batch;
    }

    /**
     * The layout of an operand of shape (batch..., R, S) with the given strides, or null when it cannot be passed
     * to cuBLAS as is. Batch sizes are the output's (broadcast dims have stride 0).
     */
    static Layout layout(int[] shape, long[] strides) {
        int r = shape.length;
        long rows = shape[r - 2], cols = shape[r - 1];
        long sr = strides[r - 2], sc = strides[r - 1];
        // Batch dims: one uniform stride over the non-trivial ones.
        long batchStride = 0, span = 0;
        boolean first = true;
        for (int d = r - 3; d >= 0; d--) {
            if (shape[d] == 1) continue;
            if (first) {
                batchStride = strides[d];
                span = shape[d];
                first = false;
            } else {
                if (strides[d] != batchStride * span) return null;
                span *= shape[d];
            }
        }
        Long ld = rowMajorLd(rows, cols, sr, sc);
        boolean colMajor = false;
        if (ld == null) {
            ld = rowMajorLd(cols, rows, sc, sr);   // column-major = row-major of the transpose
            colMajor = true;
        }
        if (ld == null || ld > Integer.MAX_VALUE) return null;
        return new Layout(colMajor, ld, batchStride);
    }

    /** Leading dimension when (rows x cols) with strides (sr, sc) is row-major, else null. */
    private static Long rowMajorLd(long rows, long cols, long sr, long sc) {
        if (cols != 1 && sc != 1) return null;
        long ld = rows == 1 ? Math.max(cols, 1) : sr;
        return ld >= Math.max(cols, 1) ? ld : null;
    }

    /**
     * The cuBLAS call for out (batch..., M, N) contiguous = a (batch..., M, K) @ b (batch..., K, N) with the given
     * layouts of a and b.
     */
    static GemmPlan of(int batch, int m, int n, int k, Layout a, Layout b) {
        // cuBLAS A = b^T (N x K): row-major b is that as is; column-major b is (K x N) column-major, read with OP_T.
        // cuBLAS B = a^T (K x M): likewise.
        return new GemmPlan(b.colMajor(), a.colMajor(), n, m, k, (int) b.ld(), b.batchStride(), (int) a.ld(),
                a.batchStride(), n, (long) m * n, batch);
    }

    @Override
    public String toString() {
        return "GemmPlan(transA=" + transA + ", transB=" + transB + ", m=" + m + ", n=" + n + ", k=" + k + ", lda=" + lda
                + ", strideA=" + strideA + ", ldb=" + ldb + ", strideB=" + strideB + ", ldc=" + ldc + ", strideC="
                + strideC + ", batch=" + batch + ")";
    }
}
