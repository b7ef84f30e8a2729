// Softmax / log-softmax along one dim, forward and backward: one block per row, online max and sum in one pass
// over the row, then a second pass writing the output. Math in float (double for F64).
// Launched by dev.flare.tensor.cuda.SoftmaxKernels; see flare_cuda.cuh for the conventions.
#include "dev/flare/tensor/cuda/flare_cuda.cuh"

using namespace flare;

namespace {

template <typename T>
__device__ void softmax_fwd(const Rows<2>& g, int logMode, const T* x, T* y) {
    typedef typename Compute<T>::type C;
    __shared__ C scratch[64];
    const i64 len = g.len, xi = g.inner[0], yi = g.inner[1];
    for (i64 r = blockIdx.x; r < g.rows; r += gridDim.x) {
        const i64 xo = row_offset(g, 0, r), yo = row_offset(g, 1, r);
        MaxSum<C> st;
        st.m = -(C)INFINITY;
        st.s = (C)0;
        for (i64 j = threadIdx.x; j < len; j += blockDim.x) st = maxsum_add(st, (C)load_c(x[xo + j * xi]));
        st = block_maxsum(st, scratch);
        if (logMode) {
            const C ls = log_c(st.s);
            for (i64 j = threadIdx.x; j < len; j += blockDim.x)
                y[yo + j * yi] = store_c<T>(((C)load_c(x[xo + j * xi]) - st.m) - ls);
        } else {
            const C inv = (C)1 / st.s;
            for (i64 j = threadIdx.x; j < len; j += blockDim.x)
                y[yo + j * yi] = store_c<T>(exp_c((C)load_c(x[xo + j * xi]) - st.m) * inv);
        }
    }
}

// dx = y * (dy - sum(dy * y)) for softmax; dx = dy - exp(y) * sum(dy) for log-softmax.
template <typename T>
__device__ void softmax_bwd(const Rows<3>& g, int logMode, const T* y, const T* dy, T* dx) {
    typedef typename Compute<T>::type C;
    __shared__ C scratch[32];
    const i64 len = g.len, yi = g.inner[0], gi = g.inner[1], oi = g.inner[2];
    for (i64 r = blockIdx.x; r < g.rows; r += gridDim.x) {
        const i64 yo = row_offset(g, 0, r), go = row_offset(g, 1, r), oo = row_offset(g, 2, r);
        C s = (C)0;
        if (logMode) {
            for (i64 j = threadIdx.x; j < len; j += blockDim.x) s += (C)load_c(dy[go + j * gi]);
        } else {
            for (i64 j = threadIdx.x; j < len; j += blockDim.x) s += (C)load_c(dy[go + j * gi]) * (C)load_c(y[yo + j * yi]);
        }
        s = block_sum(s, scratch);
        if (logMode) {
            for (i64 j = threadIdx.x; j < len; j += blockDim.x)
                dx[oo + j * oi] = store_c<T>((C)load_c(dy[go + j * gi]) - exp_c((C)load_c(y[yo + j * yi])) * s);
        } else {
            for (i64 j = threadIdx.x; j < len; j += blockDim.x) {
                C yv = (C)load_c(y[yo + j * yi]);
                dx[oo + j * oi] = store_c<T>(yv * ((C)load_c(dy[go + j * gi]) - s));
            }
        }
    }
}

}  // namespace

#define S_KERNELS(SUF, T)                                                                                       \
    extern "C" __global__ void softmax_fwd_##SUF(Rows<2> g, int logMode, const T* x, T* y) {                      \
        softmax_fwd<T>(g, logMode, x, y);                                                                      \
    }                                                                                                          \
    extern "C" __global__ void softmax_bwd_##SUF(Rows<3> g, int logMode, const T* y, const T* dy, T* dx) {        \
        softmax_bwd<T>(g, logMode, y, dy, dx);                                                                 \
    }
S_KERNELS(f32, float)
S_KERNELS(f64, double)
S_KERNELS(bf16, bf16)
S_KERNELS(f16, f16)

// ---------------------------------------------------------------------------------------------------------------
// Fast paths for contiguous rows along the last dim (F32/BF16/F16): one block per row, the row kept in registers
// (flare_rows.cuh), so it is read from DRAM once: max, then sum of exp(x - max), then the output, all from
// registers. Same formulas as above (exp(x - m) * (1 / s); (x - m) - log(s)); the result differs from the online
// version only by rounding.
#include "dev/flare/tensor/cuda/flare_rows.cuh"

namespace {

template <typename T, int P, bool VEC>
__device__ void softmax_fwd_reg(i64 rows, i64 len, int logMode, const T* __restrict__ x, T* __restrict__ y) {
    constexpr int V = 16 / sizeof(T);
    __shared__ float scratch[32];
    const int t = threadIdx.x, G = blockDim.x;
    for (i64 r = blockIdx.x; r < rows; r += gridDim.x) {
        Pack<T> xs[P];
        row_load<T, P, VEC>(x + r * len, len, t, G, xs);
        float m = -INFINITY;
#pragma unroll
        for (int p = 0; p < P; ++p)
#pragma unroll
            for (int e = 0; e < V; ++e)
                if (row_valid<T, VEC>(len, p, e, t, G)) m = nan_max(m, load_c(xs[p].v[e]));
        m = block_max(m, scratch);
        float s = 0.0f;
#pragma unroll
        for (int p = 0; p < P; ++p)
#pragma unroll
            for (int e = 0; e < V; ++e)
                if (row_valid<T, VEC>(len, p, e, t, G)) s += expf(load_c(xs[p].v[e]) - m);
        s = block_sum(s, scratch);
        const float ls = logf(s), inv = 1.0f / s;
#pragma unroll
        for (int p = 0; p < P; ++p)
#pragma unroll
            for (int e = 0; e < V; ++e) {
                const float v = load_c(xs[p].v[e]);
                xs[p].v[e] = store_f<T>(logMode ? (v - m) - ls : expf(v - m) * inv);
            }
        row_store<T, P, VEC>(y + r * len, len, t, G, xs);
    }
}

// dx = y * (dy - sum(dy * y)) for softmax; dx = dy - exp(y) * sum(dy) for log-softmax.
template <typename T, int P, bool VEC>
__device__ void softmax_bwd_reg(i64 rows, i64 len, int logMode, const T* __restrict__ y, const T* __restrict__ dy,
                                T* __restrict__ dx) {
    constexpr int V = 16 / sizeof(T);
    __shared__ float scratch[32];
    const int t = threadIdx.x, G = blockDim.x;
    for (i64 r = blockIdx.x; r < rows; r += gridDim.x) {
        Pack<T> ys[P], gs[P];
        row_load<T, P, VEC>(y + r * len, len, t, G, ys);
        row_load<T, P, VEC>(dy + r * len, len, t, G, gs);
        float s = 0.0f;
#pragma unroll
        for (int p = 0; p < P; ++p)
#pragma unroll
            for (int e = 0; e < V; ++e)   // padding reads as 0 in both, so it adds nothing
                s += logMode ? load_c(gs[p].v[e]) : load_c(gs[p].v[e]) * load_c(ys[p].v[e]);
        s = block_sum(s, scratch);
#pragma unroll
        for (int p = 0; p < P; ++p)
#pragma unroll
            for (int e = 0; e < V; ++e) {
                const float yv = load_c(ys[p].v[e]), gv = load_c(gs[p].v[e]);
                ys[p].v[e] = store_f<T>(logMode ? gv - expf(yv) * s : yv * (gv - s));
            }
        row_store<T, P, VEC>(dx + r * len, len, t, G, ys);
    }
}

// Rows too long for the registers, 16-byte aligned with len % V == 0: one block per row, 16-byte loads; each
// thread folds a vector at a time into its (max, sum) (one exp per element and one per vector), then a second
// pass re-reads the row (from L2: a block's row is at most a few hundred KB) and writes the output.
template <typename T>
__device__ void softmax_fwd_vec(i64 rows, i64 len, int logMode, const T* __restrict__ x, T* __restrict__ y) {
    constexpr int V = 16 / sizeof(T);
    __shared__ float scratch[64];
    const i64 nv = len / V;
    for (i64 r = blockIdx.x; r < rows; r += gridDim.x) {
        const Pack<T>* xv = reinterpret_cast<const Pack<T>*>(x + r * len);
        MaxSum<float> st{-INFINITY, 0.0f};
        for (i64 i = threadIdx.x; i < nv; i += blockDim.x) {
            const Pack<T> p = xv[i];
            float pm = -INFINITY;
#pragma unroll
            for (int e = 0; e < V; ++e) pm = nan_max(pm, load_c(p.v[e]));
            float ps = 0.0f;
            if (pm != -INFINITY) {   // an all-masked vector adds nothing
#pragma unroll
                for (int e = 0; e < V; ++e) ps += expf(load_c(p.v[e]) - pm);
            }
            st = maxsum_merge(st, MaxSum<float>{pm, ps});
        }
        st = block_maxsum(st, scratch);
        const float ls = logf(st.s), inv = 1.0f / st.s;
        Pack<T>* yv = reinterpret_cast<Pack<T>*>(y + r * len);
        for (i64 i = threadIdx.x; i < nv; i += blockDim.x) {
            Pack<T> p = xv[i];
#pragma unroll
            for (int e = 0; e < V; ++e) {
                const float v = load_c(p.v[e]);
                p.v[e] = store_f<T>(logMode ? (v - st.m) - ls : expf(v - st.m) * inv);
            }
            yv[i] = p;
        }
    }
}

}  // namespace

// P (16-byte chunks per thread) and index maps compiled: those ptxas fits in registers at 512 threads per block
// (128 registers per thread). SoftmaxKernels.java knows these sets.
#define S_FWD_REG(SUF, T, P, VEC, VS)                                                                           \
    extern "C" __global__ void __launch_bounds__(512) softmax_fwd_reg_##SUF##_p##P##VS(                         \
        i64 rows, i64 len, int logMode, const T* x, T* y) {                                                    \
        softmax_fwd_reg<T, P, VEC>(rows, len, logMode, x, y);                                                  \
    }
#define S_BWD_REG(SUF, T, P, VEC, VS)                                                                           \
    extern "C" __global__ void __launch_bounds__(512) softmax_bwd_reg_##SUF##_p##P##VS(                         \
        i64 rows, i64 len, int logMode, const T* y, const T* dy, T* dx) {                                      \
        softmax_bwd_reg<T, P, VEC>(rows, len, logMode, y, dy, dx);                                             \
    }
#define S_REG_ALL(SUF, T)                                                                                        \
    S_FWD_REG(SUF, T, 1, true, _v) S_FWD_REG(SUF, T, 2, true, _v) S_FWD_REG(SUF, T, 4, true, _v)                   \
    S_FWD_REG(SUF, T, 8, true, _v) S_FWD_REG(SUF, T, 12, true, _v)                                                 \
    S_FWD_REG(SUF, T, 1, false, _s) S_FWD_REG(SUF, T, 2, false, _s) S_FWD_REG(SUF, T, 4, false, _s)                \
    S_BWD_REG(SUF, T, 1, true, _v) S_BWD_REG(SUF, T, 2, true, _v) S_BWD_REG(SUF, T, 4, true, _v)                   \
    S_BWD_REG(SUF, T, 1, false, _s) S_BWD_REG(SUF, T, 2, false, _s)                                                \
    extern "C" __global__ void __launch_bounds__(512) softmax_fwd_vec_##SUF(i64 rows, i64 len, int logMode,        \
                                                                           const T* x, T* y) {                     \
        softmax_fwd_vec<T>(rows, len, logMode, x, y);                                                              \
    }
S_REG_ALL(f32, float)
S_REG_ALL(bf16, bf16)
S_REG_ALL(f16, f16)
