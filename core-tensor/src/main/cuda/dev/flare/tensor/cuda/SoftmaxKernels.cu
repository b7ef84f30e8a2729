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
