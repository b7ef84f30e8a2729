// GELU (tanh form) backward: dx = dy * gelu'(x), elementwise over any strides.
// With u = k (x + a x^3), e = exp(-2|u|), q = 1 / (1 + e): 1 - tanh(u)^2 = 4 e q^2 and 1 + tanh(u) = 2q (u >= 0)
// or 2eq (u < 0), which avoids the cancellation of the textbook formula in the negative tail (as the CPU does).
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

}  // namespace

#define G_KERNEL(SUF, T) \
    extern "C" __global__ void gelu_bwd_##SUF(Geom<3> g, const T* x, const T* dy, T* dx) { gelu_bwd<T>(g, x, dy, dx); }
G_KERNEL(f32, float)
G_KERNEL(f64, double)
G_KERNEL(bf16, bf16)
G_KERNEL(f16, f16)
