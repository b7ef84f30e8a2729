// Layer-norm forward (16384 x 768 and x 3072 bf16): the real row-group kernel on a few grid sizes against a D2D copy.
// Built and run by build-support/kernel-experiments.sh (not by Maven); -D"LN_FWD_BLOCKS(P)=4" builds another occupancy.
#include "dev/flare/tensor/cuda/LayerNormKernels.cu"
#include <cstdio>
#include <vector>
#define CK(x) do { cudaError_t e = (x); if (e != cudaSuccess) { printf("err %s line %d\n", cudaGetErrorString(e), __LINE__); exit(1);} } while (0)
using namespace flare;
template <typename F> float timeit(F f, int it = 50) {
  cudaEvent_t a, b; cudaEventCreate(&a); cudaEventCreate(&b);
  for (int i = 0; i < 5; i++) f();
  cudaEventRecord(a); for (int i = 0; i < it; i++) f(); cudaEventRecord(b); cudaEventSynchronize(b);
  float ms; cudaEventElapsedTime(&ms, a, b); CK(cudaGetLastError()); return ms / it;
}
int main() {
  int sms; CK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0));
  for (int len : {768, 3072}) {
    const long rows = 16384; const size_t n = rows * len;
    bf16 *x, *y, *w, *bb; float *mean, *rstd;
    CK(cudaMalloc(&x, n * 2)); CK(cudaMalloc(&y, n * 2)); CK(cudaMalloc(&w, len * 2)); CK(cudaMalloc(&bb, len * 2));
    CK(cudaMalloc(&mean, rows * 4)); CK(cudaMalloc(&rstd, rows * 4));
    CK(cudaMemset(x, 0x3c, n * 2)); CK(cudaMemset(w, 0x3c, len * 2)); CK(cudaMemset(bb, 0, len * 2));
    float copy = timeit([&] { cudaMemcpyAsync(y, x, n * 2, cudaMemcpyDeviceToDevice); });
    double gb = 2.0 * n * 2 / 1e9;
    printf("len %d: copy %.4f ms (%.0f GB/s)\n", len, copy, gb / copy * 1e3);
    auto kern = len == 768 ? layernorm_fwd_rows_bf16_g32_p3_v : layernorm_fwd_rows_bf16_g128_p3_v;
    const int G = len == 768 ? 32 : 128, rpb = 256 / G;
    size_t smem = 2 * len * 2;
    int perSm; CK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&perSm, kern, 256, smem));
    long full = (rows + rpb - 1) / rpb;
    std::vector<long> grids = {(long)perSm * sms, 2L * perSm * sms, full};
    for (long g : grids) {
      if (g > full) g = full;
      float t = timeit([&] { kern<<<(unsigned)g, 256, smem>>>(rows, len, x, y, w, bb, mean, rstd, 1e-5f); });
      printf("  layernorm fwd G=%d grid %6ld (perSm %d): %.4f ms, %.0f%% of copy\n", G, g, perSm, t, copy / t * 100);
    }
    CK(cudaFree(x)); CK(cudaFree(y)); CK(cudaFree(w)); CK(cudaFree(bb)); CK(cudaFree(mean)); CK(cudaFree(rstd));
  }
  return 0;
}
