// Hopper dK/dV kernel (sm_90a, bf16/f16, D = 64 and 128): the contract of bwd_dkdv_tc_kernel (FlashAttentionBwd.cuh:
// dK, dV per key block; dQ by fp32 atomics into dq_accum unless p.deterministic), with every product on
// wgmma.mma_async (FlashAttentionWgmma.cuh).
//
// One CTA per (block of BC keys, kv head, batch): two warpgroups of 64 keys each at D = 128 (or one, 2 CTAs per SM:
// FLARE_BWD_WGMMA_WGS_D128), one at D = 64 (3 CTAs per SM); steps walk (query head of the
// GQA group, block of BR = 64 queries) as in the other dK/dV kernels, Q, dO, LSE and delta double-buffered. Per step
// and warpgroup, in the accumulator layout with keys as rows (warp i: 16 of the warpgroup's keys):
//   1. S^T = K Q^T and dP~^T = V dO^T (64 keys x 64 queries; K, V, Q, dO from 128-byte swizzled shared memory).
//   2. P∘Z and dS^T = P (Z dP~ - delta) in registers (bwd_p_ds_transposed); dS^T also to shared memory.
//   3. dV += (P∘Z)^T dO and dK += dS^T Q with P∘Z, dS^T as register A operands and dO, Q MN-major; the accumulators
//      stay in registers for the whole CTA.
//   4. dQ += dS K (64 queries x 64 d per product): A = dS read MN-major from the dS^T tile, B = K MN-major. With two
//      warpgroups at D = 128 warpgroup w takes d 64w .. 64w + 63 over all 128 keys; otherwise a warpgroup takes all of
//      d (64 at a time) over its own 64 keys. Into dq_accum by fp32 atomics, or at D = 64 by bulk adds from shared
//      memory (FLARE_BWD_DQ_BULK_SMALL_D).
#pragma once
#include "FlashAttentionBwdTile.cuh"
#include "FlashAttentionFwdWgmma.cuh"

// Whether flash_bwd_dkdv_tc_* runs this kernel for D = 128 (FLARE_BWD_WGMMA) and for D = 64 (both switches), in sm_90a
// device code and in host code planning launches for sm_90a (the harness); Java reads the choice from
// flash_launch_config. On an H100 (2026-12-07 09:20, harness --bench, bf16, 16k tokens, same call) this kernel took the
// D=128 backward from 187 to 233 TFLOP/s at S=4096, 162 to 196 at S=1024, 171 to 214 causal and 146 to 175 with
// dropout 0.1. At D=64 two warpgroups per CTA (190 registers, one CTA per SM) were 10-15% slower than the tile kernel,
// one warpgroup per CTA at 2 CTAs per SM 2-12% slower, and one warpgroup at 3 CTAs per SM (launch bounds: 168
// registers) 14-22% faster (09:28, same comparison: S=4096 166 -> 202, causal 154 -> 185, S=1024 148 -> 173, dropout
// 132 -> 141): the D=64 default.
#ifndef FLARE_BWD_WGMMA
#define FLARE_BWD_WGMMA 1
#endif
#ifndef FLARE_BWD_WGMMA_SMALL_D
#define FLARE_BWD_WGMMA_SMALL_D 1
#endif
// Warpgroups (64 keys each) per CTA at D = 64 (D = 128 always runs 2) and launch bounds' CTAs per SM there (0: the
// registers decide).
#ifndef FLARE_BWD_WGMMA_WGS_SMALL_D
#define FLARE_BWD_WGMMA_WGS_SMALL_D 1
#endif
#ifndef FLARE_BWD_WGMMA_MIN_BLOCKS_SMALL_D
#define FLARE_BWD_WGMMA_MIN_BLOCKS_SMALL_D 3
#endif
// Warpgroups per CTA at D = 128: 2 (128 keys, one CTA per SM: its warpgroups meet at every step's barriers, so the
// tensor cores idle through both softmaxes) or 1 (64 keys, 2 CTAs per SM at up to 255 registers, each CTA on its own
// schedule; twice the Q/dO loads and dQ atomics per key). 1 measured 5-10% slower on an H100 (2026-12-07 11:02), and
// 14-23% slower after the instruction cuts (16:25).
#ifndef FLARE_BWD_WGMMA_WGS_D128
#define FLARE_BWD_WGMMA_WGS_D128 2
#endif

// How a warpgroup's dQ product reaches dq_accum: 0 = fp32 float2 atomics from registers (16 red.global.add.v2.f32 per
// thread and step); 1 = staged in shared memory and added by the bulk-copy engine, one 256-byte cp.reduce.async.bulk
// .add.f32 per query row, each warp sending its own 16 rows (FlashAttention-3 sends dQ through shared memory too, from
// a producer warp). Applies where a warpgroup computes one dQ product per step (D = 64, and D = 128 with 2 warpgroups).
// Per head dim: FLARE_BWD_DQ_BULK_SMALL_D (D = 64) and FLARE_BWD_DQ_BULK_D128, both FLARE_BWD_DQ_BULK unless given.
// On an H100 (2026-12-07 22:58, harness --bench, bf16, 16k tokens, same call) bulk adds took the D=64 backward 2-5%
// faster on 5 of 7 rows (S=1024 212 -> 219 TFLOP/s, S=4096 251 -> 258), even causal at S=4096 (-0.2%), 1.9% slower
// with dropout (S=2048 causal); at D=128 they were 3-6% slower on every row (S=4096 298 -> 283): on at D=64 only.
#ifndef FLARE_BWD_DQ_BULK_SMALL_D
#ifdef FLARE_BWD_DQ_BULK
#define FLARE_BWD_DQ_BULK_SMALL_D FLARE_BWD_DQ_BULK
#else
#define FLARE_BWD_DQ_BULK_SMALL_D 1
#endif
#endif
#ifndef FLARE_BWD_DQ_BULK_D128
#ifdef FLARE_BWD_DQ_BULK
#define FLARE_BWD_DQ_BULK_D128 FLARE_BWD_DQ_BULK
#else
#define FLARE_BWD_DQ_BULK_D128 0
#endif
#endif
// Measured and removed (2026-12-07 22:58, same comparison; code in git 75ef2c0, FLARE_BWD_DQ_PAIR): dK/dV CTAs in
// clusters of 2 over adjacent key blocks that summed their dQ products through distributed shared memory before the
// atomics (half the atomics), one cluster barrier per step: 3-11% slower at D=64, 12-20% at D=128.

// Measurement only, never in a build that is used: 1 leaves dQ's product out of dq_accum (no atomics, no bulk adds), to
// bound what a cheaper dQ path could gain. dQ is wrong under it.
#ifndef FLARE_BWD_EXP_SKIP_DQ_ADD
#define FLARE_BWD_EXP_SKIP_DQ_ADD 0
#endif

// dS^T to shared memory by stmatrix, one instruction per 16 x 16 fragment (1), or by 4 st.shared.b32 (0).
#ifndef FLARE_BWD_DS_STMATRIX
#define FLARE_BWD_DS_STMATRIX 1
#endif

namespace flare_attn {

template <int D> struct BwdWgmmaCfg {
    static_assert(D == 64 || D == 128, "wgmma dK/dV: D = 64 or 128");
    static constexpr int NWG = D == 64 ? FLARE_BWD_WGMMA_WGS_SMALL_D : FLARE_BWD_WGMMA_WGS_D128;
    static constexpr int BC = 64 * NWG;   // keys per CTA
    static constexpr int BR = 64;         // queries per step
    static constexpr int NT = 128 * NWG;
    static constexpr int MIN_BLOCKS = D == 64 ? FLARE_BWD_WGMMA_MIN_BLOCKS_SMALL_D : (NWG == 1 ? 2 : 0);
    static_assert(NWG == 1 || NWG == 2, "one or two warpgroups per CTA");
    // dQ = dS K in 64-wide d halves: with 2 warpgroups at D = 128 warpgroup w takes half w over all BC keys; otherwise
    // each warpgroup takes every half (one after the other) over its own 64 keys.
    static constexpr bool DQ_SPLIT_D = D == 128 && NWG == 2;
    static constexpr int DQ_PRODUCTS = DQ_SPLIT_D ? 1 : D / 64;   // dQ products per warpgroup and step
    static constexpr bool DQ_BULK = (D == 64 ? FLARE_BWD_DQ_BULK_SMALL_D : FLARE_BWD_DQ_BULK_D128) && DQ_PRODUCTS == 1;
    // A staged dQ row: 64 fp32 and 16 bytes, so that a warp's float2 stores (8 rows x 32 bytes) take 2 shared-memory
    // wavefronts instead of 8; 16-byte aligned as the bulk copy needs.
    static constexpr int DQ_ROW_BYTES = 64 * 4 + 16;
    static constexpr int DQ_STAGE_BYTES = DQ_BULK ? NWG * BR * DQ_ROW_BYTES : 0;
    static constexpr int KV_BYTES = BC * D * 2, QO_BYTES = BR * D * 2, DS_BYTES = BC * BR * 2;
    // K, V; two buffers of Q, dO; dS^T; two buffers of lse * log2e and delta (fp32); the dQ staging rows (DQ_BULK);
    // 1 KiB to align to the swizzle atom. D = 64 with DQ_BULK: 76,800 bytes, so 3 CTAs (with 1 KiB reserved each) just
    // fit an SM's 228 KiB.
    static constexpr int SMEM_BYTES = 2 * KV_BYTES + 4 * QO_BYTES + DS_BYTES + 4 * BR * 4 + DQ_STAGE_BYTES + 1024;
};

// dq = dS K over KEYS keys (one committed wgmma group): A = dS read MN-major from the dS^T tile at ds0 ([BC keys]
// [64 queries], 128-byte swizzled), B = K MN-major from the 64-wide d chunk at kb0; k-step = 16 keys = 2048 bytes.
template <typename T, int BC, int KEYS>
__device__ __forceinline__ void bwd_dq_issue(float (&dq)[8][4], uint32_t ds0, uint32_t kb0) {
#pragma unroll
    for (int kk = 0; kk < KEYS / 16; ++kk)
        WgmmaOp<T, 64>::ss_mn(dq, wgmma_desc(ds0 + kk * 2048, BC * 128, 1024), wgmma_desc(kb0 + kk * 2048, BC * 128, 1024),
                              kk > 0);
    wgmma_commit();
}

// dq * scale added to dq_accum rows q0 .. q0 + 63 (row stride D floats from dqa, the product's first d column): warp
// i's 16 queries, float2 atomics; rows past Sq are skipped.
template <int D>
__device__ __forceinline__ void bwd_dq_atomics(const float (&dq)[8][4], float* dqa, int q0, int Sq, float scale,
                                               int warp, int g4, int tq) {
#pragma unroll
    for (int hh = 0; hh < 2; ++hh) {
        const int qi = q0 + warp * 16 + g4 + 8 * hh;
#pragma unroll
        for (int j = 0; j < 4; ++j)
            dq_add_slab_row(dqa + (long long)min(qi, Sq - 1) * D + j * 16, tq, qi < Sq, dq[2 * j][2 * hh] * scale,
                            dq[2 * j][2 * hh + 1] * scale, dq[2 * j + 1][2 * hh] * scale, dq[2 * j + 1][2 * hh + 1] * scale);
    }
}

// dq * scale added to dq_accum rows q0 .. q0 + 63 (row stride D floats from dqa) through the warpgroup's staging rows
// at `stage` (DQ_ROW_BYTES apart): warp i stores its 16 rows (float2 stores in the accumulator layout), then its lanes
// 0..15 each add one row of 256 bytes by cp.reduce.async.bulk (rows past Sq are skipped). The rows are rewritten a
// step later, after the lane's previous adds have read them (wait_group.read) and __syncwarp.
template <int D>
__device__ __forceinline__ void bwd_dq_bulk(const float (&dq)[8][4], uint32_t stage, float* dqa, int q0, int Sq, float scale,
                                            int warp, int lane) {
    constexpr int ROW = BwdWgmmaCfg<D>::DQ_ROW_BYTES;
    const int g4 = lane >> 2, tq = lane & 3;
    bulk_wait_read_all();
    __syncwarp();
    const uint32_t base = stage + (warp * 16 + g4) * ROW + tq * 8;
#pragma unroll
    for (int hh = 0; hh < 2; ++hh)
#pragma unroll
        for (int n = 0; n < 8; ++n)
            st_shared_v2_f32(base + hh * 8 * ROW + n * 32, dq[n][2 * hh] * scale, dq[n][2 * hh + 1] * scale);
    fence_proxy_async();   // the stores, visible to the bulk copy's (async) proxy
    __syncwarp();
    const int r = warp * 16 + lane;
    if (lane < 16 && q0 + r < Sq) bulk_reduce_add_f32(dqa + (long long)(q0 + r) * D, stage + r * ROW, 256);
    bulk_commit();
}

template <typename T, int D>
__device__ __forceinline__ void bwd_dkdv_wgmma_kernel(const FlashBwdParams p) {
#if defined(__CUDA_ARCH__) && defined(__CUDA_ARCH_FEAT_SM90_ALL)
    using C = BwdWgmmaCfg<D>;
    constexpr int NT = C::NT, BC = C::BC, BR = C::BR;
    extern __shared__ __align__(16) unsigned char smem_raw[];
    const uint32_t sK = (smem_u32(smem_raw) + 1023u) & ~1023u;
    const uint32_t sV = sK + C::KV_BYTES;
    const uint32_t sQbuf = sV + C::KV_BYTES;            // [2] swizzled [BR][D]
    const uint32_t sdObuf = sQbuf + 2 * C::QO_BYTES;    // [2]
    const uint32_t sdS = sdObuf + 2 * C::QO_BYTES;      // swizzled [BC keys][BR queries]
    float* sLseBuf = reinterpret_cast<float*>(smem_raw + (sdS + C::DS_BYTES - smem_u32(smem_raw)));  // [2][BR]
    float* sDeltaBuf = sLseBuf + 2 * BR;                                                           // [2][BR]
    // DQ_BULK: [NWG][BR] rows of DQ_ROW_BYTES
    const uint32_t sDqStage = sdS + C::DS_BYTES + 4 * BR * 4;

    const int tid = threadIdx.x, wg = tid >> 7, warp = (tid >> 5) & 3, lane = tid & 31;
    const int g4 = lane >> 2, tq = lane & 3;
    const int k0 = blockIdx.x * BC, hk = blockIdx.y, b = blockIdx.z;
    const int Sq = p.Sq, Sk = p.Sk;
    const int off = causal_offset(p.causal, Sq, Sk);
    const float sl2 = p.scale * kLog2e;

    const T* kg = reinterpret_cast<const T*>(p.k) + b * p.k_batch_stride + hk * p.k_head_stride;
    const T* vg = reinterpret_cast<const T*>(p.v) + b * p.v_batch_stride + hk * p.v_head_stride;
    load_tile_swizzled<T, D, BC, NT>(sK, kg, p.k_seq_stride, k0, Sk, tid);
    load_tile_swizzled<T, D, BC, NT>(sV, vg, p.v_seq_stride, k0, Sk, tid);

    float dk[D / 8][4], dv[D / 8][4];
#pragma unroll
    for (int i = 0; i < D / 8; ++i)
#pragma unroll
        for (int e = 0; e < 4; ++e) dk[i][e] = dv[i][e] = 0.f;

    const int kw0 = k0 + wg * 64 + warp * 16;                 // this warp's first key
    const int krow[2] = {kw0 + g4, kw0 + g4 + 8};             // keys of this thread's accumulator rows
    const uint32_t sK_wg = sK + wg * 64 * 128, sV_wg = sV + wg * 64 * 128;   // this warpgroup's 64 key rows

    const BwdQuerySteps<BR> steps(p, hk, k0, off);
    const int n_steps = steps.count;
    auto load_step = [&](const typename BwdQuerySteps<BR>::Cursor& at, int buf) {
        const int h = at.h, q0 = at.q0;
        const long long bh = (long long)b * p.Hq + h;
        load_tile_swizzled<T, D, BR, NT>(sQbuf + buf * C::QO_BYTES,
                                         reinterpret_cast<const T*>(p.q) + b * p.q_batch_stride + h * p.q_head_stride,
                                         p.q_seq_stride, q0, Sq, tid);
        load_tile_swizzled<T, D, BR, NT>(sdObuf + buf * C::QO_BYTES,
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
        const uint32_t sQ = sQbuf + buf * C::QO_BYTES, sdO = sdObuf + buf * C::QO_BYTES;
        const float* sLse = sLseBuf + buf * BR;
        const float* sDelta = sDeltaBuf + buf * BR;

        __syncthreads();   // the previous step's readers of the other buffers and of sdS are done
        if (step + 1 < n_steps) {
            load_step(next, buf ^ 1);
            next.advance(steps);
        }
        cp_async_commit();
        cp_async_wait_one();   // this step's group has landed (the next one may still fly)
        bwd_lse_to_log2<BR, NT>(sLseBuf + buf * BR, tid);
        fence_proxy_async();
        __syncthreads();

        // ---- 1. S^T = K Q^T, dP~^T = V dO^T: 64 keys x 64 queries per warpgroup
        float s[BR / 8][4], dp[BR / 8][4];
        wgmma_fence();
#pragma unroll
        for (int kk = 0; kk < D / 16; ++kk) {
            const uint32_t kv_off = (kk >> 2) * BC * 128 + (kk & 3) * 32, qo_off = (kk >> 2) * BR * 128 + (kk & 3) * 32;
            WgmmaOp<T, BR>::ss(s, wgmma_desc(sK_wg + kv_off, 16, 1024), wgmma_desc(sQ + qo_off, 16, 1024), kk > 0);
            WgmmaOp<T, BR>::ss(dp, wgmma_desc(sV_wg + kv_off, 16, 1024), wgmma_desc(sdO + qo_off, 16, 1024), kk > 0);
        }
        wgmma_commit();
        wgmma_wait<0>();
        wgmma_fence_operands(s);
        wgmma_fence_operands(dp);

        // ---- 2. P∘Z, dS^T (in place), dS^T to shared memory as bf16/f16 for dQ
        const bool need_mask = (q0 + BR > Sq) || (k0 + BC > Sk) || (p.causal && (kw0 + 15 > q0 + off));
        bwd_p_ds_transposed<BR>(s, dp, p, bh, q0, kw0, krow, sLse, sDelta, need_mask, off, sl2, g4, tq);
        uint32_t ap[BR / 16][4], ad[BR / 16][4];
#pragma unroll
        for (int kk = 0; kk < BR / 16; ++kk) {
            fwd_p_fragment<T, BR>(s, kk, ap[kk]);
            fwd_p_fragment<T, BR>(dp, kk, ad[kk]);
        }
        if (!p.deterministic) {
#if FLARE_BWD_DS_STMATRIX
            // ad[kk][j] is 8x8 matrix j of the warp's 16 keys x queries 16 kk ..: rows + 8 (j & 1), columns + 8 (j >> 1);
            // lane l gives row l & 7 of matrix l >> 3 (a whole 16-byte chunk of the swizzled tile)
            const int mr = wg * 64 + warp * 16 + ((lane >> 3) & 1) * 8 + (lane & 7), mc = (lane >> 4) * 8;
#pragma unroll
            for (int kk = 0; kk < BR / 16; ++kk) stmatrix_x4(sdS + swz_offset(BC, mr, kk * 16 + mc), ad[kk]);
#else
            const int r0 = wg * 64 + warp * 16 + g4;   // key row in the dS^T tile
#pragma unroll
            for (int kk = 0; kk < BR / 16; ++kk) {
                const int c = kk * 16 + 2 * tq;        // query column
                asm volatile("st.shared.b32 [%0], %1;\n" ::"r"(sdS + swz_offset(BC, r0, c)), "r"(ad[kk][0]));
                asm volatile("st.shared.b32 [%0], %1;\n" ::"r"(sdS + swz_offset(BC, r0 + 8, c)), "r"(ad[kk][1]));
                asm volatile("st.shared.b32 [%0], %1;\n" ::"r"(sdS + swz_offset(BC, r0, c + 8)), "r"(ad[kk][2]));
                asm volatile("st.shared.b32 [%0], %1;\n" ::"r"(sdS + swz_offset(BC, r0 + 8, c + 8)), "r"(ad[kk][3]));
            }
#endif
            fence_proxy_async();
        }

        // ---- 3. dV += (P∘Z)^T dO, dK += dS^T Q: B = dO, Q MN-major, k-step kk = 16 queries = 2048 bytes
        wgmma_fence_operands(ap);   // the fragments' packing stays before the fence
        wgmma_fence_operands(ad);
        wgmma_fence_operands(dv);
        wgmma_fence_operands(dk);
        wgmma_fence();
#pragma unroll
        for (int kk = 0; kk < BR / 16; ++kk) {
            WgmmaOp<T, D>::rs(dv, ap[kk], wgmma_desc(sdO + kk * 2048, BR * 128, 1024));
            WgmmaOp<T, D>::rs(dk, ad[kk], wgmma_desc(sQ + kk * 2048, BR * 128, 1024));
        }
        wgmma_commit();

        // ---- 4. dQ += dS K (64 queries x 64 d per product; see the header), fp32 atomics. (Issuing the first dQ
        // product before dV/dK, to run its atomics while they are on the tensor cores, made ptxas serialize the
        // products (C7514) and spill 512 bytes at D=64.)
        if (!p.deterministic) {
            __syncthreads();   // every warp's dS^T rows are in shared memory
            constexpr int KEYS = C::DQ_SPLIT_D ? BC : 64;   // keys a product sums over
            const uint32_t ds0 = C::DQ_SPLIT_D ? sdS : sdS + wg * 64 * 128;
            float* dqa = p.dq_accum + (long long)bh * Sq * D;
#pragma unroll
            for (int half = 0; half < (C::DQ_SPLIT_D ? 1 : D / 64); ++half) {
                const int dh = C::DQ_SPLIT_D ? wg : half;   // the 64-wide d half of this product
                // B: K's 128-byte column chunk dh (BC rows apart); split: all BC keys, else this warpgroup's 64
                const uint32_t kb0 = sK + dh * BC * 128 + (C::DQ_SPLIT_D ? 0 : wg * 64 * 128);
                float dq[8][4];
                wgmma_fence();
                bwd_dq_issue<T, BC, KEYS>(dq, ds0, kb0);
                wgmma_wait<0>();
                wgmma_fence_operands(dq);
                if constexpr (FLARE_BWD_EXP_SKIP_DQ_ADD) continue;
                if constexpr (C::DQ_BULK)
                    bwd_dq_bulk<D>(dq, sDqStage + wg * BR * C::DQ_ROW_BYTES, dqa + dh * 64, q0, Sq, p.scale, warp, lane);
                else
                    bwd_dq_atomics<D>(dq, dqa + dh * 64, q0, Sq, p.scale, warp, g4, tq);
            }
        }
        wgmma_wait<0>();   // the dV/dK group (already retired by the dQ wait unless p.deterministic)
        wgmma_fence_operands(dv);
        wgmma_fence_operands(dk);
        wgmma_fence_operands(ap);   // the A fragments are free only now
        wgmma_fence_operands(ad);
    }
    cp_async_wait_all();
    if constexpr (C::DQ_BULK) bulk_wait_all();   // the dQ adds have read shared memory and written dq_accum

    T* dkg = reinterpret_cast<T*>(p.dk) + b * p.dk_batch_stride + hk * p.dk_head_stride;
    T* dvg = reinterpret_cast<T*>(p.dv) + b * p.dv_batch_stride + hk * p.dv_head_stride;
#pragma unroll
    for (int hh = 0; hh < 2; ++hh) {
        const int kj = krow[hh];
        if (kj < Sk) {
#pragma unroll
            for (int dn = 0; dn < D / 8; ++dn) {
                const int d = dn * 8 + 2 * tq;
                *reinterpret_cast<uint32_t*>(dkg + (long long)kj * p.dk_seq_stride + d) =
                    DT<T>::pack2(dk[dn][2 * hh] * p.scale, dk[dn][2 * hh + 1] * p.scale);
                *reinterpret_cast<uint32_t*>(dvg + (long long)kj * p.dv_seq_stride + d) =
                    DT<T>::pack2(dv[dn][2 * hh], dv[dn][2 * hh + 1]);
            }
        }
    }
#endif
}

#if FLARE_BWD_WGMMA && (!defined(__CUDA_ARCH__) || defined(__CUDA_ARCH_FEAT_SM90_ALL))
static constexpr bool kBwdWgmma = true;
#else
static constexpr bool kBwdWgmma = false;
#endif
template <int D> struct BwdUsesWgmma {
    static constexpr bool value = kBwdWgmma && (D == 128 || (D == 64 && FLARE_BWD_WGMMA_SMALL_D));
};
// The configuration of the kernel flash_bwd_dkdv_tc_<dt>_d<D> runs (BC, NT, MIN_BLOCKS, SMEM_BYTES).
template <int D>
using BwdDkdvLaunchCfg = std::conditional_t<BwdUsesWgmma<D>::value, BwdWgmmaCfg<D>, BwdTcLaunchCfg<D>>;
template <typename T, int D>
__device__ __forceinline__ void bwd_dkdv_entry(const FlashBwdParams& p) {
    if constexpr (BwdUsesWgmma<D>::value) bwd_dkdv_wgmma_kernel<T, D>(p);
    else bwd_dkdv_tc_entry<T, D>(p);
}

}  // namespace flare_attn
