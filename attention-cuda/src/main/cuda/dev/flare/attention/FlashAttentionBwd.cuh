// Flare flash attention backward kernels (SIMT, fp32 math, shared-memory tiles).
//  1. bwd_preprocess_kernel: delta = rowsum(dO * O); zeroes dq_accum (non-deterministic mode).
//  2. bwd_dkdv_kernel: one CTA per (key block, kv head, batch); loops the group's query heads and the
//     query blocks; dK/dV accumulate in registers (deterministic); dQ via fp32 atomicAdd into dq_accum
//     unless p.deterministic.
//  3. bwd_dq_kernel (deterministic mode): one CTA per (query block, q head, batch), loops key blocks.
//  4. bwd_convert_dq_kernel (non-deterministic mode): dq_accum -> dq dtype.
#pragma once
#include "FlashAttentionCommon.cuh"
#include "FlashAttentionFwd.cuh"  // load_tile_async

namespace flare_attn {

template <int D> struct BwdCfg {
    static constexpr int KB = (D <= 128) ? 32 : 16;  // keys per block == query rows per block
    static constexpr int NT = 256;
    static constexpr int LDD = D + 1;                // fp32 smem row stride
    static constexpr int LDK = KB + 1;
    // sK, sV, sQ, sdO [KB][LDD]; sP, sdS [KB][LDK]; sLse, sDelta [KB]
    static constexpr int SMEM_FLOATS = 4 * KB * LDD + 2 * KB * LDK + 2 * KB;
    static constexpr int PER_T_KD = KB * D / NT;      // (row, d) elements per thread
    static constexpr int PER_T_KK = KB * KB / NT;     // (i, j) elements per thread
};
static constexpr int kPreprocessWarps = 8;

template <typename T, int D>
__device__ __forceinline__ void bwd_preprocess_kernel(const FlashBwdParams p) {
    constexpr int E = D / 32;
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int row = blockIdx.x * kPreprocessWarps + warp;
    const int h = blockIdx.y, b = blockIdx.z;
    if (row >= p.Sq) return;
    const T* og = reinterpret_cast<const T*>(p.o) + b * p.o_batch_stride + h * p.o_head_stride +
                  (long long)row * p.o_seq_stride;
    const T* dg = reinterpret_cast<const T*>(p.dout) + b * p.do_batch_stride + h * p.do_head_stride +
                  (long long)row * p.do_seq_stride;
    float acc = 0.f;
#pragma unroll
    for (int e = 0; e < E; ++e) acc = fmaf(DT<T>::to_f(og[lane + 32 * e]), DT<T>::to_f(dg[lane + 32 * e]), acc);
#pragma unroll
    for (int w = 16; w > 0; w >>= 1) acc += __shfl_xor_sync(0xffffffffu, acc, w);
    const long long ridx = (long long)(b * p.Hq + h) * p.Sq + row;
    if (lane == 0) p.delta[ridx] = acc;
    if (!p.deterministic) {
        float* dqa = p.dq_accum + ridx * D;
#pragma unroll
        for (int e = 0; e < E; ++e) dqa[lane + 32 * e] = 0.f;
    }
}

// Load ROWS x D tile (rows >= nvalid zero) into fp32 smem.
template <typename T, int D, int ROWS, int NT>
__device__ __forceinline__ void load_tile_f32(float* s, const T* g, long long seq_stride, int row0, int nvalid,
                                              int tid) {
    constexpr int LDD = D + 1;
    for (int e = tid; e < ROWS * D; e += NT) {
        int r = e / D, d = e % D;
        int gr = row0 + r;
        s[r * LDD + d] = gr < nvalid ? DT<T>::to_f(g[(long long)gr * seq_stride + d]) : 0.f;
    }
}

// Computes sP[i][j] = P_ij * Z_ij (dropped P) and sdS[i][j] = P_ij * (Z_ij * dP~_ij - delta_i) for
// query rows q0.. and keys k0.. of head bh. Needs sQ, sdO, sK, sV, sLse, sDelta loaded.
template <int D>
__device__ __forceinline__ void compute_p_ds(const FlashBwdParams& p, const float* sQ, const float* sdO,
                                             const float* sK, const float* sV, const float* sLse,
                                             const float* sDelta, float* sP, float* sdS, int q0, int k0,
                                             int bh, int off, bool want_p, int tid) {
    using C = BwdCfg<D>;
    constexpr int KB = C::KB, LDD = C::LDD, LDK = C::LDK;
    const float sl2 = p.scale * kLog2e;
#pragma unroll
    for (int r = 0; r < C::PER_T_KK; ++r) {
        int e = tid + r * C::NT;
        int i = e / KB, j = e % KB;
        const float* qr = sQ + i * LDD;
        const float* dr = sdO + i * LDD;
        const float* kr = sK + j * LDD;
        const float* vr = sV + j * LDD;
        float s = 0.f, dpt = 0.f;
#pragma unroll 8
        for (int d = 0; d < D; ++d) {
            s = fmaf(qr[d], kr[d], s);
            dpt = fmaf(dr[d], vr[d], dpt);
        }
        int qi = q0 + i, kj = k0 + j;
        bool valid = qi < p.Sq && kj < p.Sk && !(p.causal && kj > qi + off);
        float P = valid ? exp2f(s * sl2 - sLse[i] * kLog2e) : 0.f;
        float z = 1.f;
        if (p.dropout && valid)
            z = dropout_keep(p.seed, p.offset_lo, p.drop_threshold, qi, kj, bh) ? p.keep_scale : 0.f;
        if (want_p) sP[i * LDK + j] = P * z;
        sdS[i * LDK + j] = P * (dpt * z - sDelta[i]);
    }
}

template <typename T, int D>
__device__ __forceinline__ void bwd_dkdv_kernel(const FlashBwdParams p) {
    using C = BwdCfg<D>;
    constexpr int KB = C::KB, NT = C::NT, LDD = C::LDD, LDK = C::LDK;
    extern __shared__ __align__(16) unsigned char smem_raw[];
    float* sK = reinterpret_cast<float*>(smem_raw);
    float* sV = sK + KB * LDD;
    float* sQ = sV + KB * LDD;
    float* sdO = sQ + KB * LDD;
    float* sP = sdO + KB * LDD;
    float* sdS = sP + KB * LDK;
    float* sLse = sdS + KB * LDK;
    float* sDelta = sLse + KB;

    const int tid = threadIdx.x;
    const int k0 = blockIdx.x * KB, hk = blockIdx.y, b = blockIdx.z;
    const int group = p.Hq / p.Hkv;
    const int Sq = p.Sq, Sk = p.Sk;
    const int off = causal_offset(p.causal, Sq, Sk);

    const T* kg = reinterpret_cast<const T*>(p.k) + b * p.k_batch_stride + hk * p.k_head_stride;
    const T* vg = reinterpret_cast<const T*>(p.v) + b * p.v_batch_stride + hk * p.v_head_stride;
    load_tile_f32<T, D, KB, NT>(sK, kg, p.k_seq_stride, k0, Sk, tid);
    load_tile_f32<T, D, KB, NT>(sV, vg, p.v_seq_stride, k0, Sk, tid);

    float dk[C::PER_T_KD], dv[C::PER_T_KD];
#pragma unroll
    for (int r = 0; r < C::PER_T_KD; ++r) dk[r] = dv[r] = 0.f;

    // first query row that can see key k0
    int qstart = 0;
    if (p.causal) qstart = max(0, k0 - off);
    const int qb_begin = qstart / KB;
    const int n_qb = (Sq + KB - 1) / KB;

    for (int g = 0; g < group; ++g) {
        const int h = hk * group + g;
        const int bh = b * p.Hq + h;
        const T* qg = reinterpret_cast<const T*>(p.q) + b * p.q_batch_stride + h * p.q_head_stride;
        const T* dg = reinterpret_cast<const T*>(p.dout) + b * p.do_batch_stride + h * p.do_head_stride;
        for (int qb = qb_begin; qb < n_qb; ++qb) {
            const int q0 = qb * KB;
            __syncthreads();  // previous users of sQ/sdO/sP/sdS are done
            load_tile_f32<T, D, KB, NT>(sQ, qg, p.q_seq_stride, q0, Sq, tid);
            load_tile_f32<T, D, KB, NT>(sdO, dg, p.do_seq_stride, q0, Sq, tid);
            for (int i = tid; i < KB; i += NT) {
                int qi = q0 + i;
                sLse[i] = qi < Sq ? p.lse[(long long)bh * Sq + qi] : 0.f;
                sDelta[i] = qi < Sq ? p.delta[(long long)bh * Sq + qi] : 0.f;
            }
            __syncthreads();
            compute_p_ds<D>(p, sQ, sdO, sK, sV, sLse, sDelta, sP, sdS, q0, k0, bh, off, true, tid);
            __syncthreads();
#pragma unroll
            for (int r = 0; r < C::PER_T_KD; ++r) {
                int e = tid + r * NT;
                int j = e / D, d = e % D;
                float av = dv[r], ak = dk[r];
#pragma unroll 8
                for (int i = 0; i < KB; ++i) {
                    av = fmaf(sP[i * LDK + j], sdO[i * LDD + d], av);
                    ak = fmaf(sdS[i * LDK + j], sQ[i * LDD + d], ak);
                }
                dv[r] = av;
                dk[r] = ak;
            }
            if (!p.deterministic) {
                float* dqa = p.dq_accum + (long long)bh * Sq * D;
#pragma unroll
                for (int r = 0; r < C::PER_T_KD; ++r) {
                    int e = tid + r * NT;
                    int i = e / D, d = e % D;
                    if (q0 + i < Sq) {
                        float a = 0.f;
#pragma unroll 8
                        for (int j = 0; j < KB; ++j) a = fmaf(sdS[i * LDK + j], sK[j * LDD + d], a);
                        atomicAdd(dqa + (long long)(q0 + i) * D + d, a * p.scale);
                    }
                }
            }
        }
    }
    T* dkg = reinterpret_cast<T*>(p.dk) + b * p.dk_batch_stride + hk * p.dk_head_stride;
    T* dvg = reinterpret_cast<T*>(p.dv) + b * p.dv_batch_stride + hk * p.dv_head_stride;
#pragma unroll
    for (int r = 0; r < C::PER_T_KD; ++r) {
        int e = tid + r * NT;
        int j = e / D, d = e % D;
        if (k0 + j < Sk) {
            dkg[(long long)(k0 + j) * p.dk_seq_stride + d] = DT<T>::from_f(dk[r] * p.scale);
            dvg[(long long)(k0 + j) * p.dv_seq_stride + d] = DT<T>::from_f(dv[r]);
        }
    }
}

// Deterministic dQ: one CTA per (query block, q head, batch), loops over key blocks.
template <typename T, int D>
__device__ __forceinline__ void bwd_dq_kernel(const FlashBwdParams p) {
    using C = BwdCfg<D>;
    constexpr int KB = C::KB, NT = C::NT, LDD = C::LDD, LDK = C::LDK;
    extern __shared__ __align__(16) unsigned char smem_raw[];
    float* sK = reinterpret_cast<float*>(smem_raw);
    float* sV = sK + KB * LDD;
    float* sQ = sV + KB * LDD;
    float* sdO = sQ + KB * LDD;
    float* sP = sdO + KB * LDD;
    float* sdS = sP + KB * LDK;
    float* sLse = sdS + KB * LDK;
    float* sDelta = sLse + KB;

    const int tid = threadIdx.x;
    const int q0 = blockIdx.x * KB, h = blockIdx.y, b = blockIdx.z;
    const int hk = h / (p.Hq / p.Hkv);
    const int Sq = p.Sq, Sk = p.Sk;
    const int off = causal_offset(p.causal, Sq, Sk);
    const int bh = b * p.Hq + h;
    const T* qg = reinterpret_cast<const T*>(p.q) + b * p.q_batch_stride + h * p.q_head_stride;
    const T* dg = reinterpret_cast<const T*>(p.dout) + b * p.do_batch_stride + h * p.do_head_stride;
    const T* kg = reinterpret_cast<const T*>(p.k) + b * p.k_batch_stride + hk * p.k_head_stride;
    const T* vg = reinterpret_cast<const T*>(p.v) + b * p.v_batch_stride + hk * p.v_head_stride;
    load_tile_f32<T, D, KB, NT>(sQ, qg, p.q_seq_stride, q0, Sq, tid);
    load_tile_f32<T, D, KB, NT>(sdO, dg, p.do_seq_stride, q0, Sq, tid);
    for (int i = tid; i < KB; i += NT) {
        int qi = q0 + i;
        sLse[i] = qi < Sq ? p.lse[(long long)bh * Sq + qi] : 0.f;
        sDelta[i] = qi < Sq ? p.delta[(long long)bh * Sq + qi] : 0.f;
    }
    int kend = Sk;
    if (p.causal) {
        int last_row = min(q0 + KB, Sq) - 1;
        kend = max(0, min(Sk, last_row + off + 1));
    }
    float dq[C::PER_T_KD];
#pragma unroll
    for (int r = 0; r < C::PER_T_KD; ++r) dq[r] = 0.f;
    for (int k0 = 0; k0 < kend; k0 += KB) {
        __syncthreads();
        load_tile_f32<T, D, KB, NT>(sK, kg, p.k_seq_stride, k0, Sk, tid);
        load_tile_f32<T, D, KB, NT>(sV, vg, p.v_seq_stride, k0, Sk, tid);
        __syncthreads();
        compute_p_ds<D>(p, sQ, sdO, sK, sV, sLse, sDelta, sP, sdS, q0, k0, bh, off, false, tid);
        __syncthreads();
#pragma unroll
        for (int r = 0; r < C::PER_T_KD; ++r) {
            int e = tid + r * NT;
            int i = e / D, d = e % D;
            float a = dq[r];
#pragma unroll 8
            for (int j = 0; j < KB; ++j) a = fmaf(sdS[i * LDK + j], sK[j * LDD + d], a);
            dq[r] = a;
        }
    }
    T* dqg = reinterpret_cast<T*>(p.dq) + b * p.dq_batch_stride + h * p.dq_head_stride;
#pragma unroll
    for (int r = 0; r < C::PER_T_KD; ++r) {
        int e = tid + r * NT;
        int i = e / D, d = e % D;
        if (q0 + i < Sq) dqg[(long long)(q0 + i) * p.dq_seq_stride + d] = DT<T>::from_f(dq[r] * p.scale);
    }
}

// dq_accum (B, Hq, Sq, D) fp32 contiguous -> dq (strided, dtype T). grid (ceil(Sq*D/256), Hq, B).
template <typename T, int D>
__device__ __forceinline__ void bwd_convert_dq_kernel(const FlashBwdParams p) {
    const long long e = (long long)blockIdx.x * 256 + threadIdx.x;
    const int h = blockIdx.y, b = blockIdx.z;
    if (e >= (long long)p.Sq * D) return;
    const int row = (int)(e / D), d = (int)(e % D);
    const float* src = p.dq_accum + (long long)(b * p.Hq + h) * p.Sq * D;
    T* dqg = reinterpret_cast<T*>(p.dq) + b * p.dq_batch_stride + h * p.dq_head_stride;
    dqg[(long long)row * p.dq_seq_stride + d] = DT<T>::from_f(src[e]);
}

}  // namespace flare_attn

// =============================================================================================
// Tensor-core dK/dV kernel (bf16/f16, D <= 128). Same contract as bwd_dkdv_kernel (it may be used in its
// place; deterministic mode then still uses bwd_dq_kernel for dQ).
// One CTA per (key block of BC = 16*NW keys, kv head, batch); warp w owns keys w*16..w*16+15 and works on
// transposed scores: S^T = K Q^T, dP~^T = V dO^T (16 keys x BR queries per warp), then
// dV += (P∘Z)^T dO, dK += dS^T Q (accumulators in registers, fp32), and dQ += dS K via smem dS^T (bf16)
// and fp32 atomics into dq_accum.
// =============================================================================================
namespace flare_attn {

// Warps per tensor-core dK/dV CTA (16 keys each). A build may override it (-DFLARE_BWD_TC_WARPS=8) to compare
// layouts in the harness; the Java launcher reads the result from flash_launch_config.
#ifndef FLARE_BWD_TC_WARPS
#define FLARE_BWD_TC_WARPS 4
#endif

template <int D> struct BwdTcCfg {
    static constexpr int NW = FLARE_BWD_TC_WARPS;
    static constexpr int NT = NW * 32;
    static constexpr int MIN_BLOCKS = 0;            // launch bounds' CTAs per SM: 0, none (the registers decide)
    static constexpr int BC = 16 * NW;              // keys per CTA
    static constexpr int BR = (D <= 64) ? 64 : 32;  // queries per step
    static constexpr int LD = D + 8;                // K, V, Q, dO smem stride (elements)
    static constexpr int LDS = BR + 8;              // dS^T smem stride (elements)
    // bytes: K, V [BC][LD], two buffers of Q, dO [BR][LD] (2-byte), dS^T [BC][LDS] (2-byte), two buffers of
    // lse*log2e, delta [BR] fp32. The second buffer lets the next query block load while this one computes.
    static constexpr int SMEM_BYTES = (2 * BC * LD + 4 * BR * LD + BC * LDS) * 2 + 4 * BR * 4;
    static_assert(BR % 32 == 0, "dropout_bytes_bwd covers groups of 32 queries");
};

// Dropout bytes of one lane for a group of 4 query tiles (32 queries from qg0) of the transposed scores, whose rows are
// the warp's 16 keys kbase .. kbase + 15 (kbase a multiple of 16: one Philox block per query). Element e of tile nt is
// (query qg0 + 8 nt + 2 tq + (e & 1), key kbase + g4 + 8 (e >> 1)). The 8 lanes of one tq share these 8 queries: lane
// g4 generates the block of query qg0 + 8 (g4 >> 1) + 2 tq + (g4 & 1) (block k = g4) and sends each partner g4 ^ r the
// bytes of its keys g4 ^ r and (g4 ^ r) + 8. One Philox per lane per 16 elements. Out: v[2 nt + j], query
// qg0 + 8 nt + 2 tq + j: byte 0 = key g4, byte 1 = key g4 + 8 (dropout_check.py checks this against the direct
// definition). Every lane must call it (the shuffles).
__device__ __forceinline__ void dropout_bytes_bwd(const FlashBwdParams& p, int bh, int qg0, int kbase, int g4, int tq,
                                                  uint32_t (&v)[8]) {
    uint32_t c[4] = {(uint32_t)kbase >> 4, (uint32_t)(qg0 + 8 * (g4 >> 1) + 2 * tq + (g4 & 1)), (uint32_t)bh,
                     p.offset_lo};
    philox4x32_10(c, (uint32_t)(p.seed & 0xffffffffull), (uint32_t)(p.seed >> 32));
#pragma unroll
    for (int r = 0; r < 8; ++r) {
        const int d = g4 ^ r;   // the partner: its keys d and d + 8 are byte d & 3 of words d >> 2 and 2 + (d >> 2)
        const uint32_t wa = (d >> 2) ? c[1] : c[0], wb = (d >> 2) ? c[3] : c[2];
        const uint32_t packed = __byte_perm(wa, wb, (uint32_t)((d & 3) | ((4 + (d & 3)) << 4)));
        v[r] = r == 0 ? packed : __shfl_xor_sync(0xffffffffu, packed, 4 * r);
    }
    xor_permute(v, g4);   // v[r] came from lane g4 ^ r, i.e. block g4 ^ r
}

// Adds (a, b) to the fp32 pair at p (8-byte aligned: an even element of dq_accum). sm_90 has a vector atomic add for
// float2, one reduction instead of two (FLARE_BWD_DQ_RED_V2=1, the default): on an H200 (2026-12-07, harness --bench,
// bf16, 16k tokens) the backward went from 117 to 151 TFLOP/s at D=64 S=4096 and from 130 to 176 at D=128: dQ's
// atomics were the backward's main limit. Older GPUs take two scalar ones.
#ifndef FLARE_BWD_DQ_RED_V2
#define FLARE_BWD_DQ_RED_V2 1
#endif
__device__ __forceinline__ void dq_red2(float* p, float a, float b) {
#if FLARE_BWD_DQ_RED_V2 && defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    atomicAdd(reinterpret_cast<float2*>(p), make_float2(a, b));
#else
    atomicAdd(p, a);
    atomicAdd(p + 1, b);
#endif
}

// Adds one lane's part of a 16-wide dQ slab row to the fp32 row at rowp (the slab's first column): (a0, a1) at columns
// 2tq, 2tq+1 and (b0, b1) at 8+2tq, 9+2tq, the mma C-fragment layout. `valid` says whether the lane's row exists.
// (float4 atomics after lanes tq and tq^1 trade a pair, half the atomic operations, measured 3-6% slower on an H100,
// 2026-12-07: the shuffles cost more than the atomics saved.)
__device__ __forceinline__ void dq_add_slab_row(float* rowp, int tq, bool valid, float a0, float a1, float b0, float b1) {
    if (valid) {
        dq_red2(rowp + 2 * tq, a0, a1);
        dq_red2(rowp + 8 + 2 * tq, b0, b1);
    }
}

// The steps of a tensor-core dK/dV CTA: (query head h of the kv head's GQA group, block of BR queries from q0), from
// the first query block that the CTA's keys k0 .. can see under the causal mask; `count` in all. A Cursor walks them
// in order without the division by the blocks per head that indexing a step would need.
template <int BR> struct BwdQuerySteps {
    int h0, q_begin, q_end, count;
    struct Cursor {
        int h, q0;
        __device__ __forceinline__ void advance(const BwdQuerySteps& st) {
            q0 += BR;
            if (q0 >= st.q_end) { q0 = st.q_begin; ++h; }
        }
    };
    __device__ __forceinline__ BwdQuerySteps(const FlashBwdParams& p, int hk, int k0, int off) {
        const int group = p.Hq / p.Hkv;
        h0 = hk * group;
        q_begin = (p.causal ? max(0, k0 - off) : 0) / BR * BR;
        q_end = (p.Sq + BR - 1) / BR * BR;
        count = group * max(0, (q_end - q_begin) / BR);
    }
    __device__ __forceinline__ Cursor first() const { return Cursor{h0, q_begin}; }
};

// LSE and delta of queries q0 .. q0 + BR - 1 of head bh into shared memory by cp.async (zeros past Sq), in the caller's
// open group: a plain load and store would stall the thread on the global load. After the group's wait, the same
// threads scale the LSE by log2 e (bwd_lse_to_log2), before the barrier that publishes it.
template <int BR, int NT>
__device__ __forceinline__ void load_lse_delta(const FlashBwdParams& p, long long bh, int q0, int tid, float* sLse,
                                               float* sDelta) {
#pragma unroll
    for (int i = tid; i < 2 * BR; i += NT) {
        const int qi = q0 + (i % BR);
        const bool ok = qi < p.Sq;
        const float* src = (i < BR ? p.lse : p.delta) + bh * p.Sq + (ok ? qi : 0);
        cp_async4((i < BR ? sLse : sDelta) + i % BR, src, ok ? 4 : 0);
    }
}
template <int BR, int NT>
__device__ __forceinline__ void bwd_lse_to_log2(float* sLse, int tid) {
#pragma unroll
    for (int i = tid; i < BR; i += NT) sLse[i] *= kLog2e;
}

// P, dropout and dS of one warp's transposed scores (rows: its 16 keys kbase .., krow[hh] = kbase + g4 + 8 hh;
// columns: BR queries from q0, in the mma accumulator layout), in place: s <- P∘Z, dp <- dS = P (Z dP~ - delta).
// sLse holds lse * log2e and sDelta delta of the BR queries (8-byte aligned: a lane reads its two columns at once).
// Every lane must call it (dropout_bytes_bwd shuffles).
template <int BR>
__device__ __forceinline__ void bwd_p_ds_transposed(float (&s)[BR / 8][4], float (&dp)[BR / 8][4], const FlashBwdParams& p,
                                                    int bh, int q0, int kbase, const int (&krow)[2], const float* sLse,
                                                    const float* sDelta, bool need_mask, int off, float sl2, int g4, int tq) {
    // Query qi is visible from key row hh iff qlo[hh] <= qi < Sq (qlo = Sq when the key is past Sk).
    int qlo[2];
#pragma unroll
    for (int hh = 0; hh < 2; ++hh) qlo[hh] = krow[hh] >= p.Sk ? p.Sq : p.causal ? krow[hh] - off : 0;
#pragma unroll
    for (int gi = 0; gi < BR / 32; ++gi) {
        uint32_t zb[8];
        if (p.dropout) dropout_bytes_bwd(p, bh, q0 + gi * 32, kbase, g4, tq, zb);
#pragma unroll
        for (int ntl = 0; ntl < 4; ++ntl) {
            const int nt = gi * 4 + ntl;
            const int qc0 = nt * 8 + 2 * tq;   // the lane's first query column within the block
            const float2 lse2 = *reinterpret_cast<const float2*>(sLse + qc0);
            const float2 delta2 = *reinterpret_cast<const float2*>(sDelta + qc0);
#pragma unroll
            for (int e = 0; e < 4; ++e) {
                const int qi = q0 + qc0 + (e & 1);
                const bool valid = !need_mask || (qi >= qlo[e >> 1] && qi < p.Sq);
                const float z = !p.dropout ? 1.f : byte_kept(zb[2 * ntl + (e & 1)], e >> 1, p.drop_threshold)
                                                       ? p.keep_scale : 0.f;
                const float P = exp2_fast(valid ? s[nt][e] * sl2 - ((e & 1) ? lse2.y : lse2.x) : -INFINITY);
                s[nt][e] = P * z;
                dp[nt][e] = P * (dp[nt][e] * z - ((e & 1) ? delta2.y : delta2.x));
            }
        }
    }
}

template <typename T, int D>
__device__ __forceinline__ void bwd_dkdv_tc_kernel(const FlashBwdParams p) {
    using C = BwdTcCfg<D>;
    constexpr int NT = C::NT, BC = C::BC, BR = C::BR, LD = C::LD, LDS = C::LDS;
    extern __shared__ __align__(16) unsigned char smem_raw[];
    T* sK = reinterpret_cast<T*>(smem_raw);
    T* sV = sK + BC * LD;
    T* sQbuf = sV + BC * LD;          // [2][BR][LD]
    T* sdObuf = sQbuf + 2 * BR * LD;  // [2][BR][LD]
    T* sdS = sdObuf + 2 * BR * LD;
    float* sLseBuf = reinterpret_cast<float*>(sdS + BC * LDS);  // [2][BR] lse * log2e
    float* sDeltaBuf = sLseBuf + 2 * BR;                        // [2][BR]

    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
    const int g4 = lane >> 2, tq = lane & 3;
    const int k0 = blockIdx.x * BC, hk = blockIdx.y, b = blockIdx.z;
    const int Sq = p.Sq, Sk = p.Sk;
    const int off = causal_offset(p.causal, Sq, Sk);
    const float sl2 = p.scale * kLog2e;

    const T* kg = reinterpret_cast<const T*>(p.k) + b * p.k_batch_stride + hk * p.k_head_stride;
    const T* vg = reinterpret_cast<const T*>(p.v) + b * p.v_batch_stride + hk * p.v_head_stride;
    load_tile_async<T, D, BC, NT>(sK, kg, p.k_seq_stride, k0, Sk, tid);
    load_tile_async<T, D, BC, NT>(sV, vg, p.v_seq_stride, k0, Sk, tid);

    float dk[D / 8][4], dv[D / 8][4];
#pragma unroll
    for (int i = 0; i < D / 8; ++i)
#pragma unroll
        for (int e = 0; e < 4; ++e) dk[i][e] = dv[i][e] = 0.f;

    // The warp's K and V rows as mma A fragments: for D <= 64 they stay in registers for the whole CTA (32
    // registers), loaded once at step 0 instead of by two ldmatrix per 16 columns at every step; D = 128 has no
    // registers to spare (its accumulators alone take 128) and reloads them from smem.
    constexpr bool kKvRegs = D <= 64;
    uint32_t kfrag[kKvRegs ? D / 16 : 1][4], vfrag[kKvRegs ? D / 16 : 1][4];

    const int krow[2] = {k0 + warp * 16 + g4, k0 + warp * 16 + g4 + 8};  // keys of this thread's C rows

    // Steps walk (query head of the GQA group, query block); step s+1's Q, dO, lse, delta load into the other
    // buffer while step s computes.
    const BwdQuerySteps<BR> steps(p, hk, k0, off);
    const int n_steps = steps.count;
    auto load_step = [&](const typename BwdQuerySteps<BR>::Cursor& at, int buf) {
        const int h = at.h, q0 = at.q0;
        const long long bh = (long long)b * p.Hq + h;
        load_tile_async<T, D, BR, NT>(sQbuf + buf * BR * LD,
                                      reinterpret_cast<const T*>(p.q) + b * p.q_batch_stride + h * p.q_head_stride,
                                      p.q_seq_stride, q0, Sq, tid);
        load_tile_async<T, D, BR, NT>(sdObuf + buf * BR * LD,
                                      reinterpret_cast<const T*>(p.dout) + b * p.do_batch_stride + h * p.do_head_stride,
                                      p.do_seq_stride, q0, Sq, tid);
        load_lse_delta<BR, NT>(p, bh, q0, tid, sLseBuf + buf * BR, sDeltaBuf + buf * BR);
    };
    auto cur = steps.first(), next = cur;   // the step computed, the step loaded next
    if (n_steps > 0) {
        load_step(next, 0);
        next.advance(steps);
    }
    cp_async_commit();  // K, V and step 0

    for (int step = 0; step < n_steps; ++step, cur.advance(steps)) {
        const int buf = step & 1;
        const int bh = b * p.Hq + cur.h;
        const int q0 = cur.q0;
        const T* sQ = sQbuf + buf * BR * LD;
        const T* sdO = sdObuf + buf * BR * LD;
        const float* sLse = sLseBuf + buf * BR;
        const float* sDelta = sDeltaBuf + buf * BR;
        {
            __syncthreads();  // step-1's readers of the other buffer and of sdS are done
            if (step + 1 < n_steps) {
                load_step(next, buf ^ 1);
                next.advance(steps);
            }
            cp_async_commit();
            cp_async_wait_one();  // this step's group has landed (the next one may still fly)
            bwd_lse_to_log2<BR, NT>(sLseBuf + buf * BR, tid);
            __syncthreads();

            // ---- S^T = K Q^T and dP~^T = V dO^T : 16 keys x BR queries per warp
            float s[BR / 8][4], dp[BR / 8][4];
#pragma unroll
            for (int i = 0; i < BR / 8; ++i)
#pragma unroll
                for (int e = 0; e < 4; ++e) s[i][e] = dp[i][e] = 0.f;
            if (kKvRegs && step == 0) {   // K and V landed with step 0's group (waited for above)
#pragma unroll
                for (int kk = 0; kk < (kKvRegs ? D / 16 : 1); ++kk) {
                    ldmatrix_x4(kfrag[kk], sK + (warp * 16 + (lane & 15)) * LD + kk * 16 + (lane >> 4) * 8);
                    ldmatrix_x4(vfrag[kk], sV + (warp * 16 + (lane & 15)) * LD + kk * 16 + (lane >> 4) * 8);
                }
            }
#pragma unroll
            for (int kk = 0; kk < D / 16; ++kk) {
                uint32_t ak[4], av[4];
                if constexpr (kKvRegs) {
#pragma unroll
                    for (int e = 0; e < 4; ++e) {
                        ak[e] = kfrag[kk][e];
                        av[e] = vfrag[kk][e];
                    }
                } else {
                    ldmatrix_x4(ak, sK + (warp * 16 + (lane & 15)) * LD + kk * 16 + (lane >> 4) * 8);
                    ldmatrix_x4(av, sV + (warp * 16 + (lane & 15)) * LD + kk * 16 + (lane >> 4) * 8);
                }
#pragma unroll
                for (int pp = 0; pp < BR / 16; ++pp) {
                    const int roff = (pp * 16 + (lane & 7) + ((lane >> 4) << 3)) * LD + kk * 16 + ((lane >> 3) & 1) * 8;
                    uint32_t bq[4], bo[4];
                    ldmatrix_x4(bq, sQ + roff);
                    ldmatrix_x4(bo, sdO + roff);
                    DT<T>::mma(s[2 * pp], ak, bq[0], bq[1]);
                    DT<T>::mma(s[2 * pp + 1], ak, bq[2], bq[3]);
                    DT<T>::mma(dp[2 * pp], av, bo[0], bo[1]);
                    DT<T>::mma(dp[2 * pp + 1], av, bo[2], bo[3]);
                }
            }

            // ---- P, dropout, dS (in place: s <- P∘Z, dp <- dS)
            const bool need_mask = (q0 + BR > Sq) || (k0 + BC > Sk) || (p.causal && (k0 + BC - 1 > q0 + off));
            bwd_p_ds_transposed<BR>(s, dp, p, bh, q0, k0 + warp * 16, krow, sLse, sDelta, need_mask, off, sl2, g4, tq);

            // ---- dS^T to smem (for dQ), dV += (P∘Z)^T dO, dK += dS^T Q
#pragma unroll
            for (int nt = 0; nt < BR / 8; ++nt) {
                const int r0 = warp * 16 + g4, c0 = nt * 8 + 2 * tq;
                *reinterpret_cast<uint32_t*>(sdS + r0 * LDS + c0) = DT<T>::pack2(dp[nt][0], dp[nt][1]);
                *reinterpret_cast<uint32_t*>(sdS + (r0 + 8) * LDS + c0) = DT<T>::pack2(dp[nt][2], dp[nt][3]);
            }
#pragma unroll
            for (int kk = 0; kk < BR / 16; ++kk) {
                uint32_t ap[4], ad[4];
                ap[0] = DT<T>::pack2(s[2 * kk][0], s[2 * kk][1]);
                ap[1] = DT<T>::pack2(s[2 * kk][2], s[2 * kk][3]);
                ap[2] = DT<T>::pack2(s[2 * kk + 1][0], s[2 * kk + 1][1]);
                ap[3] = DT<T>::pack2(s[2 * kk + 1][2], s[2 * kk + 1][3]);
                ad[0] = DT<T>::pack2(dp[2 * kk][0], dp[2 * kk][1]);
                ad[1] = DT<T>::pack2(dp[2 * kk][2], dp[2 * kk][3]);
                ad[2] = DT<T>::pack2(dp[2 * kk + 1][0], dp[2 * kk + 1][1]);
                ad[3] = DT<T>::pack2(dp[2 * kk + 1][2], dp[2 * kk + 1][3]);
#pragma unroll
                for (int pp = 0; pp < D / 16; ++pp) {
                    const int roff = (kk * 16 + (lane & 7) + ((lane >> 3) & 1) * 8) * LD + pp * 16 + (lane >> 4) * 8;
                    uint32_t bo[4], bq[4];
                    ldmatrix_x4_trans(bo, sdO + roff);
                    ldmatrix_x4_trans(bq, sQ + roff);
                    DT<T>::mma(dv[2 * pp], ap, bo[0], bo[1]);
                    DT<T>::mma(dv[2 * pp + 1], ap, bo[2], bo[3]);
                    DT<T>::mma(dk[2 * pp], ad, bq[0], bq[1]);
                    DT<T>::mma(dk[2 * pp + 1], ad, bq[2], bq[3]);
                }
            }

            if (!p.deterministic) {
                __syncthreads();  // sdS complete
                // dQ[BR][D] += dS[BR][BC] K[BC][D]. Warp w takes m-tile w / WPM (16 queries) and a run of PPW 16-wide
                // d slabs, so each dS fragment it loads feeds 2 * PPW mma (was one (m-tile, slab) item at a time: one
                // dS load per 2 mma).
                constexpr int MT = BR / 16, WPM = C::NW / MT, PPW = (D / 16 + WPM - 1) / WPM;
                static_assert(C::NW % MT == 0, "warps per dQ m-tile");
                float* dqa = p.dq_accum + (long long)bh * Sq * D;
                const int mt = warp / WPM, pp0 = (warp % WPM) * PPW;
                float acc[PPW][2][4];
#pragma unroll
                for (int j = 0; j < PPW; ++j)
#pragma unroll
                    for (int e = 0; e < 4; ++e) acc[j][0][e] = acc[j][1][e] = 0.f;
#pragma unroll
                for (int kk = 0; kk < BC / 16; ++kk) {
                    uint32_t a[4];
                    ldmatrix_x4_trans(a, sdS + (kk * 16 + (lane & 7) + (lane >> 4) * 8) * LDS + mt * 16 +
                                             ((lane >> 3) & 1) * 8);
#pragma unroll
                    for (int j = 0; j < PPW; ++j) {
                        const int pp = pp0 + j;
                        if (PPW * WPM == D / 16 || pp < D / 16) {
                            uint32_t bk[4];
                            ldmatrix_x4_trans(bk, sK + (kk * 16 + (lane & 7) + ((lane >> 3) & 1) * 8) * LD + pp * 16 +
                                                      (lane >> 4) * 8);
                            DT<T>::mma(acc[j][0], a, bk[0], bk[1]);
                            DT<T>::mma(acc[j][1], a, bk[2], bk[3]);
                        }
                    }
                }
#pragma unroll
                for (int hh = 0; hh < 2; ++hh) {
                    const int qi = q0 + mt * 16 + g4 + 8 * hh;
#pragma unroll
                    for (int j = 0; j < PPW; ++j) {
                        const int pp = pp0 + j;
                        if (PPW * WPM == D / 16 || pp < D / 16)   // uniform over the warp
                            dq_add_slab_row(dqa + (long long)min(qi, Sq - 1) * D + pp * 16, tq, qi < Sq,
                                            acc[j][0][2 * hh] * p.scale, acc[j][0][2 * hh + 1] * p.scale,
                                            acc[j][1][2 * hh] * p.scale, acc[j][1][2 * hh + 1] * p.scale);
                    }
                }
            }
        }
    }
    cp_async_wait_all();

    T* dkg = reinterpret_cast<T*>(p.dk) + b * p.dk_batch_stride + hk * p.dk_head_stride;
    T* dvg = reinterpret_cast<T*>(p.dv) + b * p.dv_batch_stride + hk * p.dv_head_stride;
#pragma unroll
    for (int hh = 0; hh < 2; ++hh) {
        const int kj = krow[hh];
        if (kj < Sk) {
#pragma unroll
            for (int dn = 0; dn < D / 8; ++dn) {
                *reinterpret_cast<uint32_t*>(dkg + (long long)kj * p.dk_seq_stride + dn * 8 + 2 * tq) =
                    DT<T>::pack2(dk[dn][2 * hh] * p.scale, dk[dn][2 * hh + 1] * p.scale);
                *reinterpret_cast<uint32_t*>(dvg + (long long)kj * p.dv_seq_stride + dn * 8 + 2 * tq) =
                    DT<T>::pack2(dv[dn][2 * hh], dv[dn][2 * hh + 1]);
            }
        }
    }
}

}  // namespace flare_attn
