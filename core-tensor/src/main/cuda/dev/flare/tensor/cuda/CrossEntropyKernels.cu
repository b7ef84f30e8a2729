// Fused softmax + cross-entropy over logits (N, C): forward writes the per-row loss and logsumexp (F32, F64 for
// F64 logits); backward writes dLogits = dLoss * (softmax - onehot) from the saved logsumexp, zero on ignored rows.
// One block per row; online max/sum in one pass over the row. Math in float (double for F64).
// Launched by dev.flare.tensor.cuda.CrossEntropyKernels; see flare_cuda.cuh for the conventions.
#include "dev/flare/tensor/cuda/flare_cuda.cuh"

using namespace flare;

namespace {

template <typename T> struct Stat { typedef float type; };
template <> struct Stat<double> { typedef double type; };

template <typename T, typename I>
__device__ void ce_fwd(i64 n, i64 c, const T* x, i64 xOff, i64 xs0, i64 xs1, const I* t, i64 tOff, i64 ts, i64 ignore,
                       typename Stat<T>::type* loss, i64 lOff, i64 ls, typename Stat<T>::type* lse, i64 sOff, i64 ss) {
    typedef typename Compute<T>::type C;
    typedef typename Stat<T>::type S;
    __shared__ C scratch[64];
    for (i64 r = blockIdx.x; r < n; r += gridDim.x) {
        const i64 xo = xOff + r * xs0;
        MaxSum<C> st;
        st.m = -(C)INFINITY;
        st.s = (C)0;
        for (i64 j = threadIdx.x; j < c; j += blockDim.x) st = maxsum_add(st, (C)load_c(x[xo + j * xs1]));
        st = block_maxsum(st, scratch);
        if (threadIdx.x == 0) {
            const C l = st.m + log_c(st.s);
            const i64 tg = (i64)t[tOff + r * ts];
            lse[sOff + r * ss] = (S)l;
            loss[lOff + r * ls] = tg == ignore ? (S)0 : (S)(l - (C)load_c(x[xo + tg * xs1]));
        }
    }
}

// ce_fwd for rows of contiguous classes whose starts are 16-byte aligned (F32/BF16/F16; checked on the host): each
// thread loads FLARE_UNROLL 16-byte packs before reducing any, so many bytes are in flight (the scalar kernel had one
// 2-byte load per thread in flight, about a quarter of the copy bandwidth). A pack of finite values joins the
// running (max, sum) as a whole; one with NaN or +-inf goes element by element, as the scalar kernel does.
template <typename T, typename I>
__device__ void ce_fwd_vec(i64 n, i64 c, const T* x, i64 xOff, i64 xs0, const I* t, i64 tOff, i64 ts, i64 ignore,
                           float* loss, i64 lOff, i64 ls, float* lse, i64 sOff, i64 ss) {
    constexpr int V = 16 / sizeof(T), U = FLARE_UNROLL;
    __shared__ float scratch[64];
    const i64 nv = c / V;
    for (i64 r = blockIdx.x; r < n; r += gridDim.x) {
        const T* row = x + xOff + r * xs0;
        const Pack<T>* rp = reinterpret_cast<const Pack<T>*>(row);
        MaxSum<float> st;
        st.m = -INFINITY;
        st.s = 0.f;
        for (i64 k0 = threadIdx.x; k0 < nv; k0 += (i64)blockDim.x * U) {
            Pack<T> pk[U];
#pragma unroll
            for (int u = 0; u < U; ++u)
                if (k0 + u * blockDim.x < nv) pk[u] = rp[k0 + u * blockDim.x];
#pragma unroll
            for (int u = 0; u < U; ++u) {
                if (k0 + u * blockDim.x >= nv) continue;
                float v[V], mx = -INFINITY;
                bool finite = true;
#pragma unroll
                for (int e = 0; e < V; ++e) {
                    v[e] = (float)load_c(pk[u].v[e]);
                    finite = finite && (v[e] == -INFINITY || isfinite(v[e]));
                    mx = fmaxf(mx, v[e]);
                }
                if (finite && mx != -INFINITY) {
                    MaxSum<float> ps;
                    ps.m = mx;
                    ps.s = 0.f;
#pragma unroll
                    for (int e = 0; e < V; ++e) ps.s += expf(v[e] - mx);
                    st = maxsum_merge(st, ps);
                } else if (!finite) {
#pragma unroll
                    for (int e = 0; e < V; ++e) st = maxsum_add(st, v[e]);
                }   // all -inf: nothing to add
            }
        }
        for (i64 j = nv * V + threadIdx.x; j < c; j += blockDim.x) st = maxsum_add(st, (float)load_c(row[j]));
        st = block_maxsum(st, scratch);
        if (threadIdx.x == 0) {
            const float l = st.m + logf(st.s);
            const i64 tg = (i64)t[tOff + r * ts];
            lse[sOff + r * ss] = l;
            loss[lOff + r * ls] = tg == ignore ? 0.f : l - (float)load_c(row[tg]);
        }
    }
}

template <typename T, typename I>
__device__ void ce_bwd(i64 n, i64 c, const T* x, i64 xOff, i64 xs0, i64 xs1, const I* t, i64 tOff, i64 ts, i64 ignore,
                       const typename Stat<T>::type* lse, i64 sOff, i64 ss, const typename Stat<T>::type* dl, i64 gOff,
                       i64 gs, T* dx, i64 dOff, i64 ds0, i64 ds1) {
    typedef typename Compute<T>::type C;
    for (i64 r = blockIdx.x; r < n; r += gridDim.x) {
        const i64 xo = xOff + r * xs0, oo = dOff + r * ds0;
        const i64 tg = (i64)t[tOff + r * ts];
        if (tg == ignore) {
            for (i64 j = threadIdx.x; j < c; j += blockDim.x) dx[oo + j * ds1] = store_c<T>((C)0);
            continue;
        }
        const C l = (C)lse[sOff + r * ss], gv = (C)dl[gOff + r * gs];
        for (i64 j = threadIdx.x; j < c; j += blockDim.x) {
            const C p = exp_c((C)load_c(x[xo + j * xs1]) - l);
            dx[oo + j * ds1] = store_c<T>(gv * (j == tg ? p - (C)1 : p));
        }
    }
}

// ce_bwd for rows of contiguous classes on 16-byte boundaries, in both logits and dLogits (F32/BF16/F16; checked on
// the host): FLARE_UNROLL 16-byte packs per thread loaded before any is computed and stored. Each element is the
// scalar kernel's expression, so the two agree bit for bit.
template <typename T, typename I>
__device__ void ce_bwd_vec(i64 n, i64 c, const T* x, i64 xOff, i64 xs0, const I* t, i64 tOff, i64 ts, i64 ignore,
                           const float* lse, i64 sOff, i64 ss, const float* dl, i64 gOff, i64 gs, T* dx, i64 dOff,
                           i64 ds0) {
    typedef typename Compute<T>::type C;
    constexpr int V = 16 / sizeof(T), U = FLARE_UNROLL;
    const i64 nv = c / V;
    for (i64 r = blockIdx.x; r < n; r += gridDim.x) {
        const T* row = x + xOff + r * xs0;
        T* out = dx + dOff + r * ds0;
        const Pack<T>* rp = reinterpret_cast<const Pack<T>*>(row);
        Pack<T>* op = reinterpret_cast<Pack<T>*>(out);
        const i64 tg = (i64)t[tOff + r * ts];
        const bool ignored = tg == ignore;
        const C l = ignored ? (C)0 : (C)lse[sOff + r * ss], gv = ignored ? (C)0 : (C)dl[gOff + r * gs];
        for (i64 k0 = threadIdx.x; k0 < nv; k0 += (i64)blockDim.x * U) {
            Pack<T> pk[U];
#pragma unroll
            for (int u = 0; u < U; ++u)
                if (!ignored && k0 + u * blockDim.x < nv) pk[u] = rp[k0 + u * blockDim.x];
#pragma unroll
            for (int u = 0; u < U; ++u) {
                const i64 k = k0 + u * blockDim.x;
                if (k >= nv) continue;
                Pack<T> o;
#pragma unroll
                for (int e = 0; e < V; ++e) {
                    if (ignored) {
                        o.v[e] = store_c<T>((C)0);
                        continue;
                    }
                    const i64 j = k * V + e;
                    const C p = exp_c((C)load_c(pk[u].v[e]) - l);
                    o.v[e] = store_c<T>(gv * (j == tg ? p - (C)1 : p));
                }
                op[k] = o;
            }
        }
        for (i64 j = nv * V + threadIdx.x; j < c; j += blockDim.x) {
            if (ignored) {
                out[j] = store_c<T>((C)0);
                continue;
            }
            const C p = exp_c((C)load_c(row[j]) - l);
            out[j] = store_c<T>(gv * (j == tg ? p - (C)1 : p));
        }
    }
}

}  // namespace

#define CE_KERNELS(TS, T, IS, I)                                                                                      \
    extern "C" __global__ void ce_fwd_##TS##_##IS(i64 n, i64 c, const T* x, i64 xOff, i64 xs0, i64 xs1, const I* t,    \
                                                  i64 tOff, i64 ts, i64 ignore, Stat<T>::type* loss, i64 lOff,         \
                                                  i64 ls, Stat<T>::type* lse, i64 sOff, i64 ss) {                      \
        ce_fwd<T, I>(n, c, x, xOff, xs0, xs1, t, tOff, ts, ignore, loss, lOff, ls, lse, sOff, ss);                     \
    }                                                                                                                  \
    extern "C" __global__ void ce_bwd_##TS##_##IS(i64 n, i64 c, const T* x, i64 xOff, i64 xs0, i64 xs1, const I* t,    \
                                                  i64 tOff, i64 ts, i64 ignore, const Stat<T>::type* lse, i64 sOff,    \
                                                  i64 ss, const Stat<T>::type* dl, i64 gOff, i64 gs, T* dx, i64 dOff,  \
                                                  i64 ds0, i64 ds1) {                                                  \
        ce_bwd<T, I>(n, c, x, xOff, xs0, xs1, t, tOff, ts, ignore, lse, sOff, ss, dl, gOff, gs, dx, dOff, ds0, ds1);   \
    }
#define CE_VEC_KERNELS(TS, T, IS, I)                                                                                  \
    extern "C" __global__ void ce_fwd_vec_##TS##_##IS(i64 n, i64 c, const T* x, i64 xOff, i64 xs0, const I* t,         \
                                                      i64 tOff, i64 ts, i64 ignore, float* loss, i64 lOff, i64 ls,     \
                                                      float* lse, i64 sOff, i64 ss) {                                  \
        ce_fwd_vec<T, I>(n, c, x, xOff, xs0, t, tOff, ts, ignore, loss, lOff, ls, lse, sOff, ss);                      \
    }                                                                                                                 \
    extern "C" __global__ void ce_bwd_vec_##TS##_##IS(i64 n, i64 c, const T* x, i64 xOff, i64 xs0, const I* t,         \
                                                      i64 tOff, i64 ts, i64 ignore, const float* lse, i64 sOff,        \
                                                      i64 ss, const float* dl, i64 gOff, i64 gs, T* dx, i64 dOff,      \
                                                      i64 ds0) {                                                       \
        ce_bwd_vec<T, I>(n, c, x, xOff, xs0, t, tOff, ts, ignore, lse, sOff, ss, dl, gOff, gs, dx, dOff, ds0);         \
    }
CE_VEC_KERNELS(f32, float, i32, int)
CE_VEC_KERNELS(f32, float, i64, i64)
CE_VEC_KERNELS(bf16, bf16, i32, int)
CE_VEC_KERNELS(bf16, bf16, i64, i64)
CE_VEC_KERNELS(f16, f16, i32, int)
CE_VEC_KERNELS(f16, f16, i64, i64)
CE_KERNELS(f32, float, i32, int)
CE_KERNELS(f32, float, i64, i64)
CE_KERNELS(f64, double, i32, int)
CE_KERNELS(f64, double, i64, i64)
CE_KERNELS(bf16, bf16, i32, int)
CE_KERNELS(bf16, bf16, i64, i64)
CE_KERNELS(f16, f16, i32, int)
CE_KERNELS(f16, f16, i64, i64)
