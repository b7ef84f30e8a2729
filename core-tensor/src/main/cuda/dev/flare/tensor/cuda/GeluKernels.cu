// GELU (tanh form) forward y = gelu(x) and backward dx = dy * gelu'(x), with u = k (x + a x^3).
//
// Fast kernels (contiguous, 16-byte aligned F32/BF16/F16): library expf/tanhf and IEEE division cost enough
// instructions to make GELU compute-bound on H100, so they use the hardware approximations directly (one MUFU.EX2
// and one MUFU.RCP per element; about 2 ulps each, see GeluFastMathTest for the end-to-end error):
//   gelu(x)  = x * s with s = sigmoid(2u) = 1 / (1 + 2^(-2u log2 e)), i.e. 0.5 x (1 + tanh u) without the
//              cancellation of 1 + tanh u for negative x. 2^t overflowing to inf is harmless (s = 0); x is clamped
//              at -20 (NaN kept), where gelu is already -0 in float, so gelu(-inf) = -0 rather than -inf * 0.
//   gelu'(x) = s + 2x s (1 - s) du, du = k (1 + 3a x^2). With e = 2^(-2|u| log2 e) <= 1 and q = 1 / (1 + e), s and
//              1 - s are q and eq (u >= 0; sign u = sign x) or eq and q (u < 0): no cancellation, no overflow.
//              As in the reference, gelu'(+-inf) is NaN (inf * 0).
// The strided kernel gelu_bwd_* (library expf and division) is the reference for the backward, and the generic
// unary kernels of ElementwiseKernels.cu for the forward. Launched by dev.flare.tensor.cuda.GeluKernels.
#include "dev/flare/tensor/cuda/flare_cuda.cuh"

using namespace flare;

namespace {

// ------------------------------------------------------------------------------------------ reference
template <typename C>
__device__ __forceinline__ C gelu_grad(C x) {
    const C K = (C)0.7978845608028654, A = (C)0.044715;
    const C x2 = x * x;
    const C u = K * (x + A * x2 * x);
    const C e = exp_c((C)-2 * fabs(u));
    const C q = (C)1 / ((C)1 + e);
    const C eq = e * q;
    return (u < (C)0 ? eq : q) + (C)2 * x * eq * q * K * ((C)1 + (C)3 * A * x2);
}

// Operands: 0 x, 1 dy, 2 dx.
template <typename T>
__device__ void gelu_bwd(const Geom<3>& g, const T* x, const T* dy, T* dx) {
    typedef typename Compute<T>::type C;
    FLARE_GRID_STRIDE(i, g.numel) {
        i64 off[3];
        geom_offsets(g, i, off);
        dx[off[2]] = store_c<T>((C)load_c(dy[off[1]]) * gelu_grad((C)load_c(x[off[0]])));
    }
}

// ------------------------------------------------------------------------------------------ fast math
__device__ __forceinline__ float ex2_approx(float t) {
    float r;
    asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(r) : "f"(t));
    return r;
}
__device__ __forceinline__ float rcp_approx(float d) {
    float r;
    asm("rcp.approx.ftz.f32 %0, %1;" : "=f"(r) : "f"(d));
    return r;
}
__device__ __forceinline__ float max_nan(float a, float b) {   // NaN if either is NaN (fmaxf would drop it)
    float r;
    asm("max.NaN.f32 %0, %1, %2;" : "=f"(r) : "f"(a), "f"(b));
    return r;
}

// 2 log2(e) k and 2 log2(e) k a: t = x (C1 + C3 x^2) = 2u log2 e. GeluFastMathTest mirrors these steps exactly.
constexpr float C1 = 2.302208198144325f, C3 = 0.1029432395800235f;
constexpr float K = 0.7978845608028654f, K3A = 0.10703222440890038f;   // k, 3 k a

__device__ __forceinline__ float gelu_fast(float x) {
    x = max_nan(x, -20.0f);
    const float t = x * fmaf(C3, x * x, C1);
    return x * rcp_approx(1.0f + ex2_approx(-t));
}

__device__ __forceinline__ float gelu_grad_fast(float x) {
    const float x2 = x * x;
    const float e = ex2_approx(-fabsf(x * fmaf(C3, x2, C1)));
    const float q = rcp_approx(1.0f + e), eq = e * q;
    return fmaf(2.0f * x * eq, q * fmaf(K3A, x2, K), x < 0.0f ? eq : q);
}

// Pair j of a 16-byte vector of T (held as uint4, so that loads and stores stay 16-byte wide) as float2; BF16/F16
// pairs go back with one cvt.rn.bf16x2 / f16x2.
template <typename To, typename From>
__device__ __forceinline__ To bit_cast(From f) {
    To t;
    memcpy(&t, &f, sizeof(To));
    return t;
}
__device__ __forceinline__ unsigned& word(uint4& r, int i) { return i == 0 ? r.x : i == 1 ? r.y : i == 2 ? r.z : r.w; }

template <typename T> struct Two;
template <> struct Two<float> {
    static __device__ __forceinline__ float2 in(uint4 r, int j) {
        return make_float2(__uint_as_float(word(r, 2 * j)), __uint_as_float(word(r, 2 * j + 1)));
    }
    static __device__ __forceinline__ void out(uint4& r, int j, float a, float b) {
        word(r, 2 * j) = __float_as_uint(a);
        word(r, 2 * j + 1) = __float_as_uint(b);
    }
};
template <> struct Two<bf16> {
    static __device__ __forceinline__ float2 in(uint4 r, int j) { return __bfloat1622float2(bit_cast<__nv_bfloat162>(word(r, j))); }
    static __device__ __forceinline__ void out(uint4& r, int j, float a, float b) {
        word(r, j) = bit_cast<unsigned>(__floats2bfloat162_rn(a, b));
    }
};
template <> struct Two<f16> {
    static __device__ __forceinline__ float2 in(uint4 r, int j) { return __half22float2(bit_cast<__half2>(word(r, j))); }
    static __device__ __forceinline__ void out(uint4& r, int j, float a, float b) {
        word(r, j) = bit_cast<unsigned>(__floats2half2_rn(a, b));
    }
};

// out[i] = f(a[i], b[i]) (b unused when B is false) over contiguous, 16-byte aligned operands. Each thread loads
// FLARE_UNROLL vectors per operand, blockDim.x apart, before storing any (out may alias a or b). Block 0 does the
// tail of fewer than one vector.
template <typename T, bool B, typename F>
__device__ __forceinline__ void vec_map(i64 n, const T* a, const T* b, T* out, F f) {
    typedef Two<T> W;
    constexpr int V = 16 / sizeof(T), U = FLARE_UNROLL;
    const i64 nv = n / V;
    const uint4* av = reinterpret_cast<const uint4*>(a);
    const uint4* bv = reinterpret_cast<const uint4*>(b);
    uint4* ov = reinterpret_cast<uint4*>(out);
    const i64 step = (i64)gridDim.x * blockDim.x * U;
    for (i64 base = (i64)blockIdx.x * blockDim.x * U + threadIdx.x; base < nv; base += step) {
        uint4 p[U], q[U];
#pragma unroll
        for (int u = 0; u < U; ++u)
            if (base + u * blockDim.x < nv) {
                p[u] = av[base + u * blockDim.x];
                if (B) q[u] = bv[base + u * blockDim.x];
            }
#pragma unroll
        for (int u = 0; u < U; ++u) {
            if (base + u * blockDim.x >= nv) continue;
#pragma unroll
            for (int j = 0; j < V / 2; ++j) {
                const float2 x = W::in(p[u], j);
                const float2 g = B ? W::in(q[u], j) : x;
                W::out(p[u], j, f(x.x, g.x), f(x.y, g.y));
            }
            ov[base + u * blockDim.x] = p[u];
        }
    }
    if (blockIdx.x == 0) {
        const i64 t = nv * V + threadIdx.x;
        if (t < n) out[t] = store_c<T>(f(load_c(a[t]), B ? load_c(b[t]) : 0.0f));
    }
}

}  // namespace

#define G_VEC(SUF, T)                                                                                       \
    extern "C" __global__ void gelu_fwd_vec_##SUF(i64 n, const T* x, T* y) {                                \
        vec_map<T, false>(n, x, x, y, [](float v, float) { return gelu_fast(v); });                         \
    }                                                                                                       \
    extern "C" __global__ void gelu_bwd_vec_##SUF(i64 n, const T* x, const T* dy, T* dx) {                  \
        vec_map<T, true>(n, x, dy, dx, [](float v, float g) { return g * gelu_grad_fast(v); });             \
    }
G_VEC(f32, float)
G_VEC(bf16, bf16)
G_VEC(f16, f16)

#define G_KERNEL(SUF, T) \
    extern "C" __global__ void gelu_bwd_##SUF(Geom<3> g, const T* x, const T* dy, T* dx) { gelu_bwd<T>(g, x, dy, dx); }
G_KERNEL(f32, float)
G_KERNEL(f64, double)
G_KERNEL(bf16, bf16)
G_KERNEL(f16, f16)
