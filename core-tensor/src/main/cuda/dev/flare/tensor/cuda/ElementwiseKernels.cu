// Elementwise kernels: copy/cast, fill, unary, binary, binary with a scalar, where.
// Launched by dev.flare.tensor.cuda.ElementwiseKernels; see flare_cuda.cuh for the conventions.
//
// Op codes are the ordinals of dev.flare.tensor.ops.UnaryOp / BinaryOp:
//   unary:  NEG 0, ABS 1, EXP 2, LOG 3, SQRT 4, RSQRT 5, SQUARE 6, RECIPROCAL 7, SIN 8, COS 9, TANH 10,
//           SIGMOID 11, RELU 12, GELU 13, SIGN 14, NOT 15
//   binary: ADD 0, SUB 1, MUL 2, DIV 3, POW 4, MAXIMUM 5, MINIMUM 6, EQ 7, NE 8, LT 9, LE 10, GT 11, GE 12,
//           AND 13, OR 14
#include "dev/flare/tensor/cuda/flare_cuda.cuh"

using namespace flare;

namespace {

// Rarely hot, large library functions are kept out of line so that the many kernel instantiations (and the
// unrolled 16-byte paths) do not each carry a copy; the hot ones (GELU, arithmetic, sqrt) stay inline.
__device__ __noinline__ float exp_ni(float x) { return expf(x); }
__device__ __noinline__ float log_ni(float x) { return logf(x); }
__device__ __noinline__ float sin_ni(float x) { return sinf(x); }
__device__ __noinline__ float cos_ni(float x) { return cosf(x); }
__device__ __noinline__ float tanh_ni(float x) { return tanhf(x); }
__device__ __noinline__ double exp_ni(double x) { return ::exp(x); }
__device__ __noinline__ double log_ni(double x) { return ::log(x); }
__device__ __noinline__ double sin_ni(double x) { return ::sin(x); }
__device__ __noinline__ double cos_ni(double x) { return ::cos(x); }
__device__ __noinline__ double tanh_ni(double x) { return ::tanh(x); }

// ---------------------------------------------------------------------------------------------- unary
// GELU's strided and F64 path; contiguous F32/BF16/F16 go to GeluKernels.cu (fast math, same specials).
__device__ __forceinline__ float gelu_f(float x) {
    // 0.5 x (1 + tanh(u)) == x / (1 + exp(-2u)): same function, no cancellation in the negative tail.
    // gelu(-inf) is the limit -0, not -inf / inf.
    float u = 0.7978845608028654f * (x + 0.044715f * x * x * x);
    return x == -INFINITY ? -0.0f : x / (1.0f + expf(-2.0f * u));
}
__device__ __forceinline__ double gelu_d(double x) {
    double u = 0.7978845608028654 * (x + 0.044715 * x * x * x);
    return x == -INFINITY ? -0.0 : x / (1.0 + exp(-2.0 * u));
}

__device__ __forceinline__ float unary_c(int op, float x) {
    switch (op) {
        case 0: return -x;
        case 1: return fabsf(x);
        case 2: return exp_ni(x);
        case 3: return log_ni(x);
        case 4: return sqrtf(x);
        case 5: return 1.0f / sqrtf(x);
        case 6: return x * x;
        case 7: return 1.0f / x;
        case 8: return sin_ni(x);
        case 9: return cos_ni(x);
        case 10: return tanh_ni(x);
        case 11: return 1.0f / (1.0f + exp_ni(-x));
        case 12: return (x > 0.0f || x != x) ? x : 0.0f;
        case 13: return gelu_f(x);
        case 14: return x > 0.0f ? 1.0f : (x < 0.0f ? -1.0f : x);
        case 15: return x == 0.0f ? 1.0f : 0.0f;
        default: return x;
    }
}

__device__ __forceinline__ double unary_c(int op, double x) {
    switch (op) {
        case 0: return -x;
        case 1: return fabs(x);
        case 2: return exp_ni(x);
        case 3: return log_ni(x);
        case 4: return sqrt(x);
        case 5: return 1.0 / sqrt(x);
        case 6: return x * x;
        case 7: return 1.0 / x;
        case 8: return sin_ni(x);
        case 9: return cos_ni(x);
        case 10: return tanh_ni(x);
        case 11: return 1.0 / (1.0 + exp_ni(-x));
        case 12: return (x > 0.0 || x != x) ? x : 0.0;
        case 13: return gelu_d(x);
        case 14: return x > 0.0 ? 1.0 : (x < 0.0 ? -1.0 : x);
        case 15: return x == 0.0 ? 1.0 : 0.0;
        default: return x;
    }
}

__device__ __forceinline__ i64 unary_c(int op, i64 x) {
    switch (op) {
        case 0: return (i64)(0ULL - (u64)x);
        case 1: return x < 0 ? (i64)(0ULL - (u64)x) : x;
        case 6: return (i64)((u64)x * (u64)x);
        case 12: return x > 0 ? x : 0;
        case 14: return (x > 0) - (x < 0);
        case 15: return x == 0 ? 1 : 0;
        default: return x;
    }
}

// --------------------------------------------------------------------------------------------- binary
// Java's Math.pow special cases that differ from C: a NaN exponent, and |a| == 1 with an infinite exponent.
__device__ __noinline__ double jpow(double a, double b) {
    if (b != b) return b;
    if (fabs(a) == 1.0 && isinf(b)) return __longlong_as_double(0x7ff8000000000000LL);
    return pow(a, b);
}

// Java's Math.max / Math.min: NaN wins, +0 > -0.
template <typename C>
__device__ __forceinline__ C jmax(C a, C b) {
    if (a != a) return a;
    if (b != b) return b;
    if (a == (C)0 && b == (C)0) return signbit(a) ? b : a;
    return a >= b ? a : b;
}
template <typename C>
__device__ __forceinline__ C jmin(C a, C b) {
    if (a != a) return a;
    if (b != b) return b;
    if (a == (C)0 && b == (C)0) return signbit(a) ? a : b;
    return a <= b ? a : b;
}

__device__ __forceinline__ bool is_comparison(int op) { return op >= 7 && op <= 12; }

template <typename C>
__device__ __forceinline__ uint8_t compare_c(int op, C a, C b) {
    switch (op) {
        case 7: return a == b;
        case 8: return a != b;
        case 9: return a < b;
        case 10: return a <= b;
        case 11: return a > b;
        case 12: return a >= b;
        default: return 0;
    }
}

__device__ __forceinline__ float arith_c(int op, float a, float b) {
    switch (op) {
        case 0: return a + b;
        case 1: return a - b;
        case 2: return a * b;
        case 3: return a / b;
        case 4: return __double2float_rn(jpow((double)a, (double)b));
        case 5: return jmax(a, b);
        case 6: return jmin(a, b);
        case 13: return (a != 0.0f && b != 0.0f) ? 1.0f : 0.0f;
        case 14: return (a != 0.0f || b != 0.0f) ? 1.0f : 0.0f;
        default: return 0.0f;
    }
}

__device__ __forceinline__ double arith_c(int op, double a, double b) {
    switch (op) {
        case 0: return a + b;
        case 1: return a - b;
        case 2: return a * b;
        case 3: return a / b;
        case 4: return jpow(a, b);
        case 5: return jmax(a, b);
        case 6: return jmin(a, b);
        case 13: return (a != 0.0 && b != 0.0) ? 1.0 : 0.0;
        case 14: return (a != 0.0 || b != 0.0) ? 1.0 : 0.0;
        default: return 0.0;
    }
}

__device__ __forceinline__ i64 arith_c(int op, i64 a, i64 b) {
    switch (op) {
        case 0: return (i64)((u64)a + (u64)b);
        case 1: return (i64)((u64)a - (u64)b);
        case 2: return (i64)((u64)a * (u64)b);
        case 5: return a >= b ? a : b;
        case 6: return a <= b ? a : b;
        case 13: return (a != 0 && b != 0) ? 1 : 0;
        case 14: return (a != 0 || b != 0) ? 1 : 0;
        default: return 0;  // DIV/POW are rejected for integers by the op layer
    }
}

// Applies a binary op and stores to `out` (BOOL for comparisons, else T).
template <typename T, typename C>
__device__ __forceinline__ void binary_store(int op, C x, C y, void* out, i64 o) {
    if (is_comparison(op)) ((uint8_t*)out)[o] = compare_c(op, x, y);
    else ((T*)out)[o] = store_c<T>(arith_c(op, x, y));
}

// ------------------------------------------------------------------------------------- generic kernels
template <typename E>
__device__ __forceinline__ void copy_impl(const Geom<2>& g, const E* __restrict__ src, E* __restrict__ dst) {
    FLARE_GRID_STRIDE(i, g.numel) {
        i64 off[2];
        geom_offsets(g, i, off);
        dst[off[1]] = src[off[0]];
    }
}

template <typename S, typename D>
__device__ __forceinline__ void cast_impl(const Geom<2>& g, const S* __restrict__ src, D* __restrict__ dst) {
    FLARE_GRID_STRIDE(i, g.numel) {
        i64 off[2];
        geom_offsets(g, i, off);
        dst[off[1]] = store_c<D>(load_c(src[off[0]]));
    }
}

template <typename E>
__device__ __forceinline__ void fill_impl(const Geom<1>& g, E* dst, u64 bits) {
    const E v = (E)bits;  // unsigned narrowing keeps the low bytes: the pattern of the dtype's value
    FLARE_GRID_STRIDE(i, g.numel) {
        i64 off[1];
        geom_offsets(g, i, off);
        dst[off[0]] = v;
    }
}

// x and out may be the very same view (in-place): each thread reads its element before writing it.
template <typename T>
__device__ __forceinline__ void unary_impl(const Geom<2>& g, int op, const T* x, T* out) {
    FLARE_GRID_STRIDE(i, g.numel) {
        i64 off[2];
        geom_offsets(g, i, off);
        out[off[1]] = store_c<T>(unary_c(op, load_c(x[off[0]])));
    }
}

template <typename T>
__device__ __forceinline__ void binary_impl(const Geom<3>& g, int op, const T* a, const T* b, void* out) {
    FLARE_GRID_STRIDE(i, g.numel) {
        i64 off[3];
        geom_offsets(g, i, off);
        binary_store<T>(op, load_c(a[off[0]]), load_c(b[off[1]]), out, off[2]);
    }
}

// mode (integer tensors only): 0 = integral scalar, computed in 64-bit integers with `sl`;
// 1 = non-integral scalar, computed in double with `sd` and truncated on store (as the CPU backend).
template <typename T>
__device__ __forceinline__ void binary_scalar_impl(const Geom<2>& g, int op, const T* a, double sd, i64 sl, int mode,
                                                   int scalarFirst, void* out) {
    typedef typename Compute<T>::type C;
    if constexpr (Compute<T>::fp) {
        const C s = (C)sd;
        FLARE_GRID_STRIDE(i, g.numel) {
            i64 off[2];
            geom_offsets(g, i, off);
            C x = (C)load_c(a[off[0]]);
            if (scalarFirst) binary_store<T>(op, s, x, out, off[1]);
            else binary_store<T>(op, x, s, out, off[1]);
        }
    } else if (mode == 0) {
        FLARE_GRID_STRIDE(i, g.numel) {
            i64 off[2];
            geom_offsets(g, i, off);
            i64 x = (i64)load_c(a[off[0]]);
            if (scalarFirst) binary_store<T>(op, sl, x, out, off[1]);
            else binary_store<T>(op, x, sl, out, off[1]);
        }
    } else {
        FLARE_GRID_STRIDE(i, g.numel) {
            i64 off[2];
            geom_offsets(g, i, off);
            double x = (double)load_c(a[off[0]]);
            if (scalarFirst) binary_store<T>(op, sd, x, out, off[1]);
            else binary_store<T>(op, x, sd, out, off[1]);
        }
    }
}

template <typename E>
__device__ __forceinline__ void where_impl(const Geom<4>& g, const uint8_t* cond, const E* a, const E* b, E* out) {
    FLARE_GRID_STRIDE(i, g.numel) {
        i64 off[4];
        geom_offsets(g, i, off);
        out[off[3]] = cond[off[0]] ? a[off[1]] : b[off[2]];
    }
}

// ------------------------------------------------------------------------- contiguous 16-byte fast paths
// Pointers are already advanced to the first element and 16-byte aligned (checked on the host). Each thread takes
// FLARE_UNROLL packs per iteration, blockDim.x apart (coalesced), loading all of them before storing any. The op
// is a functor, so the hot ops (add, mul, GELU, ...) compile without the per-element switch of the generic ops.

// The scalar tail (fewer than one pack) is done by block 0 only: operands may alias (in-place).
#define FLARE_VEC_TAIL(n, V, body)                                                       \
    if (blockIdx.x == 0) {                                                               \
        i64 t = ((n) / (V)) * (V) + threadIdx.x;                                         \
        if (t < (n)) { body; }                                                           \
    }

// out[i] = f(a[i]) over nv packs of T.
template <typename T, typename F>
__device__ __forceinline__ void map1_vec(i64 nv, const Pack<T>* a, Pack<T>* out, F f) {
    constexpr int V = 16 / sizeof(T), U = FLARE_UNROLL;
    const i64 step = (i64)gridDim.x * blockDim.x * U;
    for (i64 base = (i64)blockIdx.x * blockDim.x * U + threadIdx.x; base < nv; base += step) {
        Pack<T> p[U];
#pragma unroll
        for (int u = 0; u < U; ++u)
            if (base + u * blockDim.x < nv) p[u] = a[base + u * blockDim.x];
#pragma unroll
        for (int u = 0; u < U; ++u) {
            if (base + u * blockDim.x >= nv) continue;
#pragma unroll
            for (int j = 0; j < V; ++j) p[u].v[j] = store_c<T>(f(load_c(p[u].v[j])));
            out[base + u * blockDim.x] = p[u];
        }
    }
}

// out[i] = f(a[i], b[i]) over nv packs of T.
template <typename T, typename F>
__device__ __forceinline__ void map2_vec(i64 nv, const Pack<T>* a, const Pack<T>* b, Pack<T>* out, F f) {
    constexpr int V = 16 / sizeof(T), U = FLARE_UNROLL;
    const i64 step = (i64)gridDim.x * blockDim.x * U;
    for (i64 base = (i64)blockIdx.x * blockDim.x * U + threadIdx.x; base < nv; base += step) {
        Pack<T> p[U], q[U];
#pragma unroll
        for (int u = 0; u < U; ++u)
            if (base + u * blockDim.x < nv) {
                p[u] = a[base + u * blockDim.x];
                q[u] = b[base + u * blockDim.x];
            }
#pragma unroll
        for (int u = 0; u < U; ++u) {
            if (base + u * blockDim.x >= nv) continue;
#pragma unroll
            for (int j = 0; j < V; ++j) p[u].v[j] = store_c<T>(f(load_c(p[u].v[j]), load_c(q[u].v[j])));
            out[base + u * blockDim.x] = p[u];
        }
    }
}

template <typename T, typename F>
__device__ __forceinline__ void unary_vec_run(i64 n, const T* x, T* out, F f) {
    constexpr int V = 16 / sizeof(T);
    map1_vec<T>(n / V, reinterpret_cast<const Pack<T>*>(x), reinterpret_cast<Pack<T>*>(out), f);
    FLARE_VEC_TAIL(n, V, out[t] = store_c<T>(f(load_c(x[t]))))
}

template <typename T>
__device__ __forceinline__ void unary_vec_impl(i64 n, int op, const T* x, T* out) {
    switch (op) {
        case 13: unary_vec_run<T>(n, x, out, [](float v) { return gelu_f(v); }); break;
        case 0: unary_vec_run<T>(n, x, out, [](float v) { return -v; }); break;
        case 6: unary_vec_run<T>(n, x, out, [](float v) { return v * v; }); break;
        default: unary_vec_run<T>(n, x, out, [op](float v) { return unary_c(op, v); }); break;
    }
}

template <typename T, typename F>
__device__ __forceinline__ void binary_vec_run(i64 n, const T* a, const T* b, T* out, F f) {
    constexpr int V = 16 / sizeof(T);
    map2_vec<T>(n / V, reinterpret_cast<const Pack<T>*>(a), reinterpret_cast<const Pack<T>*>(b),
                reinterpret_cast<Pack<T>*>(out), f);
    FLARE_VEC_TAIL(n, V, out[t] = store_c<T>(f(load_c(a[t]), load_c(b[t]))))
}

template <typename T>
__device__ __forceinline__ void binary_vec_impl(i64 n, int op, const T* a, const T* b, T* out) {
    switch (op) {
        case 0: binary_vec_run<T>(n, a, b, out, [](float x, float y) { return x + y; }); break;
        case 1: binary_vec_run<T>(n, a, b, out, [](float x, float y) { return x - y; }); break;
        case 2: binary_vec_run<T>(n, a, b, out, [](float x, float y) { return x * y; }); break;
        case 3: binary_vec_run<T>(n, a, b, out, [](float x, float y) { return x / y; }); break;
        default: binary_vec_run<T>(n, a, b, out, [op](float x, float y) { return arith_c(op, x, y); }); break;
    }
}

// out[i] = f(a[i], b) over nv packs of T, where the broadcast operand b repeats every `period` packs (a row vector
// added to every row: bias, LayerNorm weight) or, with `rows`, holds one element per run of `period` packs (a
// column: per-row scales). Pack counts fit in 32 bits (checked on the host), so the index math is 32-bit.
template <typename T, typename F>
__device__ __forceinline__ void map2_bcast_vec(unsigned nv, const Pack<T>* a, const T* b, Pack<T>* out,
                                               unsigned period, bool rows, F f) {
    constexpr int V = 16 / sizeof(T), U = FLARE_UNROLL;
    const unsigned step = gridDim.x * blockDim.x * U;
    const Pack<T>* bp = reinterpret_cast<const Pack<T>*>(b);
    for (unsigned base = blockIdx.x * blockDim.x * U + threadIdx.x; base < nv; base += step) {
        Pack<T> p[U], q[U];
#pragma unroll
        for (int u = 0; u < U; ++u) {
            const unsigned k = base + u * blockDim.x;
            if (k >= nv) continue;
            p[u] = a[k];
            if (rows) {
                const T v = b[k / period];
#pragma unroll
                for (int j = 0; j < V; ++j) q[u].v[j] = v;
            } else {
                q[u] = bp[k % period];
            }
        }
#pragma unroll
        for (int u = 0; u < U; ++u) {
            if (base + u * blockDim.x >= nv) continue;
#pragma unroll
            for (int j = 0; j < V; ++j) p[u].v[j] = store_c<T>(f(load_c(p[u].v[j]), load_c(q[u].v[j])));
            out[base + u * blockDim.x] = p[u];
        }
    }
}

// a is the full operand; bFirst puts the broadcast operand on the left of the op (b - a, b / a).
template <typename T, typename F>
__device__ __forceinline__ void binary_bcast_run(i64 nv, const T* a, const T* b, T* out, unsigned period, bool rows,
                                                 bool bFirst, F f) {
    const Pack<T>* ap = reinterpret_cast<const Pack<T>*>(a);
    Pack<T>* op = reinterpret_cast<Pack<T>*>(out);
    if (bFirst) map2_bcast_vec<T>((unsigned)nv, ap, b, op, period, rows, [f](float x, float y) { return f(y, x); });
    else map2_bcast_vec<T>((unsigned)nv, ap, b, op, period, rows, f);
}

template <typename T>
__device__ __forceinline__ void binary_bcast_vec_impl(i64 nv, int op, const T* a, const T* b, T* out, unsigned period,
                                                      bool rows, bool bFirst) {
    switch (op) {
        case 0: binary_bcast_run<T>(nv, a, b, out, period, rows, bFirst, [](float x, float y) { return x + y; }); break;
        case 1: binary_bcast_run<T>(nv, a, b, out, period, rows, bFirst, [](float x, float y) { return x - y; }); break;
        case 2: binary_bcast_run<T>(nv, a, b, out, period, rows, bFirst, [](float x, float y) { return x * y; }); break;
        case 3: binary_bcast_run<T>(nv, a, b, out, period, rows, bFirst, [](float x, float y) { return x / y; }); break;
        default: binary_bcast_run<T>(nv, a, b, out, period, rows, bFirst, [op](float x, float y) { return arith_c(op, x, y); }); break;
    }
}

// out = f(a, b) with b a row vector of cpacks packs repeated over `rows` contiguous rows (bias adds). Block (32, 8):
// x = a column pack within a 32-pack slab, y = a row lane; each thread loads its pack of b once and streams
// kRowvecRows rows per pass. map2_bcast_vec's layout (a flat index, b re-read and a division per pack) reached 69% / 76%
// of copy bandwidth on an H100 for 16384 x 768 / 3072 bf16; this one 96-101% (core-tensor/src/test/cuda/bias_add_bench.cu).
static constexpr int kRowvecRows = 2;
template <typename T, typename F>
__device__ __forceinline__ void map2_rowvec(i64 rows, int cpacks, const Pack<T>* a, const Pack<T>* b, Pack<T>* out, F f) {
    constexpr int V = 16 / sizeof(T), R = kRowvecRows;
    const int c = blockIdx.x * 32 + threadIdx.x;
    if (c >= cpacks) return;
    const Pack<T> bp = b[c];
    for (i64 r0 = (i64)blockIdx.y * 8 * R + threadIdx.y; r0 < rows; r0 += (i64)gridDim.y * 8 * R) {
        Pack<T> p[R];
#pragma unroll
        for (int i = 0; i < R; ++i)
            if (r0 + 8 * i < rows) p[i] = a[(r0 + 8 * i) * cpacks + c];
#pragma unroll
        for (int i = 0; i < R; ++i) {
            if (r0 + 8 * i >= rows) continue;
#pragma unroll
            for (int j = 0; j < V; ++j) p[i].v[j] = store_c<T>(f(load_c(p[i].v[j]), load_c(bp.v[j])));
            out[(r0 + 8 * i) * cpacks + c] = p[i];
        }
    }
}

template <typename T, typename F>
__device__ __forceinline__ void rowvec_run(i64 rows, int cpacks, const T* a, const T* b, T* out, bool bFirst, F f) {
    const Pack<T>* ap = reinterpret_cast<const Pack<T>*>(a);
    const Pack<T>* bp = reinterpret_cast<const Pack<T>*>(b);
    Pack<T>* op = reinterpret_cast<Pack<T>*>(out);
    if (bFirst) map2_rowvec<T>(rows, cpacks, ap, bp, op, [f](float x, float y) { return f(y, x); });
    else map2_rowvec<T>(rows, cpacks, ap, bp, op, f);
}

template <typename T>
__device__ __forceinline__ void binary_rowvec_vec_impl(i64 rows, int cpacks, int op, const T* a, const T* b, T* out,
                                                       bool bFirst) {
    switch (op) {
        case 0: rowvec_run<T>(rows, cpacks, a, b, out, bFirst, [](float x, float y) { return x + y; }); break;
        case 1: rowvec_run<T>(rows, cpacks, a, b, out, bFirst, [](float x, float y) { return x - y; }); break;
        case 2: rowvec_run<T>(rows, cpacks, a, b, out, bFirst, [](float x, float y) { return x * y; }); break;
        case 3: rowvec_run<T>(rows, cpacks, a, b, out, bFirst, [](float x, float y) { return x / y; }); break;
        default: rowvec_run<T>(rows, cpacks, a, b, out, bFirst, [op](float x, float y) { return arith_c(op, x, y); }); break;
    }
}

template <typename T>
__device__ __forceinline__ void binary_scalar_vec_impl(i64 n, int op, const T* a, float s, int scalarFirst, T* out) {
    if (op == 0) unary_vec_run<T>(n, a, out, [s](float x) { return x + s; });
    else if (op == 2) unary_vec_run<T>(n, a, out, [s](float x) { return x * s; });
    else if (scalarFirst) unary_vec_run<T>(n, a, out, [op, s](float x) { return arith_c(op, s, x); });
    else unary_vec_run<T>(n, a, out, [op, s](float x) { return arith_c(op, x, s); });
}

// Casts between F32 and BF16/F16, 8 elements (one 16-byte half pack, two float4) at a time.
template <typename S, typename D>
__device__ __forceinline__ void cast_vec_impl(i64 n, const S* __restrict__ src, D* __restrict__ dst) {
    constexpr int U = FLARE_UNROLL;
    struct alignas(16) Eight { S v[8]; };
    struct alignas(16) EightD { D v[8]; };
    const i64 n8 = n / 8;
    const Eight* sv = reinterpret_cast<const Eight*>(src);
    EightD* dv = reinterpret_cast<EightD*>(dst);
    const i64 step = (i64)gridDim.x * blockDim.x * U;
    for (i64 base = (i64)blockIdx.x * blockDim.x * U + threadIdx.x; base < n8; base += step) {
        Eight p[U];
#pragma unroll
        for (int u = 0; u < U; ++u)
            if (base + u * blockDim.x < n8) p[u] = sv[base + u * blockDim.x];
#pragma unroll
        for (int u = 0; u < U; ++u) {
            if (base + u * blockDim.x >= n8) continue;
            EightD q;
#pragma unroll
            for (int j = 0; j < 8; ++j) q.v[j] = store_c<D>(load_c(p[u].v[j]));
            dv[base + u * blockDim.x] = q;
        }
    }
    FLARE_VEC_TAIL(n, 8, dst[t] = store_c<D>(load_c(src[t])))
}

}  // namespace

// ------------------------------------------------------------------------------------------ entry points
#define E_COPY(SUF, E) \
    extern "C" __global__ void copy_##SUF(Geom<2> g, const E* src, E* dst) { copy_impl<E>(g, src, dst); }
E_COPY(e1, uint8_t)
E_COPY(e2, uint16_t)
E_COPY(e4, uint32_t)
E_COPY(e8, u64)

#define E_FILL(SUF, E) \
    extern "C" __global__ void fill_##SUF(Geom<1> g, E* dst, u64 bits) { fill_impl<E>(g, dst, bits); }
E_FILL(e1, uint8_t)
E_FILL(e2, uint16_t)
E_FILL(e4, uint32_t)
E_FILL(e8, u64)

#define E_WHERE(SUF, E)                                                                                  \
    extern "C" __global__ void where_##SUF(Geom<4> g, const uint8_t* cond, const E* a, const E* b, E* out) { \
        where_impl<E>(g, cond, a, b, out);                                                               \
    }
E_WHERE(e1, uint8_t)
E_WHERE(e2, uint16_t)
E_WHERE(e4, uint32_t)
E_WHERE(e8, u64)

// Casts between any two dtypes, the types chosen at run time (dtype codes = DType ordinals: F32 0, F64 1,
// BF16 2, F16 3, I32 4, I64 5, BOOL 6). Floating sources convert through double (exact for every source
// type, and double -> float -> half rounds as the CPU does); integer sources through 64-bit integers.
__device__ __forceinline__ bool dt_fp(int t) { return t <= 3; }

__device__ __forceinline__ double load_any_d(int t, const void* p, i64 o) {
    switch (t) {
        case 0: return (double)((const float*)p)[o];
        case 1: return ((const double*)p)[o];
        case 2: return (double)__bfloat162float(((const bf16*)p)[o]);
        default: return (double)__half2float(((const f16*)p)[o]);
    }
}
__device__ __forceinline__ i64 load_any_l(int t, const void* p, i64 o) {
    switch (t) {
        case 4: return (i64)((const int*)p)[o];
        case 5: return ((const i64*)p)[o];
        default: return (i64)((const uint8_t*)p)[o];
    }
}
template <typename C>
__device__ __forceinline__ void store_any(int t, void* p, i64 o, C v) {
    switch (t) {
        case 0: ((float*)p)[o] = store_c<float>(v); break;
        case 1: ((double*)p)[o] = store_c<double>(v); break;
        case 2: ((bf16*)p)[o] = store_c<bf16>(v); break;
        case 3: ((f16*)p)[o] = store_c<f16>(v); break;
        case 4: ((int*)p)[o] = store_c<int>(v); break;
        case 5: ((i64*)p)[o] = store_c<i64>(v); break;
        default: ((uint8_t*)p)[o] = store_c<uint8_t>(v); break;
    }
}

extern "C" __global__ void cast_any(Geom<2> g, int srcType, int dstType, const void* src, void* dst) {
    if (dt_fp(srcType)) {
        FLARE_GRID_STRIDE(i, g.numel) {
            i64 off[2];
            geom_offsets(g, i, off);
            store_any(dstType, dst, off[1], load_any_d(srcType, src, off[0]));
        }
    } else {
        FLARE_GRID_STRIDE(i, g.numel) {
            i64 off[2];
            geom_offsets(g, i, off);
            store_any(dstType, dst, off[1], load_any_l(srcType, src, off[0]));
        }
    }
}

// Typed casts for the pairs mixed precision uses all the time.
#define E_CAST(SS, S, DS, D) \
    extern "C" __global__ void cast_##SS##_##DS(Geom<2> g, const S* src, D* dst) { cast_impl<S, D>(g, src, dst); }
E_CAST(f32, float, bf16, bf16)
E_CAST(bf16, bf16, f32, float)
E_CAST(f32, float, f16, f16)
E_CAST(f16, f16, f32, float)

#define E_CAST_VEC(SS, S, DS, D)                                                                  \
    extern "C" __global__ void cast_vec_##SS##_##DS(i64 n, const S* src, D* dst) {                \
        cast_vec_impl<S, D>(n, src, dst);                                                         \
    }
E_CAST_VEC(f32, float, bf16, bf16)
E_CAST_VEC(bf16, bf16, f32, float)
E_CAST_VEC(f32, float, f16, f16)
E_CAST_VEC(f16, f16, f32, float)

#define E_TYPED(SUF, T)                                                                                           \
    extern "C" __global__ void unary_##SUF(Geom<2> g, int op, const T* x, T* out) { unary_impl<T>(g, op, x, out); } \
    extern "C" __global__ void binary_##SUF(Geom<3> g, int op, const T* a, const T* b, void* out) {                \
        binary_impl<T>(g, op, a, b, out);                                                                         \
    }                                                                                                             \
    extern "C" __global__ void binary_scalar_##SUF(Geom<2> g, int op, const T* a, double sd, i64 sl, int mode,     \
                                                   int scalarFirst, void* out) {                                  \
        binary_scalar_impl<T>(g, op, a, sd, sl, mode, scalarFirst, out);                                          \
    }
E_TYPED(f32, float)
E_TYPED(f64, double)
E_TYPED(bf16, bf16)
E_TYPED(f16, f16)
E_TYPED(i32, int)
E_TYPED(i64, i64)
E_TYPED(b8, uint8_t)

#define E_VEC(SUF, T)                                                                                  \
    extern "C" __global__ void unary_vec_##SUF(i64 n, int op, const T* x, T* out) {                    \
        unary_vec_impl<T>(n, op, x, out);                                                              \
    }                                                                                                  \
    extern "C" __global__ void binary_vec_##SUF(i64 n, int op, const T* a, const T* b, T* out) {       \
        binary_vec_impl<T>(n, op, a, b, out);                                                          \
    }                                                                                                  \
    extern "C" __global__ void binary_bcast_vec_##SUF(i64 nv, int op, const T* a, const T* b, T* out,  \
                                                      unsigned period, int rows, int bFirst) {         \
        binary_bcast_vec_impl<T>(nv, op, a, b, out, period, rows != 0, bFirst != 0);                   \
    }                                                                                                  \
    extern "C" __global__ void __launch_bounds__(256)                                                  \
        binary_rowvec_vec_##SUF(i64 rows, int cpacks, int op, const T* a, const T* b, T* out, int bFirst) { \
        binary_rowvec_vec_impl<T>(rows, cpacks, op, a, b, out, bFirst != 0);                           \
    }                                                                                                  \
    extern "C" __global__ void binary_scalar_vec_##SUF(i64 n, int op, const T* a, float s, int scalarFirst, \
                                                       T* out) {                                       \
        binary_scalar_vec_impl<T>(n, op, a, s, scalarFirst, out);                                      \
    }
E_VEC(f32, float)
E_VEC(bf16, bf16)
E_VEC(f16, f16)
