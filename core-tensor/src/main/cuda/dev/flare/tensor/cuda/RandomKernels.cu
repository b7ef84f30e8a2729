// Philox4x32-10 random fills with exactly the CPU's mapping (dev.flare.tensor.random.PhiloxStream,
// docs/random.md): key (k0, k1) = (low, high 32 bits of seed); block b of a fill starting at `offset` is the Philox
// block of counter (low32(offset + b), high32(offset + b), 0, 0) (64-bit wrapping add).
//  F32 (and BF16/F16, rounded from the float): element i = word i%4 of block i/4; uniform u = (w >> 8) * 2^-24,
//    v = lo + u * (hi - lo) without FMA, kept below hi. Normal: Box-Muller on word pairs (0,1) and (2,3):
//    u1 = ((a >> 8) + 1) * 2^-24, u2 = (b >> 8) * 2^-24, r = sqrt(-2 log u1), t = 2 u2, z0 = r cospi(t),
//    z1 = r sinpi(t), each rounded to float; value mean + std * z without FMA. log and sincospi are evaluated in
//    double and rounded to float, which reproduces the CPU's (nearly correctly rounded) float values.
//  F64: element i = block i/2, half h = i%2: bits53 = ((w[2h] << 32) | w[2h+1]) >> 11, u = bits53 * 2^-53.
//    Normal pair q = block q: u1 = (bits53(w0,w1) + 1) * 2^-53, u2 = bits53(w2,w3) * 2^-53, in double.
// One thread per Philox block. Launched by dev.flare.tensor.cuda.RandomKernels.
#include "dev/flare/tensor/cuda/flare_cuda.cuh"

using namespace flare;

namespace {

__device__ __forceinline__ uint4 philox10(uint4 c, unsigned int k0, unsigned int k1) {
#pragma unroll
    for (int r = 0; r < 10; ++r) {
        if (r > 0) {
            k0 += 0x9E3779B9u;
            k1 += 0xBB67AE85u;
        }
        const unsigned int hi0 = __umulhi(0xD2511F53u, c.x), lo0 = 0xD2511F53u * c.x;
        const unsigned int hi1 = __umulhi(0xCD9E8D57u, c.z), lo1 = 0xCD9E8D57u * c.z;
        c = make_uint4(hi1 ^ c.y ^ k0, lo1, hi0 ^ c.w ^ k1, lo0);
    }
    return c;
}

__device__ __forceinline__ uint4 philox_block(u64 seed, u64 block) {
    return philox10(make_uint4((unsigned int)block, (unsigned int)(block >> 32), 0u, 0u), (unsigned int)seed,
                    (unsigned int)(seed >> 32));
}

__device__ __forceinline__ float unit_f(unsigned int w) { return (float)(w >> 8) * 0x1p-24f; }

__device__ __forceinline__ u64 bits53(unsigned int hi, unsigned int lo) { return (((u64)hi << 32) | (u64)lo) >> 11; }

__device__ __forceinline__ float scale_f(float u, float lo, float hi) {
    float v = __fadd_rn(lo, __fmul_rn(u, __fsub_rn(hi, lo)));
    return (lo < hi && v >= hi) ? nextafterf(hi, -INFINITY) : v;
}

__device__ __forceinline__ double scale_d(double u, double lo, double hi) {
    double v = __dadd_rn(lo, __dmul_rn(u, __dsub_rn(hi, lo)));
    return (lo < hi && v >= hi) ? nextafter(hi, -INFINITY) : v;
}

__device__ __forceinline__ unsigned int word(const uint4& w, int j) {
    return j == 0 ? w.x : (j == 1 ? w.y : (j == 2 ? w.z : w.w));
}

template <typename T>
__device__ void uniform_f(i64 n, u64 seed, u64 offset, float lo, float hi, T* out) {
    const i64 blocks = (n + 3) / 4;
    FLARE_GRID_STRIDE(b, blocks) {
        const uint4 w = philox_block(seed, offset + (u64)b);
        const i64 e = b * 4;
#pragma unroll
        for (int j = 0; j < 4; ++j)
            if (e + j < n) out[e + j] = store_c<T>(scale_f(unit_f(word(w, j)), lo, hi));
    }
}

// Box-Muller of one word pair: z0 (cos) and z1 (sin), each a float as the CPU computes it.
__device__ __forceinline__ void box_muller_f(unsigned int a, unsigned int b, float& z0, float& z1) {
    const float u1 = (float)((a >> 8) + 1u) * 0x1p-24f;
    const float l = __double2float_rn(log((double)u1));
    const float r = __fsqrt_rn(-2.0f * l);
    const float t = 2.0f * unit_f(b);
    double s, c;
    sincospi((double)t, &s, &c);
    z0 = __fmul_rn(r, __double2float_rn(c));
    z1 = __fmul_rn(r, __double2float_rn(s));
}

template <typename T>
__device__ void normal_f(i64 n, u64 seed, u64 offset, float mean, float std, T* out) {
    const i64 blocks = (n + 3) / 4;
    FLARE_GRID_STRIDE(b, blocks) {
        const uint4 w = philox_block(seed, offset + (u64)b);
        const i64 e = b * 4;
        float z[4];
        box_muller_f(w.x, w.y, z[0], z[1]);
        box_muller_f(w.z, w.w, z[2], z[3]);
#pragma unroll
        for (int j = 0; j < 4; ++j)
            if (e + j < n) out[e + j] = store_c<T>(__fadd_rn(mean, __fmul_rn(std, z[j])));
    }
}

__device__ void uniform_d(i64 n, u64 seed, u64 offset, double lo, double hi, double* out) {
    const i64 blocks = (n + 1) / 2;
    FLARE_GRID_STRIDE(b, blocks) {
        const uint4 w = philox_block(seed, offset + (u64)b);
        const i64 e = b * 2;
        out[e] = scale_d(__ull2double_rn(bits53(w.x, w.y)) * 0x1p-53, lo, hi);
        if (e + 1 < n) out[e + 1] = scale_d(__ull2double_rn(bits53(w.z, w.w)) * 0x1p-53, lo, hi);
    }
}

__device__ void normal_d(i64 n, u64 seed, u64 offset, double mean, double std, double* out) {
    const i64 blocks = (n + 1) / 2;
    FLARE_GRID_STRIDE(b, blocks) {
        const uint4 w = philox_block(seed, offset + (u64)b);
        const i64 e = b * 2;
        const double u1 = __ull2double_rn(bits53(w.x, w.y) + 1ULL) * 0x1p-53;
        const double r = sqrt(-2.0 * log(u1));
        const double t = 2.0 * (__ull2double_rn(bits53(w.z, w.w)) * 0x1p-53);
        double s, c;
        sincospi(t, &s, &c);
        out[e] = __dadd_rn(mean, __dmul_rn(std, __dmul_rn(r, c)));
        if (e + 1 < n) out[e + 1] = __dadd_rn(mean, __dmul_rn(std, __dmul_rn(r, s)));
    }
}

}  // namespace

#define RND_F(SUF, T)                                                                                          \
    extern "C" __global__ void uniform_##SUF(i64 n, u64 seed, u64 offset, float lo, float hi, T* out) {         \
        uniform_f<T>(n, seed, offset, lo, hi, out);                                                           \
    }                                                                                                         \
    extern "C" __global__ void normal_##SUF(i64 n, u64 seed, u64 offset, float mean, float std, T* out) {       \
        normal_f<T>(n, seed, offset, mean, std, out);                                                         \
    }
RND_F(f32, float)
RND_F(bf16, bf16)
RND_F(f16, f16)

extern "C" __global__ void uniform_f64(i64 n, u64 seed, u64 offset, double lo, double hi, double* out) {
    uniform_d(n, seed, offset, lo, hi, out);
}
extern "C" __global__ void normal_f64(i64 n, u64 seed, u64 offset, double mean, double std, double* out) {
    normal_d(n, seed, offset, mean, std, out);
}
