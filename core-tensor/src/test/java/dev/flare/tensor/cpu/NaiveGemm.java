package dev.flare.tensor.cpu;

import java.util.Arrays;

/**
 * The slow reference for {@link CpuGemm}: the plain i-k-j loop that main used before the blocked GEMM,
 * with the same arguments and contract, including the reduction over the batch when C's batch stride is
 * 0 (the first batch item honours accumulate, the others add).
 */
final class NaiveGemm {
    private NaiveGemm() {}

    static void sgemm(int batch, int M, int N, int K,
                      float[] a, long aOffset, long aBatchStride, long aRowStride, long aColStride,
                      float[] b, long bOffset, long bBatchStride, long bRowStride, long bColStride,
                      float[] c, long cOffset, long cBatchStride, long cRowStride, long cColStride,
                      boolean accumulate) {
        float[] row = new float[N];
        for (int p = 0; p < batch; p++) {
            boolean add = accumulate || (cBatchStride == 0 && p > 0);
            for (int i = 0; i < M; i++) {
                Arrays.fill(row, 0f);
                for (int kk = 0; kk < K; kk++) {
                    float av = a[(int) (aOffset + p * aBatchStride + i * aRowStride + kk * aColStride)];
                    long bo = bOffset + p * bBatchStride + kk * bRowStride;
                    for (int j = 0; j < N; j++) row[j] += av * b[(int) (bo + j * bColStride)];
                }
                long co = cOffset + p * cBatchStride + i * cRowStride;
                for (int j = 0; j < N; j++) {
                    int at = (int) (co + j * cColStride);
                    c[at] = add ? c[at] + row[j] : row[j];
                }
            }
        }
    }

    static void dgemm(int batch, int M, int N, int K,
                      double[] a, long aOffset, long aBatchStride, long aRowStride, long aColStride,
                      double[] b, long bOffset, long bBatchStride, long bRowStride, long bColStride,
                      double[] c, long cOffset, long cBatchStride, long cRowStride, long cColStride,
                      boolean accumulate) {
        double[] row = new double[N];
        for (int p = 0; p < batch; p++) {
            boolean add = accumulate || (cBatchStride == 0 && p > 0);
            for (int i = 0; i < M; i++) {
                Arrays.fill(row, 0);
                for (int kk = 0; kk < K; kk++) {
                    double av = a[(int) (aOffset + p * aBatchStride + i * aRowStride + kk * aColStride)];
                    long bo = bOffset + p * bBatchStride + kk * bRowStride;
                    for (int j = 0; j < N; j++) row[j] += av * b[(int) (bo + j * bColStride)];
                }
                long co = cOffset + p * cBatchStride + i * cRowStride;
                for (int j = 0; j < N; j++) {
                    int at = (int) (co + j * cColStride);
                    c[at] = add ? c[at] + row[j] : row[j];
                }
            }
        }
    }
}
