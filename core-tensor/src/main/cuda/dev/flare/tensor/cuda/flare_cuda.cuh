// Shared definitions of Flare's CUDA kernels (core-tensor, package dev.flare.tensor.cuda).
//
// Conventions every kernel file follows:
//  * Kernels are extern "C" with names the Java launcher computes: <op>_<dtype suffix>[_<dtype suffix>...].
//    Suffixes: f32 f64 bf16 f16 i32 i64 b8 (BOOL), and e1 e2 e4 e8 for "any type of that byte size".
//  * Tensor operands are passed as the storage base pointer plus an element offset and element strides, all
//    64-bit. Strided N-d operands travel in a Geom<N> struct passed by value; the Java side
//    (StridedGeometry) writes it as an array of 64-bit words, so the struct holds only 64-bit fields (no padding).
//  * Math on BF16/F16 is done in float; F32 in float; F64 in double; I32/I64/BOOL in 64-bit integers.
//  * Conversions follow the CPU backend exactly: float -> integer truncates toward zero, saturates and maps NaN
//    to 0; integer -> narrower integer keeps the low bits; anything -> BOOL is (value != 0) (NaN -> true);
//    double -> BF16/F16 rounds to float first, then to nearest-even half.
//  * Every kernel is bounds-checked for any size, including 0 (then the host does not launch at all).
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <stdint.h>

#define FLARE_MAX_DIMS 8

namespace flare {

typedef long long i64;
typedef unsigned long long u64;
typedef __nv_bfloat16 bf16;
typedef __half f16;

// ------------------------------------------------------------------------------------------------------
// Strided geometry of N operands that share one shape (dims already coalesced on the host).
// Layout (64-bit words): rank, numel, sizes[8], strides[N][8], offsets[N].
template <int N>
struct Geom {
    i64 rank;
    i64 numel;
    i64 sizes[FLARE_MAX_DIMS];
    i64 strides[N][FLARE_MAX_DIMS];
    i64 offsets[N];
};

// Element offsets of operands for the row-major linear index i (0 <= i < numel). The host guarantees that a
// geometry of rank >= 2 has fewer than 2^31 elements (it peels leading dims into host-side launches
// otherwise), so the index arithmetic is 32-bit except for the rank <= 1 case, which needs no division.
template <int N>
__device__ __forceinline__ void geom_offsets(const Geom<N>& g, i64 i, i64 (&off)[N]) {
#pragma unroll
    for (int k = 0; k < N; ++k) off[k] = g.offsets[k];
    if (g.rank <= 1) {
#pragma unroll
        for (int k = 0; k < N; ++k) off[k] += i * g.strides[k][0];
        return;
    }
    unsigned int r = (unsigned int)i;
    for (int d = (int)g.rank - 1; d >= 0; --d) {
        const unsigned int s = (unsigned int)g.sizes[d];
        const unsigned int q = r / s;
        const unsigned int idx = r - q * s;
        r = q;
#pragma unroll
        for (int k = 0; k < N; ++k) off[k] += (i64)idx * g.strides[k][d];
    }
}

// Offset of a single operand described by (rank, sizes, strides) for a linear index i. As for Geom, the host
// guarantees fewer than 2^31 elements when rank >= 2, so the division is 32-bit.
__device__ __forceinline__ i64 dims_offset(i64 rank, const i64* sizes, const i64* strides, i64 i) {
    if (rank <= 1) return rank == 1 ? i * strides[0] : 0;
    unsigned int r = (unsigned int)i;
    i64 o = 0;
    for (int d = (int)rank - 1; d >= 0; --d) {
        const unsigned int s = (unsigned int)sizes[d];
        const unsigned int q = r / s;
        o += (i64)(r - q * s) * strides[d];
        r = q;
    }
    return o;
}

// Rows of N operands: the row dims (coalesced, at most 8; fewer than 2^31 rows when rank >= 2) with per-operand
// strides and offsets, the row length, and each operand's stride along the row.
// Layout (64-bit words): rank, rows, sizes[8], strides[N][8], offsets[N], len, inner[N].
template <int N>
struct Rows {
    i64 rank;
    i64 rows;
    i64 sizes[FLARE_MAX_DIMS];
    i64 strides[N][FLARE_MAX_DIMS];
    i64 offsets[N];
    i64 len;
    i64 inner[N];
};

template <int N>
__device__ __forceinline__ i64 row_offset(const Rows<N>& g, int k, i64 r) {
    return g.offsets[k] + dims_offset(g.rank, g.sizes, g.strides[k], r);
}

// 16 bytes of T: the unit of the vectorized (16-byte load/store) paths.
template <typename T>
struct alignas(16) Pack {
    T v[16 / sizeof(T)];
};

// Packs each thread of a vectorized grid-stride loop handles per iteration: all are loaded before any is
// computed and stored, so 4 x 16 bytes per operand are in flight per thread (operands may alias for in-place
// ops, which would otherwise keep the compiler from hoisting the next load above the previous store).
#define FLARE_UNROLL 4

#define FLARE_GRID_STRIDE(i, n) \
    for (i64 i = (i64)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (i64)gridDim.x * blockDim.x)

// ------------------------------------------------------------------------------------------------------
// Loads to the compute type: float for F32/BF16/F16, double for F64, i64 for I32/I64/BOOL.
__device__ __forceinline__ float load_c(float v) { return v; }
__device__ __forceinline__ double load_c(double v) { return v; }
__device__ __forceinline__ float load_c(bf16 v) { return __bfloat162float(v); }
__device__ __forceinline__ float load_c(f16 v) { return __half2float(v); }
__device__ __forceinline__ i64 load_c(int v) { return (i64)v; }
__device__ __forceinline__ i64 load_c(i64 v) { return v; }
__device__ __forceinline__ i64 load_c(uint8_t v) { return (i64)v; }

template <typename T> struct Compute;
template <> struct Compute<float> { typedef float type; static constexpr bool fp = true; };
template <> struct Compute<double> { typedef double type; static constexpr bool fp = true; };
template <> struct Compute<bf16> { typedef float type; static constexpr bool fp = true; };
template <> struct Compute<f16> { typedef float type; static constexpr bool fp = true; };
template <> struct Compute<int> { typedef i64 type; static constexpr bool fp = false; };
template <> struct Compute<i64> { typedef i64 type; static constexpr bool fp = false; };
template <> struct Compute<uint8_t> { typedef i64 type; static constexpr bool fp = false; };

// Java's (int)/(long) casts of floating values: toward zero, saturating, NaN -> 0.
__device__ __forceinline__ int f2i(float c) { return c != c ? 0 : __float2int_rz(c); }
__device__ __forceinline__ i64 f2l(float c) { return c != c ? 0 : __float2ll_rz(c); }
__device__ __forceinline__ int d2i(double c) { return c != c ? 0 : __double2int_rz(c); }
__device__ __forceinline__ i64 d2l(double c) { return c != c ? 0 : __double2ll_rz(c); }

// Stores from a float compute value.
template <typename D> __device__ __forceinline__ D store_f(float c);
template <> __device__ __forceinline__ float store_f<float>(float c) { return c; }
template <> __device__ __forceinline__ double store_f<double>(float c) { return (double)c; }
template <> __device__ __forceinline__ bf16 store_f<bf16>(float c) { return __float2bfloat16_rn(c); }
template <> __device__ __forceinline__ f16 store_f<f16>(float c) { return __float2half_rn(c); }
template <> __device__ __forceinline__ int store_f<int>(float c) { return f2i(c); }
template <> __device__ __forceinline__ i64 store_f<i64>(float c) { return f2l(c); }
template <> __device__ __forceinline__ uint8_t store_f<uint8_t>(float c) { return c != 0.0f ? 1 : 0; }

// Stores from a double compute value.
template <typename D> __device__ __forceinline__ D store_d(double c);
template <> __device__ __forceinline__ float store_d<float>(double c) { return __double2float_rn(c); }
template <> __device__ __forceinline__ double store_d<double>(double c) { return c; }
template <> __device__ __forceinline__ bf16 store_d<bf16>(double c) { return __float2bfloat16_rn(__double2float_rn(c)); }
template <> __device__ __forceinline__ f16 store_d<f16>(double c) { return __float2half_rn(__double2float_rn(c)); }
template <> __device__ __forceinline__ int store_d<int>(double c) { return d2i(c); }
template <> __device__ __forceinline__ i64 store_d<i64>(double c) { return d2l(c); }
template <> __device__ __forceinline__ uint8_t store_d<uint8_t>(double c) { return c != 0.0 ? 1 : 0; }

// Stores from an integer compute value.
template <typename D> __device__ __forceinline__ D store_l(i64 c);
template <> __device__ __forceinline__ float store_l<float>(i64 c) { return __ll2float_rn(c); }
template <> __device__ __forceinline__ double store_l<double>(i64 c) { return __ll2double_rn(c); }
template <> __device__ __forceinline__ bf16 store_l<bf16>(i64 c) { return __float2bfloat16_rn(__ll2float_rn(c)); }
template <> __device__ __forceinline__ f16 store_l<f16>(i64 c) { return __float2half_rn(__ll2float_rn(c)); }
template <> __device__ __forceinline__ int store_l<int>(i64 c) { return (int)(unsigned int)(u64)c; }
template <> __device__ __forceinline__ i64 store_l<i64>(i64 c) { return c; }
template <> __device__ __forceinline__ uint8_t store_l<uint8_t>(i64 c) { return c != 0 ? 1 : 0; }

template <typename D> __device__ __forceinline__ D store_c(float c) { return store_f<D>(c); }
template <typename D> __device__ __forceinline__ D store_c(double c) { return store_d<D>(c); }
template <typename D> __device__ __forceinline__ D store_c(i64 c) { return store_l<D>(c); }

// ------------------------------------------------------------------------------------------------------
// Block-wide reductions (blockDim.x a multiple of 32, at most 1024). `scratch` holds 32 values.
__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}
__device__ __forceinline__ double warp_sum(double v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

// Sum over the block; every thread gets the result. Leaves scratch reusable after return.
template <typename A>
__device__ __forceinline__ A block_sum(A v, A* scratch) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
    v = warp_sum(v);
    __syncthreads();                 // scratch may still be read from a previous call
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    A r = lane < warps ? scratch[lane] : (A)0;
    r = warp_sum(r);
    return r;
}

// NaN-propagating max as the CPU computes it (v > m || v != v).
__device__ __forceinline__ float nan_max(float m, float v) { return (v > m || v != v) ? v : m; }
__device__ __forceinline__ double nan_max(double m, double v) { return (v > m || v != v) ? v : m; }

// Online softmax state: running max m and sum s of exp(x - m). Merging handles m = -inf and NaN.
template <typename C>
struct MaxSum {
    C m, s;
};

__device__ __forceinline__ float exp_c(float x) { return expf(x); }
__device__ __forceinline__ double exp_c(double x) { return exp(x); }
__device__ __forceinline__ float log_c(float x) { return logf(x); }
__device__ __forceinline__ double log_c(double x) { return log(x); }

template <typename C>
__device__ __forceinline__ MaxSum<C> maxsum_merge(MaxSum<C> a, MaxSum<C> b) {
    if (a.m != a.m || b.m != b.m) return MaxSum<C>{a.m != a.m ? a.m : b.m, a.m != a.m ? a.m : b.m};
    if (b.m > a.m) { MaxSum<C> t = a; a = b; b = t; }   // now a.m >= b.m
    if (b.s == (C)0) return a;                         // also covers b.m == -inf (empty)
    if (a.m == -(C)INFINITY) return a;                 // both empty
    MaxSum<C> r;
    r.m = a.m;
    r.s = a.s + b.s * exp_c(b.m - a.m);
    return r;
}

template <typename C>
__device__ __forceinline__ MaxSum<C> maxsum_add(MaxSum<C> st, C x) {
    if (x != x || st.m != st.m) { st.m = x != x ? x : st.m; st.s = st.m; return st; }
    if (x > st.m) {
        st.s = (st.m == -(C)INFINITY ? (C)0 : st.s * exp_c(st.m - x)) + (C)1;
        st.m = x;
    } else if (x != -(C)INFINITY) {
        st.s += exp_c(x - st.m);
    }
    return st;
}

template <typename C>
__device__ __forceinline__ MaxSum<C> warp_maxsum(MaxSum<C> v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) {
        MaxSum<C> u;
        u.m = __shfl_xor_sync(0xffffffffu, v.m, o);
        u.s = __shfl_xor_sync(0xffffffffu, v.s, o);
        v = maxsum_merge(v, u);
    }
    return v;
}

// scratch holds 64 values of C.
template <typename C>
__device__ __forceinline__ MaxSum<C> block_maxsum(MaxSum<C> v, C* scratch) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
    v = warp_maxsum(v);
    __syncthreads();
    if (lane == 0) { scratch[warp] = v.m; scratch[32 + warp] = v.s; }
    __syncthreads();
    MaxSum<C> r;
    r.m = lane < warps ? scratch[lane] : -(C)INFINITY;
    r.s = lane < warps ? scratch[32 + lane] : (C)0;
    return warp_maxsum(r);
}

}  // namespace flare
