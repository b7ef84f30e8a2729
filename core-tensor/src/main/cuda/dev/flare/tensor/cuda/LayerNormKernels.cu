// Layer norm over the last dim: forward (saving mean and rstd), backward dx (one block per row), and
// dWeight/dBias as a deterministic two-stage column reduction (partials per chunk of rows, then a fixed-order
// sum over chunks). Math in float (double for F64); statistics F32 (F64 for F64).
// Launched by dev.flare.tensor.cuda.LayerNormKernels; see flare_cuda.cuh for the conventions.
#include "dev/flare/tensor/cuda/flare_cuda.cuh"

using namespace flare;

namespace {

template <typename T> struct Stat { typedef float type; };
template <> struct Stat<double> { typedef double type; };

__device__ __forceinline__ float rsqrt_c(float v) { return 1.0f / sqrtf(v); }
__device__ __forceinline__ double rsqrt_c(double v) { return 1.0 / sqrt(v); }

// Operands of g: 0 x, 1 out, 2 mean, 3 rstd. w/b may be null.
template <typename T>
__device__ void layernorm_fwd(const Rows<4>& g, const T* x, T* y, const T* w, i64 wOff, i64 wStride, const T* b,
                              i64 bOff, i64 bStride, typename Stat<T>::type* mean, typename Stat<T>::type* rstd,
                              double eps) {
    typedef typename Compute<T>::type C;
    typedef typename Stat<T>::type S;
    __shared__ C scratch[32];
    const i64 len = g.len, xi = g.inner[0], yi = g.inner[1];
    for (i64 r = blockIdx.x; r < g.rows; r += gridDim.x) {
        const i64 xo = row_offset(g, 0, r), yo = row_offset(g, 1, r);
        C s = (C)0;
        for (i64 j = threadIdx.x; j < len; j += blockDim.x) s += (C)load_c(x[xo + j * xi]);
        const C mu = block_sum(s, scratch) / (C)len;
        C v = (C)0;
        for (i64 j = threadIdx.x; j < len; j += blockDim.x) {
            C d = (C)load_c(x[xo + j * xi]) - mu;
            v += d * d;
        }
        const C rs = rsqrt_c(block_sum(v, scratch) / (C)len + (C)eps);
        if (threadIdx.x == 0) {
            mean[row_offset(g, 2, r)] = (S)mu;
            rstd[row_offset(g, 3, r)] = (S)rs;
        }
        for (i64 j = threadIdx.x; j < len; j += blockDim.x) {
            C o = ((C)load_c(x[xo + j * xi]) - mu) * rs;
            if (w != nullptr) o *= (C)load_c(w[wOff + j * wStride]);
            if (b != nullptr) o += (C)load_c(b[bOff + j * bStride]);
            y[yo + j * yi] = store_c<T>(o);
        }
    }
}

// Operands of g: 0 dy, 1 x, 2 dx, 3 mean, 4 rstd.
// dx = rstd * (g - mean(g) - xhat * mean(g * xhat)), g = dy * w, xhat = (x - mean) * rstd.
template <typename T>
__device__ void layernorm_bwd_dx(const Rows<5>& g, const T* dy, const T* x, T* dx, const T* w, i64 wOff, i64 wStride,
                                 const typename Stat<T>::type* mean, const typename Stat<T>::type* rstd) {
    typedef typename Compute<T>::type C;
    __shared__ C scratch[32];
    const i64 len = g.len, gi = g.inner[0], xi = g.inner[1], oi = g.inner[2];
    for (i64 r = blockIdx.x; r < g.rows; r += gridDim.x) {
        const i64 go = row_offset(g, 0, r), xo = row_offset(g, 1, r), oo = row_offset(g, 2, r);
        const C mu = (C)mean[row_offset(g, 3, r)], rs = (C)rstd[row_offset(g, 4, r)];
        C sg = (C)0, sgx = (C)0;
        for (i64 j = threadIdx.x; j < len; j += blockDim.x) {
            C gv = (C)load_c(dy[go + j * gi]);
            if (w != nullptr) gv *= (C)load_c(w[wOff + j * wStride]);
            sg += gv;
            sgx += gv * (((C)load_c(x[xo + j * xi]) - mu) * rs);
        }
        const C a = block_sum(sg, scratch) / (C)len;
        const C bb = block_sum(sgx, scratch) / (C)len;
        for (i64 j = threadIdx.x; j < len; j += blockDim.x) {
            C gv = (C)load_c(dy[go + j * gi]);
            if (w != nullptr) gv *= (C)load_c(w[wOff + j * wStride]);
            const C xh = ((C)load_c(x[xo + j * xi]) - mu) * rs;
            dx[oo + j * oi] = store_c<T>(rs * (gv - a - xh * bb));
        }
    }
}

// Stage 1 of dWeight/dBias: block (32, 8) covers 32 columns of one chunk of rows; partials [chunk][len].
// Operands of g: 0 dy, 1 x, 2 mean, 3 rstd.
template <typename T>
__device__ void layernorm_dwdb_partial(const Rows<4>& g, const T* dy, const T* x, const typename Stat<T>::type* mean,
                                       const typename Stat<T>::type* rstd, i64 rowsPerChunk,
                                       typename Compute<T>::type* pw, typename Compute<T>::type* pb) {
    typedef typename Compute<T>::type C;
    __shared__ C sw[8][33];
    __shared__ C sb[8][33];
    const i64 c = (i64)blockIdx.x * 32 + threadIdx.x;
    const i64 chunk = blockIdx.y;
    const i64 r0 = chunk * rowsPerChunk, r1 = min(g.rows, r0 + rowsPerChunk);
    C aw = (C)0, ab = (C)0;
    if (c < g.len) {
        for (i64 r = r0 + threadIdx.y; r < r1; r += blockDim.y) {
            const C gv = (C)load_c(dy[row_offset(g, 0, r) + c * g.inner[0]]);
            const C mu = (C)mean[row_offset(g, 2, r)], rs = (C)rstd[row_offset(g, 3, r)];
            aw += gv * (((C)load_c(x[row_offset(g, 1, r) + c * g.inner[1]]) - mu) * rs);
            ab += gv;
        }
    }
    sw[threadIdx.y][threadIdx.x] = aw;
    sb[threadIdx.y][threadIdx.x] = ab;
    __syncthreads();
    if (threadIdx.y == 0 && c < g.len) {
        C tw = sw[0][threadIdx.x], tb = sb[0][threadIdx.x];
        for (int k = 1; k < (int)blockDim.y; ++k) {
            tw += sw[k][threadIdx.x];
            tb += sb[k][threadIdx.x];
        }
        pw[chunk * g.len + c] = tw;
        pb[chunk * g.len + c] = tb;
    }
}

// Stage 2: column c sums its chunks in order. dw/db may be null; chunks may be 0 (no rows: zeros).
template <typename T>
__device__ void layernorm_dwdb_final(i64 len, int chunks, const typename Compute<T>::type* pw,
                                     const typename Compute<T>::type* pb, T* dw, i64 dwOff, i64 dwStride, T* db,
                                     i64 dbOff, i64 dbStride) {
    typedef typename Compute<T>::type C;
    FLARE_GRID_STRIDE(c, len) {
        C tw = (C)0, tb = (C)0;
        for (int k = 0; k < chunks; ++k) {
            tw += pw[(i64)k * len + c];
            tb += pb[(i64)k * len + c];
        }
        if (dw != nullptr) dw[dwOff + c * dwStride] = store_c<T>(tw);
        if (db != nullptr) db[dbOff + c * dbStride] = store_c<T>(tb);
    }
}

}  // namespace

#define LN_KERNELS(SUF, T)                                                                                           \
    extern "C" __global__ void layernorm_fwd_##SUF(Rows<4> g, const T* x, T* y, const T* w, i64 wOff, i64 wStride,   \
                                                   const T* b, i64 bOff, i64 bStride, Stat<T>::type* mean,          \
                                                   Stat<T>::type* rstd, double eps) {                               \
        layernorm_fwd<T>(g, x, y, w, wOff, wStride, b, bOff, bStride, mean, rstd, eps);                             \
    }                                                                                                               \
    extern "C" __global__ void layernorm_bwd_dx_##SUF(Rows<5> g, const T* dy, const T* x, T* dx, const T* w,         \
                                                      i64 wOff, i64 wStride, const Stat<T>::type* mean,             \
                                                      const Stat<T>::type* rstd) {                                  \
        layernorm_bwd_dx<T>(g, dy, x, dx, w, wOff, wStride, mean, rstd);                                            \
    }                                                                                                               \
    extern "C" __global__ void layernorm_dwdb_partial_##SUF(Rows<4> g, const T* dy, const T* x,                      \
                                                            const Stat<T>::type* mean, const Stat<T>::type* rstd,  \
                                                            i64 rowsPerChunk, Compute<T>::type* pw,                 \
                                                            Compute<T>::type* pb) {                                 \
        layernorm_dwdb_partial<T>(g, dy, x, mean, rstd, rowsPerChunk, pw, pb);                                      \
    }                                                                                                               \
    extern "C" __global__ void layernorm_dwdb_final_##SUF(i64 len, int chunks, const Compute<T>::type* pw,          \
                                                          const Compute<T>::type* pb, T* dw, i64 dwOff,             \
                                                          i64 dwStride, T* db, i64 dbOff, i64 dbStride) {           \
        layernorm_dwdb_final<T>(len, chunks, pw, pb, dw, dwOff, dwStride, db, dbOff, dbStride);                     \
    }
LN_KERNELS(f32, float)
LN_KERNELS(f64, double)
LN_KERNELS(bf16, bf16)
LN_KERNELS(f16, f16)

// ---------------------------------------------------------------------------------------------------------------
// Fast paths for contiguous rows (F32/BF16/F16): one warp per row, 8 rows per block of 256 threads, the row kept in
// registers (flare_rows.cuh) so x (and dy) are read from DRAM once: two-pass mean/variance from the registers,
// F32 math, output in the input dtype. mean/rstd are contiguous F32; w/b contiguous or null.
#include "dev/flare/tensor/cuda/flare_rows.cuh"

namespace {

template <typename T, int P, bool VEC>
__device__ void ln_fwd_warp(i64 rows, i64 len, const T* __restrict__ x, T* __restrict__ y, const T* __restrict__ w,
                            const T* __restrict__ b, float* __restrict__ mean, float* __restrict__ rstd, float eps,
                            int paramVec) {
    constexpr int V = 16 / sizeof(T);
    const int lane = threadIdx.x & 31;
    const i64 stride = (i64)gridDim.x * (blockDim.x >> 5);
    for (i64 r = (i64)blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5); r < rows; r += stride) {
        Pack<T> xs[P];
        row_load<T, P, VEC>(x + r * len, len, lane, 32, xs);
        float s = 0.0f;
#pragma unroll
        for (int p = 0; p < P; ++p)
#pragma unroll
            for (int e = 0; e < V; ++e) s += load_c(xs[p].v[e]);   // padding reads as 0
        const float mu = warp_sum(s) / (float)len;
        float q = 0.0f;
#pragma unroll
        for (int p = 0; p < P; ++p)
#pragma unroll
            for (int e = 0; e < V; ++e) {
                const float d = load_c(xs[p].v[e]) - mu;
                if (row_valid<T, VEC>(len, p, e, lane, 32)) q += d * d;
            }
        const float rs = 1.0f / sqrtf(warp_sum(q) / (float)len + eps);
        if (lane == 0) {
            mean[r] = mu;
            rstd[r] = rs;
        }
#pragma unroll
        for (int p = 0; p < P; ++p) {
            Pack<T> wp, bp;
            if (w != nullptr) wp = row_param<T, VEC>(w, len, p, lane, 32, paramVec);
            if (b != nullptr) bp = row_param<T, VEC>(b, len, p, lane, 32, paramVec);
#pragma unroll
            for (int e = 0; e < V; ++e) {
                float o = (load_c(xs[p].v[e]) - mu) * rs;
                if (w != nullptr) o *= load_c(wp.v[e]);
                if (b != nullptr) o += load_c(bp.v[e]);
                xs[p].v[e] = store_f<T>(o);
            }
        }
        row_store<T, P, VEC>(y + r * len, len, lane, 32, xs);
    }
}

// dx = rstd * (g - mean(g) - xhat * mean(g * xhat)), g = dy * w, xhat = (x - mean) * rstd.
template <typename T, int P, bool VEC>
__device__ void ln_bwd_dx_warp(i64 rows, i64 len, const T* __restrict__ dy, const T* __restrict__ x,
                               T* __restrict__ dx, const T* __restrict__ w, const float* __restrict__ mean,
                               const float* __restrict__ rstd, int paramVec) {
    constexpr int V = 16 / sizeof(T);
    const int lane = threadIdx.x & 31;
    const i64 stride = (i64)gridDim.x * (blockDim.x >> 5);
    for (i64 r = (i64)blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5); r < rows; r += stride) {
        Pack<T> gs[P], xs[P];
        row_load<T, P, VEC>(dy + r * len, len, lane, 32, gs);
        row_load<T, P, VEC>(x + r * len, len, lane, 32, xs);
        const float mu = mean[r], rs = rstd[r];
        float sg = 0.0f, sgx = 0.0f;
#pragma unroll
        for (int p = 0; p < P; ++p) {
            Pack<T> wp;
            if (w != nullptr) wp = row_param<T, VEC>(w, len, p, lane, 32, paramVec);
#pragma unroll
            for (int e = 0; e < V; ++e) {
                float g = load_c(gs[p].v[e]);   // padding: dy reads as 0, so g is 0
                if (w != nullptr) g *= load_c(wp.v[e]);
                sg += g;
                sgx += g * ((load_c(xs[p].v[e]) - mu) * rs);
            }
        }
        const float a = warp_sum(sg) / (float)len, bb = warp_sum(sgx) / (float)len;
#pragma unroll
        for (int p = 0; p < P; ++p) {
            Pack<T> wp;
            if (w != nullptr) wp = row_param<T, VEC>(w, len, p, lane, 32, paramVec);
#pragma unroll
            for (int e = 0; e < V; ++e) {
                float g = load_c(gs[p].v[e]);
                if (w != nullptr) g *= load_c(wp.v[e]);
                const float xh = (load_c(xs[p].v[e]) - mu) * rs;
                xs[p].v[e] = store_f<T>(rs * (g - a - xh * bb));
            }
        }
        row_store<T, P, VEC>(dx + r * len, len, lane, 32, xs);
    }
}

}  // namespace

#define LN_FWD_WARP(SUF, T, P, VEC, VS)                                                                              \
    extern "C" __global__ void __launch_bounds__(256) layernorm_fwd_warp_##SUF##_p##P##VS(                           \
        i64 rows, i64 len, const T* x, T* y, const T* w, const T* b, float* mean, float* rstd, float eps,          \
        int paramVec) {                                                                                             \
        ln_fwd_warp<T, P, VEC>(rows, len, x, y, w, b, mean, rstd, eps, paramVec);                                    \
    }
#define LN_BWD_WARP(SUF, T, P, VEC, VS)                                                                              \
    extern "C" __global__ void __launch_bounds__(256) layernorm_bwd_dx_warp_##SUF##_p##P##VS(                        \
        i64 rows, i64 len, const T* dy, const T* x, T* dx, const T* w, const float* mean, const float* rstd,       \
        int paramVec) {                                                                                             \
        ln_bwd_dx_warp<T, P, VEC>(rows, len, dy, x, dx, w, mean, rstd, paramVec);                                    \
    }
#define LN_FWD_P(SUF, T, P) LN_FWD_WARP(SUF, T, P, true, _v) LN_FWD_WARP(SUF, T, P, false, _s)
#define LN_BWD_P(SUF, T, P) LN_BWD_WARP(SUF, T, P, true, _v) LN_BWD_WARP(SUF, T, P, false, _s)
#define LN_P_UPTO8(M, SUF, T) M(SUF, T, 1) M(SUF, T, 2) M(SUF, T, 3) M(SUF, T, 4) M(SUF, T, 6) M(SUF, T, 8)
// P (chunks of 16 bytes per lane) up to 16 for the forward; the backward holds dy and x, so half types stop at 8
// (beyond, ptxas spills): LayerNormKernels.java knows these limits.
LN_P_UPTO8(LN_FWD_P, f32, float) LN_FWD_P(f32, float, 12) LN_FWD_P(f32, float, 16)
LN_P_UPTO8(LN_BWD_P, f32, float) LN_BWD_P(f32, float, 12) LN_BWD_P(f32, float, 16)
LN_P_UPTO8(LN_FWD_P, bf16, bf16) LN_FWD_P(bf16, bf16, 12) LN_FWD_P(bf16, bf16, 16)
LN_P_UPTO8(LN_BWD_P, bf16, bf16)
LN_P_UPTO8(LN_FWD_P, f16, f16) LN_FWD_P(f16, f16, 12) LN_FWD_P(f16, f16, 16)
LN_P_UPTO8(LN_BWD_P, f16, f16)
