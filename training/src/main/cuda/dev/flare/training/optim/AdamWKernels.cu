// Fused multi-tensor AdamW for F32 parameters, gradients and moments: one launch updates every tensor of a
// parameter group. Block b handles chunk b of the group (a table gives each chunk's tensor and start), so small and
// large tensors share one grid and no launch is spent per tensor.
//
// The arithmetic is the CPU fused loop's (dev.flare.training.optim.AdamW), operation by operation in double with
// round-to-nearest intrinsics (no FMA contraction), so GPU and CPU updates agree bit for bit:
//   m = (float)(beta1 m + (1 - beta1) g);  v = (float)(beta2 v + ((1 - beta2) g) g)
//   p = (float)(p decay - (step_size m) / (sqrt(v) / sqrt_bc2 + eps))
// with decay = 1 - lr wd, step_size = lr / (1 - beta1^t), sqrt_bc2 = sqrt(1 - beta2^t) computed on the host. The
// update is memory-bound (28 bytes per element), so double math costs no time on the GPUs we target.
//
// Launched by dev.flare.training.optim.AdamWKernels. Table layout (64-bit words), n tensors and c chunks:
//   [0, n) params, [n, 2n) grads, [2n, 3n) exp_avg, [3n, 4n) exp_avg_sq (device addresses), [4n, 5n) numel,
//   [5n, 5n + c) tensor index of each chunk, [5n + c, 5n + 2c) first element of each chunk.

typedef long long i64;

extern "C" __global__ void adamw_f32(const i64* __restrict__ table, int n, int chunks, i64 chunk_size,
                                     double beta1, double one_minus_beta1, double beta2, double one_minus_beta2,
                                     double decay, double step_size, double sqrt_bc2, double eps) {
    const int chunk = blockIdx.x;
    if (chunk >= chunks) return;
    const int t = (int)table[5 * n + chunk];
    const i64 start = table[5 * n + chunks + chunk];
    const i64 numel = table[4 * n + t];
    const i64 end = start + chunk_size < numel ? start + chunk_size : numel;
    float* __restrict__ p = (float*)table[t];
    const float* __restrict__ g = (const float*)table[n + t];
    float* __restrict__ m = (float*)table[2 * n + t];
    float* __restrict__ v = (float*)table[3 * n + t];
    for (i64 i = start + threadIdx.x; i < end; i += blockDim.x) {
        const double gi = (double)g[i];
        const float mf = __double2float_rn(__dadd_rn(__dmul_rn(beta1, (double)m[i]), __dmul_rn(one_minus_beta1, gi)));
        const float vf = __double2float_rn(__dadd_rn(__dmul_rn(beta2, (double)v[i]), __dmul_rn(__dmul_rn(one_minus_beta2, gi), gi)));
        const double denom = __dadd_rn(__ddiv_rn(__dsqrt_rn((double)vf), sqrt_bc2), eps);
        p[i] = __double2float_rn(__dsub_rn(__dmul_rn((double)p[i], decay), __ddiv_rn(__dmul_rn(step_size, (double)mf), denom)));
        m[i] = mf;
        v[i] = vf;
    }
}
