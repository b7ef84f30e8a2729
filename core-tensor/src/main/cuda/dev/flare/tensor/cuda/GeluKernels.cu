// GELU (tanh form) backward: dx = dy * gelu'(x), elementwise over any strides.
// With u = k (x + a x^3), e = exp(-2|u|), q = 1 / (1 + e): 1 - tanh(u)^2 = 4 e q^2 and 1 + tanh(u) = 2q (u >= 0)
// or 2eq (u < 0), which avoids the cancellation of the textbook formula in the negative tail (as the CPU does).
// Contiguous 16-byte aligned F32/BF16/F16 operands take a vectorized kernel with the same math.
// Launched by dev.flare.tensor.cuda.GeluKernels; see flare_cuda.cuh for the conventions.
#include "dev/flare/tensor/cuda/flare_cuda.cuh"

using namespace flare;

namespace {

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

// Contiguous F32/BF16/F16 operands, 16-byte aligned (checked on the host): FLARE_UNROLL packs of each operand
// per thread per iteration, all loaded before any is stored (dx may alias dy or x).
template <typename T>
__device__ void gelu_bwd_vec(i64 n, const T* x, const T* dy, T* dx) {
    constexpr int V = 16 / sizeof(T), U = FLARE_UNROLL;
    const i64 nv = n / V;
    const Pack<T>* xv = reinterpret_cast<const Pack<T>*>(x);
    const Pack<T>* gv = reinterpret_cast<const Pack<T>*>(dy);
    Pack<T>* ov = reinterpret_cast<Pack<T>*>(dx);
    const i64 step = (i64)gridDim.x * blockDim.x * U;
    for (i64 base = (i64)blockIdx.x * blockDim.x * U + threadIdx.x; base < nv; base += step) {
        Pack<T> p[U], q[U];
#pragma unroll
        for (int u = 0; u < U; ++u)
            if (base + u * blockDim.x < nv) {
                p[u] = xv[base + u * blockDim.x];
                q[u] = gv[base + u * blockDim.x];
            }
#pragma unroll
        for (int u = 0; u < U; ++u) {
            if (base + u * blockDim.x >= nv) continue;
#pragma unroll
            for (int j = 0; j < V; ++j) p[u].v[j] = store_c<T>(load_c(q[u].v[j]) * gelu_grad(load_c(p[u].v[j])));
            ov[base + u * blockDim.x] = p[u];
        }
    }
    if (blockIdx.x == 0) {   // the tail of fewer than V elements
        const i64 t = nv * V + threadIdx.x;
        if (t < n) dx[t] = store_c<T>(load_c(dy[t]) * gelu_grad(load_c(x[t])));
    }
}

}  // namespace

#define G_VEC(SUF, T) \
    extern "C" __global__ void gelu_bwd_vec_##SUF(i64 n, const T* x, const T* dy, T* dx) { gelu_bwd_vec<T>(n, x, dy, dx); }
G_VEC(f32, float)
G_VEC(bf16, bf16)
G_VEC(f16, f16)

#define G_KERNEL(SUF, T) \
    extern "C" __global__ void gelu_bwd_##SUF(Geom<3> g, const T* x, const T* dy, T* dx) { gelu_bwd<T>(g, x, dy, dx); }
G_KERNEL(f32, float)
G_KERNEL(f64, double)
G_KERNEL(bf16, bf16)
G_KERNEL(f16, f16)
