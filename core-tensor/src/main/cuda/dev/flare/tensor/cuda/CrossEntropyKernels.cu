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
CE_KERNELS(f32, float, i32, int)
CE_KERNELS(f32, float, i64, i64)
CE_KERNELS(f64, double, i32, int)
CE_KERNELS(f64, double, i64, i64)
CE_KERNELS(bf16, bf16, i32, int)
CE_KERNELS(bf16, bf16, i64, i64)
CE_KERNELS(f16, f16, i32, int)
CE_KERNELS(f16, f16, i64, i64)
