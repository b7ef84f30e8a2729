// Embedding forward (row gather) and backward (scatter-add with atomics).
// Grid: x covers the embedding dim (256 columns per block), y walks the index rows. The backward accumulates in
// F32 (F64 for F64 weights) with atomicAdd, so the order of additions into a row that several positions share is
// not fixed: results may differ in the last bits from run to run (the CPU backend sums in a fixed order).
// Launched by dev.flare.tensor.cuda.EmbeddingKernels; see flare_cuda.cuh for the conventions.
#include "dev/flare/tensor/cuda/flare_cuda.cuh"

using namespace flare;

namespace {

// out[r, c] = w[ids[r], c]; ids and out contiguous (pointers at their first element); E is any element type.
template <typename E, typename I>
__device__ void embedding_fwd(i64 n, i64 dim, const I* ids, const E* w, i64 wOff, i64 ws0, i64 ws1, E* out) {
    const i64 c = (i64)blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= dim) return;
    for (i64 r = blockIdx.y; r < n; r += gridDim.y) {
        const i64 id = (i64)ids[r];
        out[r * dim + c] = w[wOff + id * ws0 + c * ws1];
    }
}

// dw[ids[r], c] += g[r, c]; g contiguous (first element), A = float or double.
template <typename A, typename I>
__device__ void embedding_bwd(i64 n, i64 dim, const I* ids, const A* g, A* dw, i64 wOff, i64 ws0, i64 ws1) {
    const i64 c = (i64)blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= dim) return;
    for (i64 r = blockIdx.y; r < n; r += gridDim.y) {
        const i64 id = (i64)ids[r];
        atomicAdd(dw + wOff + id * ws0 + c * ws1, g[r * dim + c]);
    }
}

}  // namespace

#define EMB_FWD(ES, E, IS, I)                                                                                   \
    extern "C" __global__ void embedding_fwd_##ES##_##IS(i64 n, i64 dim, const I* ids, const E* w, i64 wOff,     \
                                                         i64 ws0, i64 ws1, E* out) {                            \
        embedding_fwd<E, I>(n, dim, ids, w, wOff, ws0, ws1, out);                                               \
    }
EMB_FWD(e2, uint16_t, i32, int)
EMB_FWD(e2, uint16_t, i64, i64)
EMB_FWD(e4, uint32_t, i32, int)
EMB_FWD(e4, uint32_t, i64, i64)
EMB_FWD(e8, u64, i32, int)
EMB_FWD(e8, u64, i64, i64)

#define EMB_BWD(AS, A, IS, I)                                                                                   \
    extern "C" __global__ void embedding_bwd_##AS##_##IS(i64 n, i64 dim, const I* ids, const A* g, A* dw,        \
                                                         i64 wOff, i64 ws0, i64 ws1) {                          \
        embedding_bwd<A, I>(n, dim, ids, g, dw, wOff, ws0, ws1);                                                \
    }
EMB_BWD(f32, float, i32, int)
EMB_BWD(f32, float, i64, i64)
EMB_BWD(f64, double, i32, int)
EMB_BWD(f64, double, i64, i64)
