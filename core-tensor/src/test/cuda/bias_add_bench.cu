// Bias add (rows x cols bf16 + a row vector): the real binary_bcast_vec kernel against a column-pack variant
// (each thread loads its bias pack once and streams R rows), both against a D2D copy of the same bytes.
// Built and run by build-support/kernel-experiments.sh (not by Maven).
#include "dev/flare/tensor/cuda/ElementwiseKernels.cu"
#include <cstdio>
#define CK(x) do { cudaError_t e = (x); if (e != cudaSuccess) { printf("err %s line %d\n", cudaGetErrorString(e), __LINE__); exit(1);} } while (0)
template <typename F> float timeit(F f, int it = 50) {
  cudaEvent_t a, b; cudaEventCreate(&a); cudaEventCreate(&b);
  for (int i = 0; i < 5; i++) f();
  cudaEventRecord(a); for (int i = 0; i < it; i++) f(); cudaEventRecord(b); cudaEventSynchronize(b);
  float ms; cudaEventElapsedTime(&ms, a, b); CK(cudaGetLastError()); return ms / it;
}
// block (32, 8): x = column pack within a 32-pack slab, y = row lane; grid (ceil(cpacks / 32), ceil(rows / (8 R)))
template <int R>
__global__ void bias_cols(long rows, int cpacks, const Pack<bf16>* a, const Pack<bf16>* b, Pack<bf16>* out) {
  const int c = blockIdx.x * 32 + threadIdx.x;
  if (c >= cpacks) return;
  const Pack<bf16> bp = b[c];
  const long r0 = (long)blockIdx.y * 8 * R + threadIdx.y;
  Pack<bf16> p[R];
#pragma unroll
  for (int i = 0; i < R; ++i) { long r = r0 + 8L * i; if (r < rows) p[i] = a[r * cpacks + c]; }
#pragma unroll
  for (int i = 0; i < R; ++i) {
    long r = r0 + 8L * i; if (r >= rows) continue;
#pragma unroll
    for (int j = 0; j < 8; ++j) p[i].v[j] = store_c<bf16>(load_c(p[i].v[j]) + load_c(bp.v[j]));
    out[r * cpacks + c] = p[i];
  }
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
    auto run = [&](auto kern, int R) {
      dim3 grid((cp + 31) / 32, (unsigned)((rows + 8 * R - 1) / (8 * R)));
      float t = timeit([&] { kern<<<grid, dim3(32, 8)>>>(rows, cp, (const Pack<bf16>*)x, (const Pack<bf16>*)b, (Pack<bf16>*)y); });
      printf("  bias_cols R=%d: %.4f ms = %.0f%% of copy\n", R, t, copy / t * 100);
    };
    run(bias_cols<1>, 1); run(bias_cols<2>, 2); run(bias_cols<4>, 4); run(bias_cols<8>, 8);
    CK(cudaFree(x)); CK(cudaFree(y)); CK(cudaFree(b));
  }
}
