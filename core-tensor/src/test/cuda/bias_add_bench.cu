// Bias add (rows x cols bf16 + a row vector): the flat binary_bcast_vec kernel and the slab kernel binary_rowvec_vec
// (each thread loads its bias pack once and streams rows; what ElementwiseKernels.java launches for bias adds), both
// against a D2D copy of the same bytes.
// Built and run by build-support/kernel-experiments.sh (not by Maven).
#include "dev/flare/tensor/cuda/ElementwiseKernels.cu"
#include <algorithm>
#include <cstdio>
#define CK(x) do { cudaError_t e = (x); if (e != cudaSuccess) { printf("err %s line %d\n", cudaGetErrorString(e), __LINE__); exit(1);} } while (0)
template <typename F> float timeit(F f, int it = 50) {
  cudaEvent_t a, b; cudaEventCreate(&a); cudaEventCreate(&b);
  for (int i = 0; i < 5; i++) f();
  cudaEventRecord(a); for (int i = 0; i < it; i++) f(); cudaEventRecord(b); cudaEventSynchronize(b);
  float ms; cudaEventElapsedTime(&ms, a, b); CK(cudaGetLastError()); return ms / it;
}
int main() {
  for (int cols : {768, 3072}) {
    const long rows = 16384; const size_t n = rows * cols;
    bf16 *x, *y, *b;
    CK(cudaMalloc(&x, n * 2)); CK(cudaMalloc(&y, n * 2)); CK(cudaMalloc(&b, cols * 2));
    CK(cudaMemset(x, 0x3c, n * 2)); CK(cudaMemset(b, 0x3c, cols * 2));
    float copy = timeit([&] { cudaMemcpyAsync(y, x, n * 2, cudaMemcpyDeviceToDevice); });
    const long packs = n / 8; const int threads = 256;
    long blocks = (packs / 4 + threads - 1) / threads;
    float t0 = timeit([&] { binary_bcast_vec_bf16<<<(unsigned)blocks, threads>>>(packs, 0, x, b, y, cols / 8, 0, 0); });
    printf("cols %d: copy %.4f ms; binary_bcast_vec %.4f ms = %.0f%% of copy\n", cols, copy, t0, copy / t0 * 100);
    const int cp = cols / 8;
    dim3 grid((cp + 31) / 32, (unsigned)std::min<long>((rows + 15) / 16, 65535));   // as ElementwiseKernels.java
    float t1 = timeit([&] { binary_rowvec_vec_bf16<<<grid, dim3(32, 8)>>>(rows, cp, 0, x, b, y, 0); });
    printf("  binary_rowvec_vec %.4f ms = %.0f%% of copy\n", t1, copy / t1 * 100);
    CK(cudaFree(x)); CK(cudaFree(y)); CK(cudaFree(b));
  }
}
