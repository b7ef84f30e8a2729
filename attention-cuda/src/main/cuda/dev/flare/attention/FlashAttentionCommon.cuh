// Flare flash attention: shared definitions (parameter structs, Philox, small PTX wrappers).
// See docs/attention-kernels.md for the layout of the structs and the launch configurations.
#pragma once
#include <cuda_runtime.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <stdint.h>
#include <stddef.h>

// ---------------------------------------------------------------------------------------------
// Parameter structs (passed by value). Strides are in elements; the last dim is contiguous.
// Field order is chosen so that there is no hidden padding before `seed` (8-aligned at 224/288).
// ---------------------------------------------------------------------------------------------
struct FlashFwdParams {
    const void* q;      // (B, Hq, Sq, D)
    const void* k;      // (B, Hkv, Sk, D)
    const void* v;      // (B, Hkv, Sk, D)
    void* o;            // (B, Hq, Sq, D), same dtype as q
    float* lse;         // (B, Hq, Sq) contiguous fp32 (natural log)
    long long q_batch_stride, q_head_stride, q_seq_stride;
    long long k_batch_stride, k_head_stride, k_seq_stride;
    long long v_batch_stride, v_head_stride, v_seq_stride;
    long long o_batch_stride, o_head_stride, o_seq_stride;
    int B, Hq, Hkv, Sq, Sk;
    float scale;        // softmax scale (e.g. 1/sqrt(D))
    int causal;         // 0 none, 1 top-left (j <= i), 2 bottom-right (j <= i + Sk - Sq)
    int dropout;        // 0 / 1
    unsigned long long seed;
    unsigned int offset_lo;
    unsigned int drop_threshold;  // dropped iff (word >> 8) < drop_threshold  (24-bit threshold)
    float keep_scale;             // 1 / (1 - p)
    int pad0;
};

struct FlashBwdParams {
    const void* q; const void* k; const void* v; const void* o; const void* dout;
    const float* lse;   // (B, Hq, Sq) contiguous
    float* delta;       // (B, Hq, Sq) contiguous, written by the preprocess kernel
    float* dq_accum;    // (B, Hq, Sq, D) contiguous fp32; zeroed by the preprocess kernel (non-deterministic mode)
    void* dq; void* dk; void* dv;
    long long q_batch_stride, q_head_stride, q_seq_stride;
    long long k_batch_stride, k_head_stride, k_seq_stride;
    long long v_batch_stride, v_head_stride, v_seq_stride;
    long long o_batch_stride, o_head_stride, o_seq_stride;
    long long do_batch_stride, do_head_stride, do_seq_stride;
    long long dq_batch_stride, dq_head_stride, dq_seq_stride;
    long long dk_batch_stride, dk_head_stride, dk_seq_stride;
    long long dv_batch_stride, dv_head_stride, dv_seq_stride;
    int B, Hq, Hkv, Sq, Sk;
    float scale;
    int causal;
    int dropout;
    unsigned long long seed;
    unsigned int offset_lo;
    unsigned int drop_threshold;
    float keep_scale;
    int deterministic;  // 1: dkdv kernel does not touch dq_accum; run flash_bwd_dq_* instead of convert
};

// The Java side writes these structs byte by byte: keep the layout fixed.
static_assert(sizeof(void*) == 8, "64-bit only");
static_assert(offsetof(FlashFwdParams, q_batch_stride) == 40, "FlashFwdParams layout");
static_assert(offsetof(FlashFwdParams, B) == 136, "FlashFwdParams layout");
static_assert(offsetof(FlashFwdParams, scale) == 156, "FlashFwdParams layout");
static_assert(offsetof(FlashFwdParams, seed) == 168, "FlashFwdParams layout");
static_assert(offsetof(FlashFwdParams, keep_scale) == 184, "FlashFwdParams layout");
static_assert(sizeof(FlashFwdParams) == 192, "FlashFwdParams layout");
static_assert(offsetof(FlashBwdParams, q_batch_stride) == 88, "FlashBwdParams layout");
static_assert(offsetof(FlashBwdParams, B) == 280, "FlashBwdParams layout");
static_assert(offsetof(FlashBwdParams, scale) == 300, "FlashBwdParams layout");
static_assert(offsetof(FlashBwdParams, seed) == 312, "FlashBwdParams layout");
static_assert(offsetof(FlashBwdParams, deterministic) == 332, "FlashBwdParams layout");
static_assert(sizeof(FlashBwdParams) == 336, "FlashBwdParams layout");

namespace flare_attn {

static constexpr float kLog2e = 1.4426950408889634f;
static constexpr float kLn2 = 0.6931471805599453f;

// ----------------------------------------------------------------------------- Philox4x32-10
__host__ __device__ __forceinline__ uint32_t mulhi32(uint32_t a, uint32_t b) {
#ifdef __CUDA_ARCH__
    return __umulhi(a, b);
#else
    return (uint32_t)(((uint64_t)a * (uint64_t)b) >> 32);
#endif
}

__host__ __device__ __forceinline__ void philox4x32_10(uint32_t c[4], uint32_t k0, uint32_t k1) {
#pragma unroll
    for (int r = 0; r < 10; ++r) {
        if (r > 0) { k0 += 0x9E3779B9u; k1 += 0xBB67AE85u; }
        uint32_t lo0 = c[0] * 0xD2511F53u, hi0 = mulhi32(c[0], 0xD2511F53u);
        uint32_t lo1 = c[2] * 0xCD9E8D57u, hi1 = mulhi32(c[2], 0xCD9E8D57u);
        uint32_t n0 = hi1 ^ c[1] ^ k0;
        uint32_t n2 = hi0 ^ c[3] ^ k1;
        c[0] = n0; c[1] = lo1; c[2] = n2; c[3] = lo0;
    }
}

// Dropout decision for (row, col) of head bh = b*Hq + h (docs/attention.md, "Dropout mask"): Philox counter
// (col >> 4, row, bh, offset) gives the random bytes of 16 columns; column col's byte is byte col & 3 of word
// (col >> 2) & 3, and the element is KEPT (returns true) iff byte >= threshold (threshold = round(p * 256)).
__host__ __device__ __forceinline__ bool dropout_keep(unsigned long long seed, uint32_t offset_lo,
                                                      uint32_t threshold, int row, int col, int bh) {
    uint32_t c[4] = {(uint32_t)col >> 4, (uint32_t)row, (uint32_t)bh, offset_lo};
    philox4x32_10(c, (uint32_t)(seed & 0xffffffffull), (uint32_t)(seed >> 32));
    const int wi = (col >> 2) & 3;  // select without dynamic indexing (keeps c[] in registers)
    const uint32_t w = wi == 0 ? c[0] : wi == 1 ? c[1] : wi == 2 ? c[2] : c[3];
    return ((w >> (8 * (col & 3))) & 0xffu) >= threshold;
}

// 2^x for the softmax and P: one MUFU.EX2 that flushes subnormal results to zero (PTX ex2.approx.ftz.f32). exp2f
// without -ftz compiles to the same instruction wrapped in a range check and two scalings that keep subnormal
// results, 4 more instructions per score element for values (below 2^-126) that do not change an fp32 sum or a bf16
// product. Same error bound (2 ulp). 2^-inf = +0, which the masks rely on. FLARE_EXP2_FTZ=0 restores exp2f.
#ifndef FLARE_EXP2_FTZ
#define FLARE_EXP2_FTZ 1
#endif
__device__ __forceinline__ float exp2_fast(float x) {
#if FLARE_EXP2_FTZ
    float y;
    asm("ex2.approx.ftz.f32 %0, %1;\n" : "=f"(y) : "f"(x));
    return y;
#else
    return exp2f(x);
#endif
}

// v[k] <- v[k ^ x] for a runtime x in [0, N): log2(N) stages of conditional swaps (selects), so that an array that
// lanes filled in lane-dependent order is read back with compile-time indices (no local memory).
template <int N>
__device__ __forceinline__ void xor_permute(uint32_t (&v)[N], int x) {
#pragma unroll
    for (int bit = 1; bit < N; bit <<= 1) {
        const bool sw = (x & bit) != 0;
#pragma unroll
        for (int i = 0; i < N; ++i)
            if (!(i & bit)) {
                const uint32_t a = v[i], b = v[i | bit];
                v[i] = sw ? b : a;
                v[i | bit] = sw ? a : b;
            }
    }
}

// True iff byte i (0..3) of v is at least the dropout threshold.
__device__ __forceinline__ bool byte_kept(uint32_t v, int i, uint32_t threshold) {
    return ((v >> (8 * i)) & 0xffu) >= threshold;
}

// byte_kept for the 4 bytes of v at once: bit 7 of byte i is set iff byte i >= threshold (the other bits are
// garbage). SWAR, no borrow across bytes: m = (v | 0x80..) - (t & 0x7f..) has bit 7 set iff v's low 7 bits >= t's;
// then a byte is >= t iff its bit 7 is above t's, or equal and m's is set. threshold 256 (p rounding to 1) keeps none.
__device__ __forceinline__ uint32_t kept_bytes(uint32_t v, uint32_t threshold) {
    if (threshold > 255u) return 0u;
    const uint32_t t = threshold * 0x01010101u;
    const uint32_t m = (v | 0x80808080u) - (t & 0x7f7f7f7fu);
    return (v & ~t) | (~(v ^ t) & m);
}

// The 16-bit keep masks of 2 packed elements from kept_bytes' bytes lo and lo + 1 (lo = 0 or 2): PTX prmt with the
// selector's sign bit set replicates bit 7 of the chosen byte (the __byte_perm intrinsic ignores that bit).
template <int LO>
__device__ __forceinline__ uint32_t kept_mask_pair(uint32_t kept) {
    static_assert(LO == 0 || LO == 2, "bytes 0, 1 or 2, 3");
    uint32_t r;
    asm("prmt.b32 %0, %1, 0, %2;\n" : "=r"(r) : "r"(kept), "n"(LO == 0 ? 0x9988 : 0xbbaa));
    return r;
}

// The 16-bit keep masks of 2 packed elements straight from their dropout bytes LO, LO + 1 of v (LO = 0 or 2), 3
// instructions per pair instead of kept_bytes + kept_mask_pair's 4.5: a byte permute puts each byte below a zero byte,
// making each 16-bit half the bit pattern of a subnormal f16 (0 .. 255 ulps), and the f16x2 compare (no .ftz: subnormals
// order as their bit patterns) against the threshold in both halves writes 0xffff where byte >= threshold.
// threshold2 = threshold * 0x10001 (threshold <= 256; 256 keeps none, as no byte reaches it).
template <int LO>
__device__ __forceinline__ uint32_t keep_mask_f16x2(uint32_t v, uint32_t threshold2) {
    static_assert(LO == 0 || LO == 2, "bytes 0, 1 or 2, 3");
    const uint32_t halves = __byte_perm(v, 0u, LO == 0 ? 0x4140u : 0x4342u);
    uint32_t r;
    asm("set.ge.u32.f16x2 %0, %1, %2;\n" : "=r"(r) : "r"(halves), "r"(threshold2));
    return r;
}

// ----------------------------------------------------------------------------- dtype helpers
template <typename T> struct DT;
template <> struct DT<float> {
    __device__ __forceinline__ static float to_f(float x) { return x; }
    __device__ __forceinline__ static float from_f(float x) { return x; }
};
template <> struct DT<__nv_bfloat16> {
    __device__ __forceinline__ static float to_f(__nv_bfloat16 x) { return __bfloat162float(x); }
    __device__ __forceinline__ static __nv_bfloat16 from_f(float x) { return __float2bfloat16_rn(x); }
    __device__ __forceinline__ static uint32_t pack2(float a, float b) {
        __nv_bfloat162 v = __floats2bfloat162_rn(a, b);  // .x (low 16 bits) = a
        return *reinterpret_cast<uint32_t*>(&v);
    }
    __device__ __forceinline__ static void mma(float c[4], const uint32_t a[4], uint32_t b0, uint32_t b1) {
        asm volatile(
            "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
            "{%0,%1,%2,%3};\n"
            : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
            : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
    }
};
template <> struct DT<__half> {
    __device__ __forceinline__ static float to_f(__half x) { return __half2float(x); }
    __device__ __forceinline__ static __half from_f(float x) { return __float2half_rn(x); }
    __device__ __forceinline__ static uint32_t pack2(float a, float b) {
        __half2 v = __floats2half2_rn(a, b);
        return *reinterpret_cast<uint32_t*>(&v);
    }
    __device__ __forceinline__ static void mma(float c[4], const uint32_t a[4], uint32_t b0, uint32_t b1) {
        asm volatile(
            "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
            "{%0,%1,%2,%3};\n"
            : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
            : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
    }
};

// ----------------------------------------------------------------------------- PTX wrappers
__device__ __forceinline__ uint32_t smem_u32(const void* p) {
    return (uint32_t)__cvta_generic_to_shared(p);
}
__device__ __forceinline__ void cp_async16(void* smem_dst, const void* gsrc, int src_bytes) {
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(smem_u32(smem_dst)), "l"(gsrc),
                 "r"(src_bytes));
}
// 4-byte cp.async (only .ca exists at that size); src_bytes 0 fills zeros.
__device__ __forceinline__ void cp_async4(void* smem_dst, const void* gsrc, int src_bytes) {
    asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;\n" ::"r"(smem_u32(smem_dst)), "l"(gsrc), "r"(src_bytes));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
__device__ __forceinline__ void cp_async_wait_all() { asm volatile("cp.async.wait_group 0;\n" ::); }
// All but the most recently committed group complete.
__device__ __forceinline__ void cp_async_wait_one() { asm volatile("cp.async.wait_group 1;\n" ::); }

__device__ __forceinline__ void ldmatrix_x4(uint32_t r[4], const void* p) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(smem_u32(p)));
}
__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t r[4], const void* p) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(smem_u32(p)));
}

// sm_90: stores four 8x8 16-bit matrices; register j of a lane holds row lane / 4, columns 2 (lane % 4) .. + 1 of matrix
// j (the mma accumulator layout packed to pairs), and lanes 8j .. 8j + 7 give the shared addresses of matrix j's rows.
__device__ __forceinline__ void stmatrix_x4(uint32_t smem_addr, const uint32_t (&r)[4]) {
    asm volatile("stmatrix.sync.aligned.m8n8.x4.shared.b16 [%0], {%1, %2, %3, %4};\n" ::"r"(smem_addr), "r"(r[0]),
                 "r"(r[1]), "r"(r[2]), "r"(r[3])
                 : "memory");
}

__device__ __forceinline__ int causal_offset(int causal, int Sq, int Sk) {
    return causal == 2 ? (Sk - Sq) : 0;
}

}  // namespace flare_attn
