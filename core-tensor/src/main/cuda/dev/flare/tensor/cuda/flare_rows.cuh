// Rows kept in registers: the fast paths of layer norm and softmax over contiguous rows read each row from
// DRAM once into registers, reduce over it, and write the result, instead of reading it once per pass.
//
// A row of `len` elements is spread over `G` threads (a warp, or a block) as P chunks of V = 16 / sizeof(T)
// elements per thread. Two index maps, chosen by the host:
//  * VEC (row start 16-byte aligned, len % V == 0): chunk p of thread t holds elements (p * G + t) * V + e,
//    loaded and stored as one 16-byte vector;
//  * scalar (any len, any alignment): element e of chunk p of thread t is (p * V + e) * G + t, so a warp's
//    loads of one (p, e) are consecutive elements (coalesced).
// Elements past `len` read as 0 and are never stored; reductions must skip them (row_valid). Index math within a
// row is 32-bit (the host only takes rows that fit the registers, far below 2^31 elements).
#pragma once

#include "dev/flare/tensor/cuda/flare_cuda.cuh"

namespace flare {

template <typename T, bool VEC>
__device__ __forceinline__ int row_index(int p, int e, int t, int G) {
    constexpr int V = 16 / sizeof(T);
    return VEC ? (p * G + t) * V + e : (p * V + e) * G + t;
}

template <typename T, int P, bool VEC>
__device__ __forceinline__ void row_load(const T* __restrict__ row, int len, int t, int G, Pack<T> (&out)[P]) {
    constexpr int V = 16 / sizeof(T);
#pragma unroll
    for (int p = 0; p < P; ++p) {
        if (VEC) {
            const int j = row_index<T, true>(p, 0, t, G);
            if (j < len) {
                out[p] = *reinterpret_cast<const Pack<T>*>(row + j);
            } else {
#pragma unroll
                for (int e = 0; e < V; ++e) out[p].v[e] = store_f<T>(0.0f);
            }
        } else {
#pragma unroll
            for (int e = 0; e < V; ++e) {
                const int j = row_index<T, false>(p, e, t, G);
                out[p].v[e] = j < len ? row[j] : store_f<T>(0.0f);
            }
        }
    }
}

// Loads elements of a short vector (layer norm's weight or bias, staged in shared memory) in the row's index map.
// In the VEC map w must be 16-byte aligned, and as the row holds whole chunks (len % V == 0) a chunk is either all
// in the row (one 16-byte load) or all padding (zeros: no per-element loads to predicate).
template <typename T, bool VEC>
__device__ __forceinline__ Pack<T> row_param(const T* __restrict__ w, int len, int p, int t, int G) {
    constexpr int V = 16 / sizeof(T);
    Pack<T> r;
    if constexpr (VEC) {
        const int j = row_index<T, true>(p, 0, t, G);
        if (j < len) return *reinterpret_cast<const Pack<T>*>(w + j);
#pragma unroll
        for (int e = 0; e < V; ++e) r.v[e] = store_f<T>(0.0f);
    } else {
#pragma unroll
        for (int e = 0; e < V; ++e) {
            const int j = row_index<T, false>(p, e, t, G);
            r.v[e] = j < len ? w[j] : store_f<T>(0.0f);
        }
    }
    return r;
}

template <typename T, int P, bool VEC>
__device__ __forceinline__ void row_store(T* __restrict__ row, int len, int t, int G, const Pack<T> (&in)[P]) {
    constexpr int V = 16 / sizeof(T);
#pragma unroll
    for (int p = 0; p < P; ++p) {
        if (VEC) {
            const int j = row_index<T, true>(p, 0, t, G);
            if (j < len) *reinterpret_cast<Pack<T>*>(row + j) = in[p];
        } else {
#pragma unroll
            for (int e = 0; e < V; ++e) {
                const int j = row_index<T, false>(p, e, t, G);
                if (j < len) row[j] = in[p].v[e];
            }
        }
    }
}

template <typename T, bool VEC>
__device__ __forceinline__ bool row_valid(int len, int p, int e, int t, int G) {
    return row_index<T, VEC>(p, e, t, G) < len;
}

__device__ __forceinline__ float warp_max(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v = nan_max(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

// NaN-propagating max over the block; every thread gets the result. scratch holds 32 floats.
__device__ __forceinline__ float block_max(float v, float* scratch) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
    v = warp_max(v);
    __syncthreads();
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    float r = lane < warps ? scratch[lane] : -INFINITY;
    return warp_max(r);
}

}  // namespace flare
