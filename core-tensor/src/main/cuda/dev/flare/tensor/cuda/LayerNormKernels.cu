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
