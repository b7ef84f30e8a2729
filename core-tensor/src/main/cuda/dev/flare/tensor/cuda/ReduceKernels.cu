// Reductions over dims (sum, mean, max, min) and argmax/argmin along one dim.
// Launched by dev.flare.tensor.cuda.ReduceKernels; see flare_cuda.cuh for the conventions.
//
// The host splits x's dims into kept dims (those of the output) and reduced dims, each coalesced to at most 8.
// Floating-point inputs accumulate in double (sums as the CPU backend does; max/min are exact in double), integer
// and BOOL inputs in 64-bit integers. MAX/MIN propagate NaN. Op codes: SUM 0, MEAN 1, MAX 2, MIN 3.
//
// Strategies: "inner" (a warp or a block per output, reading the reduced elements of one output together; best
// when the reduced dims are innermost in memory), "outer" (32 adjacent outputs per block, each column read by 16
// lanes; best when a kept dim is innermost; "cols_vec" is its 16-byte form for contiguous matrices). "outer",
// "cols_vec" and the block variant of "inner" split the reduced elements into chunks when there are too few outputs
// to fill the GPU (partials per (output, split), then reduce_finish or reduce_cols_finish).
#include "dev/flare/tensor/cuda/flare_cuda.cuh"

using namespace flare;

struct RGeom {
    i64 keptRank, keptNumel;
    i64 keptSizes[FLARE_MAX_DIMS];
    i64 keptStridesX[FLARE_MAX_DIMS];
    i64 keptStridesOut[FLARE_MAX_DIMS];
    i64 redRank, redNumel;
    i64 redSizes[FLARE_MAX_DIMS];
    i64 redStridesX[FLARE_MAX_DIMS];
    i64 offX, offOut;
};

namespace {

enum { OP_SUM = 0, OP_MEAN = 1, OP_MAX = 2, OP_MIN = 3 };

template <typename T> struct Acc { typedef typename Compute<T>::type C; typedef double type; };
template <> struct Acc<int> { typedef i64 type; };
template <> struct Acc<i64> { typedef i64 type; };
template <> struct Acc<uint8_t> { typedef i64 type; };

template <typename A> __device__ __forceinline__ A lowest();
template <> __device__ __forceinline__ double lowest<double>() { return -INFINITY; }
template <> __device__ __forceinline__ i64 lowest<i64>() { return (i64)0x8000000000000000ULL; }
template <typename A> __device__ __forceinline__ A highest();
template <> __device__ __forceinline__ double highest<double>() { return INFINITY; }
template <> __device__ __forceinline__ i64 highest<i64>() { return 0x7fffffffffffffffLL; }

template <typename A>
__device__ __forceinline__ A identity(int op) {
    return op == OP_MAX ? lowest<A>() : (op == OP_MIN ? highest<A>() : (A)0);
}

template <typename A>
__device__ __forceinline__ A combine(int op, A a, A b) {
    switch (op) {
        case OP_MAX: return (b > a || b != b) ? b : a;
        case OP_MIN: return (b < a || b != b) ? b : a;
        default: return a + b;
    }
}

template <typename A>
__device__ __forceinline__ A warp_combine(int op, A v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v = combine(op, v, (A)__shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

template <typename T>
__device__ __forceinline__ typename Acc<T>::type load_acc(const T* x, i64 o) {
    return (typename Acc<T>::type)load_c(x[o]);
}

__device__ __forceinline__ i64 kept_offset(const RGeom& g, i64 o, bool out) {
    return dims_offset(g.keptRank, g.keptSizes, out ? g.keptStridesOut : g.keptStridesX, o);
}

// Offset of reduced element j.
__device__ __forceinline__ i64 red_offset(const RGeom& g, i64 j) {
    return dims_offset(g.redRank, g.redSizes, g.redStridesX, j);
}

template <typename O, typename A>
__device__ __forceinline__ void store_result(int op, const RGeom& g, O* out, i64 o, A acc) {
    i64 oo = g.offOut + kept_offset(g, o, true);
    if (op == OP_MEAN) out[oo] = store_c<O>((double)acc / (double)g.redNumel);
    else out[oo] = store_c<O>(acc);
}

// Accumulates reduced elements [from, to) of output o, stepping by `step` from `lane`.
template <typename T>
__device__ __forceinline__ typename Acc<T>::type accumulate(int op, const RGeom& g, const T* x, i64 base, i64 from,
                                                            i64 to, int lane, int step) {
    typedef typename Acc<T>::type A;
    A acc = identity<A>(op);
    if (g.redRank == 1) {
        const i64 s = g.redStridesX[0];
        for (i64 j = from + lane; j < to; j += step) acc = combine(op, acc, load_acc(x, base + j * s));
    } else {
        for (i64 j = from + lane; j < to; j += step) acc = combine(op, acc, load_acc(x, base + red_offset(g, j)));
    }
    return acc;
}

// One warp per output; blockDim.x = 256 (8 outputs per block).
template <typename T, typename O>
__device__ void reduce_warp(const RGeom& g, int op, const T* x, O* out) {
    const int lane = threadIdx.x & 31;
    const i64 warpsPerGrid = (i64)gridDim.x * (blockDim.x >> 5);
    for (i64 o = (i64)blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5); o < g.keptNumel; o += warpsPerGrid) {
        i64 base = g.offX + kept_offset(g, o, false);
        auto acc = accumulate(op, g, x, base, 0, g.redNumel, lane, 32);
        acc = warp_combine(op, acc);
        if (lane == 0) store_result(op, g, out, o, acc);
    }
}

// One block per (output, split); with splits == 1 the result goes to out, else to partial[o * splits + split].
template <typename T, typename O>
__device__ void reduce_block(const RGeom& g, int op, const T* x, O* out, int splits, typename Acc<T>::type* partial) {
    typedef typename Acc<T>::type A;
    __shared__ A scratch[32];
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    const i64 chunk = (g.redNumel + splits - 1) / splits;
    const i64 items = g.keptNumel * splits;
    for (i64 item = blockIdx.x; item < items; item += gridDim.x) {
        const i64 o = item / splits;
        const int split = (int)(item - o * splits);
        const i64 from = split * chunk, to = min(g.redNumel, from + chunk);
        i64 base = g.offX + kept_offset(g, o, false);
        A acc = accumulate(op, g, x, base, from, to, threadIdx.x, blockDim.x);
        acc = warp_combine(op, acc);
        __syncthreads();
        if (lane == 0) scratch[warp] = acc;
        __syncthreads();
        if (warp == 0) {
            A v = lane < warps ? scratch[lane] : identity<A>(op);
            v = warp_combine(op, v);
            if (lane == 0) {
                if (splits == 1) store_result(op, g, out, o, v);
                else partial[item] = v;
            }
        }
    }
}

template <typename T, typename O>
__device__ void reduce_finish(const RGeom& g, int op, int splits, const typename Acc<T>::type* partial, O* out) {
    FLARE_GRID_STRIDE(o, g.keptNumel) {
        typename Acc<T>::type acc = identity<typename Acc<T>::type>(op);
        for (int s = 0; s < splits; ++s) acc = combine(op, acc, partial[o * splits + s]);
        store_result(op, g, out, o, acc);
    }
}

// 32 adjacent outputs per block (threadIdx.x), 16 lanes over the reduced elements (threadIdx.y); blockIdx.y picks
// one of `splits` chunks of the reduced elements, so that a few hundred outputs over many rows (bias gradients:
// 768 columns of 16384 rows) still fill the GPU. With splits == 1 the result goes to out, else to
// partial[o * splits + split] for reduce_finish.
template <typename T, typename O>
__device__ void reduce_outer(const RGeom& g, int op, const T* x, O* out, int splits, typename Acc<T>::type* partial) {
    typedef typename Acc<T>::type A;
    __shared__ A scratch[16][33];
    const i64 tiles = (g.keptNumel + 31) / 32;
    const i64 chunk = (g.redNumel + splits - 1) / splits;
    const int split = blockIdx.y;
    const i64 from = split * chunk, to = min(g.redNumel, from + chunk);
    for (i64 tile = blockIdx.x; tile < tiles; tile += gridDim.x) {
        const i64 o = tile * 32 + threadIdx.x;
        A acc = identity<A>(op);
        if (o < g.keptNumel) {
            i64 base = g.offX + kept_offset(g, o, false);
            acc = accumulate(op, g, x, base, from, to, threadIdx.y, blockDim.y);
        }
        __syncthreads();
        scratch[threadIdx.y][threadIdx.x] = acc;
        __syncthreads();
        if (threadIdx.y == 0 && o < g.keptNumel) {
            A v = scratch[0][threadIdx.x];
            for (int k = 1; k < (int)blockDim.y; ++k) v = combine(op, v, scratch[k][threadIdx.x]);
            if (splits == 1) store_result(op, g, out, o, v);
            else partial[o * splits + split] = v;
        }
    }
}

// "outer" for a contiguous (rows, cols) matrix on a 16-byte boundary with cols a multiple of V = 16 / sizeof(T)
// (bias gradients): each thread reads V adjacent columns as one 16-byte pack per row (the scalar kernel reads 2
// bytes per lane: a warp's request is 64 bytes), so a block of 32 x 8 threads covers 32 V columns; blockIdx.y picks
// a chunk of rows. Loads go out in batches of 8 rows per thread before any is summed, so that a few blocks per SM keep
// enough bytes in flight (a 768-column bias gradient has only 3 column tiles). With splits > 1 the chunk's results go
// to partial[split * cols + o] (split-major, so that reduce_cols_finish reads them coalesced).
template <typename T, typename O>
__device__ void reduce_cols_vec(const RGeom& g, int op, const T* x, O* out, int splits, typename Acc<T>::type* partial) {
    typedef typename Acc<T>::type A;
    constexpr int V = 16 / sizeof(T), LANES = 8, BATCH = 8;
    __shared__ A scratch[LANES][32 * V];
    const i64 cols = g.keptNumel, rows = g.redNumel;
    const i64 chunk = (rows + splits - 1) / splits;
    const int split = blockIdx.y;
    const i64 from = split * chunk, to = min(rows, from + chunk);
    const i64 tileCol = (i64)blockIdx.x * 32 * V;
    const i64 col = tileCol + threadIdx.x * V;
    A acc[V];
#pragma unroll
    for (int j = 0; j < V; ++j) acc[j] = identity<A>(op);
    if (col < cols) {
        const Pack<T>* p = reinterpret_cast<const Pack<T>*>(x + g.offX + col);
        const i64 rowPacks = cols / V;
        i64 r = from + threadIdx.y;
        for (; r + (BATCH - 1) * LANES < to; r += BATCH * LANES) {
            Pack<T> v[BATCH];
#pragma unroll
            for (int u = 0; u < BATCH; ++u) v[u] = p[(r + u * LANES) * rowPacks];
#pragma unroll
            for (int u = 0; u < BATCH; ++u)
#pragma unroll
                for (int j = 0; j < V; ++j) acc[j] = combine(op, acc[j], (A)load_c(v[u].v[j]));
        }
        for (; r < to; r += LANES) {
            const Pack<T> v = p[r * rowPacks];
#pragma unroll
            for (int j = 0; j < V; ++j) acc[j] = combine(op, acc[j], (A)load_c(v.v[j]));
        }
    }
#pragma unroll
    for (int j = 0; j < V; ++j) scratch[threadIdx.y][threadIdx.x * V + j] = acc[j];
    __syncthreads();
    for (int c = threadIdx.y * 32 + threadIdx.x; c < 32 * V; c += 32 * LANES) {
        const i64 o = tileCol + c;
        if (o >= cols) break;
        A v = scratch[0][c];
        for (int k = 1; k < LANES; ++k) v = combine(op, v, scratch[k][c]);
        if (splits == 1) store_result(op, g, out, o, v);
        else partial[split * cols + o] = v;
    }
}

// Combines reduce_cols_vec's split-major partials: 32 columns per block (threadIdx.x), 8 lanes (threadIdx.y) over the
// splits, then the lanes in a fixed order, so the result is the same run to run.
template <typename T, typename O>
__device__ void reduce_cols_finish(const RGeom& g, int op, int splits, const typename Acc<T>::type* partial, O* out) {
    typedef typename Acc<T>::type A;
    constexpr int LANES = 8;
    __shared__ A scratch[LANES][32];
    const i64 cols = g.keptNumel;
    const i64 o = (i64)blockIdx.x * 32 + threadIdx.x;
    A acc = identity<A>(op);
    if (o < cols)
        for (int s = threadIdx.y; s < splits; s += LANES) acc = combine(op, acc, partial[s * cols + o]);
    scratch[threadIdx.y][threadIdx.x] = acc;
    __syncthreads();
    if (threadIdx.y == 0 && o < cols) {
        A v = scratch[0][threadIdx.x];
        for (int k = 1; k < LANES; ++k) v = combine(op, v, scratch[k][threadIdx.x]);
        store_result(op, g, out, o, v);
    }
}

// ------------------------------------------------------------------------------------------- argmax/argmin
struct AGeom {
    i64 keptRank, keptNumel;
    i64 keptSizes[FLARE_MAX_DIMS];
    i64 keptStridesX[FLARE_MAX_DIMS];
    i64 keptStridesOut[FLARE_MAX_DIMS];
    i64 len, stride;  // the reduced dim
    i64 offX, offOut;
};

template <typename V>
struct Arg {
    V v;
    i64 i;
};

// True when b beats a: NaN counts as the extreme, ties go to the lower index.
template <typename V>
__device__ __forceinline__ bool arg_better(Arg<V> a, Arg<V> b, int isMax) {
    bool an = a.v != a.v, bn = b.v != b.v;
    if (an || bn) return (an && bn) ? b.i < a.i : bn;
    if (b.v == a.v) return b.i < a.i;
    return isMax ? b.v > a.v : b.v < a.v;
}

template <typename V>
__device__ __forceinline__ Arg<V> warp_arg(Arg<V> a, int isMax) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) {
        Arg<V> b;
        b.v = __shfl_xor_sync(0xffffffffu, a.v, o);
        b.i = __shfl_xor_sync(0xffffffffu, a.i, o);
        if (arg_better(a, b, isMax)) a = b;
    }
    return a;
}

template <typename T>
__device__ void argreduce(const AGeom& g, int isMax, const T* x, i64* out) {
    typedef typename Acc<T>::type V;
    __shared__ V sv[32];
    __shared__ i64 si[32];
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    for (i64 o = blockIdx.x; o < g.keptNumel; o += gridDim.x) {
        const i64 base = g.offX + dims_offset(g.keptRank, g.keptSizes, g.keptStridesX, o);
        Arg<V> best;
        best.v = isMax ? lowest<V>() : highest<V>();
        best.i = 0x7fffffffffffffffLL;
        for (i64 j = threadIdx.x; j < g.len; j += blockDim.x) {
            Arg<V> c;
            c.v = (V)load_c(x[base + j * g.stride]);
            c.i = j;
            if (arg_better(best, c, isMax)) best = c;
        }
        best = warp_arg(best, isMax);
        __syncthreads();
        if (lane == 0) { sv[warp] = best.v; si[warp] = best.i; }
        __syncthreads();
        if (warp == 0) {
            Arg<V> a;
            a.v = lane < warps ? sv[lane] : (isMax ? lowest<V>() : highest<V>());
            a.i = lane < warps ? si[lane] : 0x7fffffffffffffffLL;
            a = warp_arg(a, isMax);
            if (lane == 0) out[g.offOut + dims_offset(g.keptRank, g.keptSizes, g.keptStridesOut, o)] = a.i;
        }
    }
}

}  // namespace

#define R_KERNELS(SUF, T, O)                                                                                       \
    extern "C" __global__ void reduce_warp_##SUF(RGeom g, int op, const T* x, O* out) { reduce_warp<T, O>(g, op, x, out); } \
    extern "C" __global__ void reduce_block_##SUF(RGeom g, int op, const T* x, O* out, int splits,                  \
                                                  Acc<T>::type* partial) {                                        \
        reduce_block<T, O>(g, op, x, out, splits, partial);                                                       \
    }                                                                                                             \
    extern "C" __global__ void reduce_finish_##SUF(RGeom g, int op, int splits, const Acc<T>::type* partial, O* out) { \
        reduce_finish<T, O>(g, op, splits, partial, out);                                                         \
    }                                                                                                             \
    extern "C" __global__ void reduce_outer_##SUF(RGeom g, int op, const T* x, O* out, int splits,                  \
                                                  Acc<T>::type* partial) {                                        \
        reduce_outer<T, O>(g, op, x, out, splits, partial);                                                       \
    }

// The 16-byte column kernel and its finish, for the floating types.
#define R_COLS_KERNEL(SUF, T)                                                                                     \
    extern "C" __global__ void __launch_bounds__(256) reduce_cols_vec_##SUF(RGeom g, int op, const T* x, T* out,  \
                                                                         int splits, Acc<T>::type* partial) {  \
        reduce_cols_vec<T, T>(g, op, x, out, splits, partial);                                                    \
    }                                                                                                             \
    extern "C" __global__ void __launch_bounds__(256) reduce_cols_finish_##SUF(RGeom g, int op, int splits,       \
                                                                            const Acc<T>::type* partial, T* out) { \
        reduce_cols_finish<T, T>(g, op, splits, partial, out);                                                    \
    }

R_KERNELS(f32, float, float)
R_KERNELS(f64, double, double)
R_KERNELS(bf16, bf16, bf16)
R_KERNELS(f16, f16, f16)
R_KERNELS(i32, int, int)
R_KERNELS(i64, i64, i64)
R_KERNELS(b8, uint8_t, i64)  // sums of BOOL count the true elements (I64 output)
R_COLS_KERNEL(f32, float)
R_COLS_KERNEL(bf16, bf16)
R_COLS_KERNEL(f16, f16)

#define A_KERNEL(SUF, T) \
    extern "C" __global__ void argreduce_##SUF(AGeom g, int isMax, const T* x, i64* out) { argreduce<T>(g, isMax, x, out); }
A_KERNEL(f32, float)
A_KERNEL(f64, double)
A_KERNEL(bf16, bf16)
A_KERNEL(f16, f16)
A_KERNEL(i32, int)
A_KERNEL(i64, i64)
