package dev.flare.tensor.cpu;

/** TEMPORARY simple GEMM (i-k-j loop order) until the blocked Vector API GEMM lands. */
public final class CpuGemm {
    private CpuGemm() {}

    public static void sgemm(int batch, int M, int N, int K,
                             float[] a, long aOffset, long aBatchStride, long aRowStride, long aColStride,
                             float[] b, long bOffset, long bBatchStride, long bRowStride, long bColStride,
                             float[] c, long cOffset, long cBatchStride, long cRowStride, long cColStride,
                             boolean accumulate) {
        float[] row = new float[N];
        for (int p = 0; p < batch; p++) {
            for (int i = 0; i < M; i++) {
                java.util.Arrays.fill(row, 0f);
                for (int kk = 0; kk < K; kk++) {
                    float av = a[(int) (aOffset + p * aBatchStride + i * aRowStride + kk * aColStride)];
                    long bo = bOffset + p * bBatchStride + kk * bRowStride;
                    for (int j = 0; j < N; j++) row[j] += av * b[(int) (bo + j * bColStride)];
                }
                long co = cOffset + p * cBatchStride + i * cRowStride;
                for (int j = 0; j < N; j++) {
                    int at = (int) (co + j * cColStride);
                    c[at] = accumulate ? c[at] + row[j] : row[j];
                }
            }
        }
    }

    public static void dgemm(int batch, int M, int N, int K,
                             double[] a, long aOffset, long aBatchStride, long aRowStride, long aColStride,
                             double[] b, long bOffset, long bBatchStride, long bRowStride, long bColStride,
                             double[] c, long cOffset, long cBatchStride, long cRowStride, long cColStride,
                             boolean accumulate) {
        double[] row = new double[N];
        for (int p = 0; p < batch; p++) {
            for (int i = 0; i < M; i++) {
                java.util.Arrays.fill(row, 0);
                for (int kk = 0; kk < K; kk++) {
                    double av = a[(int) (aOffset + p * aBatchStride + i * aRowStride + kk * aColStride)];
                    long bo = bOffset + p * bBatchStride + kk * bRowStride;
                    for (int j = 0; j < N; j++) row[j] += av * b[(int) (bo + j * bColStride)];
                }
                long co = cOffset + p * cBatchStride + i * cRowStride;
                for (int j = 0; j < N; j++) {
                    int at = (int) (co + j * cColStride);
                    c[at] = accumulate ? c[at] + row[j] : row[j];
                }
            }
        }
    }
}
