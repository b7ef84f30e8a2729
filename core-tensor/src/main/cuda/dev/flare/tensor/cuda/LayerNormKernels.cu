// Layer norm over the last dim: forward (saving mean and rstd), backward dx (one block per row), and
// dWeight/dBias as a deterministic two-stage column reduction (partials per chunk of rows, then a fixed-order
// sum over chunks). Math in float (double for F64); statistics F32 (F64 for F64). These general kernels take
// any strides and dtype; contiguous F32/BF16/F16 rows take the row-group fast paths at the end of the file.
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

// Stage 2: block (32, 8) covers 32 columns; thread y sums chunks y, y + 8, ... in order and the 8 partial sums are
// added in order (deterministic). Was one thread per column over all chunks: len threads (a few blocks for
// 768 columns) each walking 512 chunks. dw/db may be null; chunks may be 0 (no rows: zeros).
template <typename T>
__device__ void layernorm_dwdb_final(i64 len, int chunks, const typename Compute<T>::type* pw,
                                     const typename Compute<T>::type* pb, T* dw, i64 dwOff, i64 dwStride, T* db,
                                     i64 dbOff, i64 dbStride) {
    typedef typename Compute<T>::type C;
    __shared__ C sw[8][33];
    __shared__ C sb[8][33];
    const i64 c = (i64)blockIdx.x * 32 + threadIdx.x;
    C tw = (C)0, tb = (C)0;
    if (c < len) {
        for (int k = threadIdx.y; k < chunks; k += blockDim.y) {
            tw += pw[(i64)k * len + c];
            tb += pb[(i64)k * len + c];
        }
    }
    sw[threadIdx.y][threadIdx.x] = tw;
    sb[threadIdx.y][threadIdx.x] = tb;
    __syncthreads();
    if (threadIdx.y == 0 && c < len) {
        for (int k = 1; k < (int)blockDim.y; ++k) {
            tw += sw[k][threadIdx.x];
            tb += sb[k][threadIdx.x];
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
// Fast paths for contiguous rows (F32/BF16/F16): a block of 256 threads holds 256 / G rows, each spread over a group
// of G threads (G = 32: a warp per row; G = 64..256 for long rows) as P chunks of 16 bytes per thread, kept in
// registers (flare_rows.cuh) so x (and dy) are read from DRAM once: two-pass mean/variance from the registers,
// F32 math, output in the input dtype. mean/rstd are contiguous F32; w/b contiguous (any alignment) or null.
// The grid is about one wave of resident blocks; each block strides over groups of rows.
//
// Why groups rather than one warp per row with many chunks: a warp holding a 3072-column row needed 12 chunks per
// operand and 167-250 registers, so one block per SM and few bytes in flight (the backward spilled, and fell back
// to the generic kernel). With P <= 4 chunks per thread the kernels stay small and the SM full. Weight/bias are
// staged once per block in shared memory, so rows read them right after their reductions without an L2 round trip
// and without holding them in registers across the reductions.
#include "dev/flare/tensor/cuda/flare_rows.cuh"

namespace {

constexpr int LN_THREADS = 256;
// Blocks per SM asked of ptxas (__launch_bounds__), which caps registers at 65536 / (256 * blocks): the most that
// fit without spills (ptxas -v; BF16/F16 keep the row unpacked to floats, about 20 registers per chunk in the
// backward, more in the scalar map, which loads element by element: its P = 3 backward spills under 3 blocks).
#ifndef LN_FWD_BLOCKS   // a micro-benchmark build may override it
#define LN_FWD_BLOCKS(P) ((P) <= 2 ? 4 : (P) <= 3 ? 3 : (P) <= 4 ? 2 : 1)
#endif
#define LN_BWD_BLOCKS(P, VEC) ((P) <= 2 ? 4 : (P) <= 3 ? ((VEC) ? 3 : 2) : (P) <= 4 ? 2 : 1)

// Sums the N values of v over the G threads of a row group, in a fixed order (deterministic). G > 32 goes through
// buf (LN_THREADS / 32 float2) after one __syncthreads, so every thread of the block must make the same calls
// (idle groups included), and consecutive calls must alternate between two buffers: a call's writes then never
// meet a slower thread's reads of the previous call, which used the other buffer.
template <int G, int N>
__device__ __forceinline__ void group_sum(float (&v)[N], float2* buf) {
    static_assert(N == 1 || N == 2, "float2 scratch holds two sums");
#pragma unroll
    for (int i = 0; i < N; ++i) v[i] = warp_sum(v[i]);
    if (G == 32) return;
    const int warp = threadIdx.x >> 5, first = warp & ~(G / 32 - 1);
    if ((threadIdx.x & 31) == 0) buf[warp] = make_float2(v[0], N == 2 ? v[N - 1] : 0.0f);
    __syncthreads();
    float2 r = buf[first];
#pragma unroll
    for (int k = 1; k < G / 32; ++k) {
        const float2 o = buf[first + k];
        r.x += o.x;
        r.y += o.y;
    }
    v[0] = r.x;
    if (N == 2) v[N - 1] = r.y;
}

// Copies w and b (either may be null) into shared memory, the block's threads in a strided loop with 8 loads in
// flight each (staging is paid once per block, before its first row). Ends with __syncthreads.
template <typename T>
__device__ __forceinline__ void params_to_shared(int len, const T* __restrict__ w, const T* __restrict__ b, T* sw,
                                                 T* sb) {
    constexpr int K = 8;
    for (int i0 = threadIdx.x; i0 < len; i0 += K * LN_THREADS) {
        T wv[K], bv[K];
#pragma unroll
        for (int k = 0; k < K; ++k) {
            const int i = i0 + k * LN_THREADS;
            if (i < len && w != nullptr) wv[k] = w[i];
            if (i < len && b != nullptr) bv[k] = b[i];
        }
#pragma unroll
        for (int k = 0; k < K; ++k) {
            const int i = i0 + k * LN_THREADS;
            if (i < len && w != nullptr) sw[i] = wv[k];
            if (i < len && b != nullptr) sb[i] = bv[k];
        }
    }
    __syncthreads();
}

// Asks L2 for the 128-byte lines of the `bytes` bytes at p (null: nothing), thread t of the group taking lines t,
// t + G, ...: issued for the group's next row before the current row's reductions, so DRAM keeps streaming while
// the group reduces; costs no registers, unlike a second row buffer. Covers the row whatever the index map or
// alignment (lines from the one holding the first byte).
__device__ __forceinline__ void row_prefetch_l2(const void* p, int bytes, int t, int G) {
    if (p == nullptr) return;
    const unsigned long long start = reinterpret_cast<unsigned long long>(p), end = start + (unsigned)bytes;
    for (unsigned long long a = (start & ~127ull) + 128ull * t; a < end; a += 128ull * G)
        asm volatile("prefetch.global.L2 [%0];" ::"l"(a));
}

// Rows past `rows` (the last groups of the block's last pass) run with length n = 0: nothing loaded, stored or read
// from shared memory, but they still join the group reductions' __syncthreads.
template <typename T, int G, int P, bool VEC>
__device__ void ln_fwd_rows(i64 rows, int len, const T* __restrict__ x, T* __restrict__ y, const T* __restrict__ w,
                            const T* __restrict__ b, float* __restrict__ mean, float* __restrict__ rstd, float eps) {
    constexpr int V = 16 / sizeof(T), RPB = LN_THREADS / G;
    __shared__ float2 scratch[2][LN_THREADS / 32];
    // w then b, each from a 16-byte boundary: the host gives 2 * roundUp(len, V) elements (roundUp(len, V) when b
    // is null, none when both are)
    extern __shared__ __align__(16) unsigned char ln_smem[];
    T* sw = reinterpret_cast<T*>(ln_smem);
    T* sb = sw + (len + V - 1) / V * V;
    const int t = threadIdx.x % G, grp = threadIdx.x / G;
    const i64 step = (i64)gridDim.x * RPB, r0 = (i64)blockIdx.x * RPB + grp;
    row_prefetch_l2(r0 < rows ? x + r0 * len : nullptr, len * (int)sizeof(T), t, G);   // overlaps the staging
    params_to_shared(len, w, b, sw, sb);
    for (i64 base = (i64)blockIdx.x * RPB; base < rows; base += step) {
        const i64 r = base + grp, rn = r + step;
        const int n = r < rows ? len : 0;
        Pack<T> xs[P];
        row_load<T, P, VEC>(x + r * len, n, t, G, xs);
        row_prefetch_l2(rn < rows ? x + rn * len : nullptr, len * (int)sizeof(T), t, G);
        float s[1] = {0.0f};
#pragma unroll
        for (int p = 0; p < P; ++p)
#pragma unroll
            for (int e = 0; e < V; ++e) s[0] += load_c(xs[p].v[e]);   // padding reads as 0
        group_sum<G>(s, scratch[0]);
        const float mu = s[0] / (float)len;
        float q[1] = {0.0f};
#pragma unroll
        for (int p = 0; p < P; ++p)
#pragma unroll
            for (int e = 0; e < V; ++e) {
                const float d = load_c(xs[p].v[e]) - mu;
                if (row_valid<T, VEC>(n, p, e, t, G)) q[0] += d * d;
            }
        group_sum<G>(q, scratch[1]);
        const float rs = 1.0f / sqrtf(q[0] / (float)len + eps);
        if (t == 0 && n > 0) {
            mean[r] = mu;
            rstd[r] = rs;
        }
#pragma unroll
        for (int p = 0; p < P; ++p) {
            Pack<T> wp, bp;
            if (w != nullptr) wp = row_param<T, VEC>(sw, n, p, t, G);
            if (b != nullptr) bp = row_param<T, VEC>(sb, n, p, t, G);
#pragma unroll
            for (int e = 0; e < V; ++e) {
                float o = (load_c(xs[p].v[e]) - mu) * rs;
                if (w != nullptr) o *= load_c(wp.v[e]);
                if (b != nullptr) o += load_c(bp.v[e]);
                xs[p].v[e] = store_f<T>(o);
            }
        }
        row_store<T, P, VEC>(y + r * len, n, t, G, xs);
    }
}

// dx = rstd * (g - mean(g) - xhat * mean(g * xhat)), g = dy * w, xhat = (x - mean) * rstd. Both sums in one
// group reduction, so one reduction per row: its scratch buffer alternates with the pass's parity.
template <typename T, int G, int P, bool VEC>
__device__ void ln_bwd_dx_rows(i64 rows, int len, const T* __restrict__ dy, const T* __restrict__ x,
                               T* __restrict__ dx, const T* __restrict__ w, const float* __restrict__ mean,
                               const float* __restrict__ rstd) {
    constexpr int V = 16 / sizeof(T), RPB = LN_THREADS / G;
    __shared__ float2 scratch[2][LN_THREADS / 32];
    // w from a 16-byte boundary: the host gives roundUp(len, V) elements (none when w is null)
    extern __shared__ __align__(16) unsigned char ln_smem[];
    T* sw = reinterpret_cast<T*>(ln_smem);
    const int t = threadIdx.x % G, grp = threadIdx.x / G, bytes = len * (int)sizeof(T);
    const i64 step = (i64)gridDim.x * RPB, r0 = (i64)blockIdx.x * RPB + grp;
    row_prefetch_l2(r0 < rows ? dy + r0 * len : nullptr, bytes, t, G);   // overlap the staging
    row_prefetch_l2(r0 < rows ? x + r0 * len : nullptr, bytes, t, G);
    params_to_shared(len, w, (const T*)nullptr, sw, sw);
    int pass = 0;
    for (i64 base = (i64)blockIdx.x * RPB; base < rows; base += step, pass ^= 1) {
        const i64 r = base + grp, rn = r + step;
        const int n = r < rows ? len : 0;
        Pack<T> gs[P], xs[P];
        row_load<T, P, VEC>(dy + r * len, n, t, G, gs);
        row_load<T, P, VEC>(x + r * len, n, t, G, xs);
        row_prefetch_l2(rn < rows ? dy + rn * len : nullptr, bytes, t, G);
        row_prefetch_l2(rn < rows ? x + rn * len : nullptr, bytes, t, G);
        const float mu = n > 0 ? mean[r] : 0.0f, rs = n > 0 ? rstd[r] : 0.0f;
        float sums[2] = {0.0f, 0.0f};   // sum g, sum g * xhat
#pragma unroll
        for (int p = 0; p < P; ++p) {
            Pack<T> wp;
            if (w != nullptr) wp = row_param<T, VEC>(sw, n, p, t, G);
#pragma unroll
            for (int e = 0; e < V; ++e) {
                float g = load_c(gs[p].v[e]);   // padding: dy reads as 0, so g is 0
                if (w != nullptr) g *= load_c(wp.v[e]);
                sums[0] += g;
                sums[1] += g * ((load_c(xs[p].v[e]) - mu) * rs);
            }
        }
        group_sum<G>(sums, scratch[pass]);
        const float a = sums[0] / (float)len, bb = sums[1] / (float)len;
#pragma unroll
        for (int p = 0; p < P; ++p) {
            Pack<T> wp;
            if (w != nullptr) wp = row_param<T, VEC>(sw, n, p, t, G);
#pragma unroll
            for (int e = 0; e < V; ++e) {
                float g = load_c(gs[p].v[e]);
                if (w != nullptr) g *= load_c(wp.v[e]);
                const float xh = (load_c(xs[p].v[e]) - mu) * rs;
                xs[p].v[e] = store_f<T>(rs * (g - a - xh * bb));
            }
        }
        row_store<T, P, VEC>(dx + r * len, n, t, G, xs);
    }
}

}  // namespace

#define LN_FWD_ROWS(SUF, T, G, P, VEC, VS)                                                                           \
    extern "C" __global__ void __launch_bounds__(LN_THREADS, LN_FWD_BLOCKS(P))                                      \
        layernorm_fwd_rows_##SUF##_g##G##_p##P##VS(i64 rows, int len, const T* x, T* y, const T* w, const T* b,      \
                                                   float* mean, float* rstd, float eps) {                           \
        ln_fwd_rows<T, G, P, VEC>(rows, len, x, y, w, b, mean, rstd, eps);                                           \
    }
#define LN_BWD_ROWS(SUF, T, G, P, VEC, VS)                                                                           \
    extern "C" __global__ void __launch_bounds__(LN_THREADS, LN_BWD_BLOCKS(P, VEC))                                 \
        layernorm_bwd_dx_rows_##SUF##_g##G##_p##P##VS(i64 rows, int len, const T* dy, const T* x, T* dx,             \
                                                      const T* w, const float* mean, const float* rstd) {           \
        ln_bwd_dx_rows<T, G, P, VEC>(rows, len, dy, x, dx, w, mean, rstd);                                           \
    }
#define LN_GP(SUF, T, G, P)                                                                                          \
    LN_FWD_ROWS(SUF, T, G, P, true, _v) LN_FWD_ROWS(SUF, T, G, P, false, _s)                                         \
    LN_BWD_ROWS(SUF, T, G, P, true, _v) LN_BWD_ROWS(SUF, T, G, P, false, _s)
// The (G, P) the host picks (LayerNormKernels.java, rowShape): the smallest G with at most 4 chunks per thread, so
// G = 32 takes P = 1..4 and the larger groups only 3..4 (a row that fits 2 chunks of 2G threads fits 4 of G);
// past 1024 chunks, G = 256 with 6 or 8 (rows up to 2048 chunks: 16384 BF16/F16 or 8192 F32 columns).
#define LN_TYPE(SUF, T)                                                                                              \
    LN_GP(SUF, T, 32, 1) LN_GP(SUF, T, 32, 2) LN_GP(SUF, T, 32, 3) LN_GP(SUF, T, 32, 4)                             \
    LN_GP(SUF, T, 64, 3) LN_GP(SUF, T, 64, 4) LN_GP(SUF, T, 128, 3) LN_GP(SUF, T, 128, 4)                           \
    LN_GP(SUF, T, 256, 3) LN_GP(SUF, T, 256, 4) LN_GP(SUF, T, 256, 6) LN_GP(SUF, T, 256, 8)
LN_TYPE(f32, float)
LN_TYPE(bf16, bf16)
LN_TYPE(f16, f16)
