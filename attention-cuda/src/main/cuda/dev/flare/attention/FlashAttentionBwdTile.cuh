// Tensor-core dK/dV kernel in FlashAttention-2's backward layout (bf16/f16, D in {32, 64, 96, 128}). Same contract
// as bwd_dkdv_tc_kernel (FlashAttentionBwd.cuh): dK, dV per key block, dQ by fp32 atomics into dq_accum unless
// p.deterministic. Used for D >= FLARE_BWD_TILE_MIN_D (64 by default; see the end of this file).
//
// One CTA per (block of BC keys, kv head, batch): BC = 128 (8 warps), or 64 (4 warps) at D <= 64 when
// FLARE_BWD_TILE_BC_SMALL_D says so. Steps walk (query head of the GQA group, block of BR = 64 queries). Each step runs
// four products, each with its own warp grid so that every warp's tile is at least 32 x 32 and each fragment read
// from shared memory feeds 2-4 mma (the 16-key-per-warp layout of bwd_dkdv_tc_kernel feeds 1.3-2):
//   1. S = Q K^T and dP~ = dO V^T, (BR x BC): warps 2 (queries) x BC/32 (keys), 32 x 32 each.
//   2. P = exp(S scale - lse), Z the dropout mask, dS = P (Z dP~ - delta); P∘Z and dS go to shared memory (bf16/f16).
//   3. dV += (P∘Z)^T dO and dK += dS^T Q, (BC x D): warps BC/32 (keys) x 2 (d), 32 x D/2 each; the accumulators stay
//      in registers for the whole CTA.
//   4. dQ += dS K, (BR x D): 8 warps 2 x 4 (32 x D/4) where D/4 is a multiple of 16, else 32 x D/2 per warp; fp32
//      atomics.
#pragma once
#include <type_traits>
#include "FlashAttentionBwd.cuh"

namespace flare_attn {

// Keys per CTA of the tile kernel at D <= 64: 128 (8 warps, one CTA per SM at D=64) or 64 (4 warps, ~170 registers:
// three CTAs per SM). On an H100 (2026-12-07 08:45, harness --bench, bf16, 16k tokens, D=64, same call) 64 keys ran the
// backward at 146 / 120 / 166 / 154 TFLOP/s (S=1024, causal 0/1; S=4096, causal 0/1) against 117 / 94 / 133 / 123 with
// 128 keys and 139 / 116 / 154 / 148 with the 16-keys-per-warp kernel.
#ifndef FLARE_BWD_TILE_BC_SMALL_D
#define FLARE_BWD_TILE_BC_SMALL_D 64
#endif

template <int D> struct BwdTileCfg {
    static constexpr int BC = D <= 64 ? FLARE_BWD_TILE_BC_SMALL_D : 128;   // keys per CTA
    static constexpr int BR = 64;                    // queries per step
    static constexpr int NW = BR * BC / 1024;        // one warp per 32 x 32 tile of S
    static constexpr int NT = NW * 32;
    static constexpr int MIN_BLOCKS = NW == 4 ? 3 : 0;   // launch bounds' CTAs per SM (0: the registers decide)
    static constexpr int LD = D + 8;                 // K, V, Q, dO smem row stride (elements): 16-byte pad
    static constexpr int LDP = BC + 8;               // P∘Z, dS smem row stride (elements)
    // bytes: K, V [BC][LD]; two buffers of Q, dO [BR][LD]; P∘Z, dS [BR][LDP] (2-byte); two buffers of lse*log2e and
    // delta [BR] (fp32). The second buffers let the next step's loads fly while this one computes.
    static constexpr int SMEM_BYTES = (2 * BC * LD + 4 * BR * LD + 2 * BR * LDP) * 2 + 4 * BR * 4;
    // S / dP~ warp grid: WQ_S x WK_S warps of 32 queries x 32 keys
    static constexpr int WK_S = BC / 32, WQ_S = BR / 32;
    // dK / dV warp grid: WK_KV x WD_KV warps of 32 keys x D / WD_KV
    static constexpr int WK_KV = BC / 32, WD_KV = NW / WK_KV;
    static constexpr int PP_KV = D / WD_KV / 16;     // 16-wide d slabs per warp in dK/dV
    // dQ warp grid: WM_Q x WN_Q warps: 2 x 4 (8 warps, D/4 whole 16-wide slabs), else 32 queries x D/2 per warp
    static constexpr int WN_Q = (NW == 8 && (D / 4) % 16 == 0) ? 4 : (D / 2) % 16 == 0 ? 2 : 1;
    static constexpr int WM_Q = NW / WN_Q;
    static constexpr int MT_Q = BR / 16 / WM_Q;      // m-tiles per warp in dQ
    static constexpr int PP_Q = D / WN_Q / 16;       // 16-wide d slabs per warp in dQ
    static_assert(BR == 64 && (BC == 128 || BC == 64), "64 queries x 64 or 128 keys per step");
    static_assert(WD_KV * WK_KV == NW && PP_KV * WD_KV * 16 == D, "dK/dV warp grid");
    static_assert(WM_Q * WN_Q == NW && MT_Q * WM_Q * 16 == BR && PP_Q * WN_Q * 16 == D, "dQ warp grid");
};

template <typename T, int D>
__device__ __forceinline__ void bwd_dkdv_tile_kernel(const FlashBwdParams p) {
    using C = BwdTileCfg<D>;
    static_assert(D % 32 == 0 && D <= 128, "head dims 32, 64, 96, 128");
    constexpr int NT = C::NT, BC = C::BC, BR = C::BR, LD = C::LD, LDP = C::LDP;
    extern __shared__ __align__(16) unsigned char smem_raw[];
    T* sK = reinterpret_cast<T*>(smem_raw);
    T* sV = sK + BC * LD;
    T* sQbuf = sV + BC * LD;          // [2][BR][LD]
    T* sdObuf = sQbuf + 2 * BR * LD;  // [2][BR][LD]
    T* sP = sdObuf + 2 * BR * LD;     // [BR][LDP], P∘Z (query-major)
    T* sdS = sP + BR * LDP;           // [BR][LDP], dS (query-major)
    float* sLseBuf = reinterpret_cast<float*>(sdS + BR * LDP);  // [2][BR] lse * log2e
    float* sDeltaBuf = sLseBuf + 2 * BR;                        // [2][BR]

    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
    const int g4 = lane >> 2, tq = lane & 3;
    const int k0 = blockIdx.x * BC, hk = blockIdx.y, b = blockIdx.z;
    const int Sq = p.Sq, Sk = p.Sk;
    const int off = causal_offset(p.causal, Sq, Sk);
    const float sl2 = p.scale * kLog2e;
    const uint32_t seed0 = (uint32_t)(p.seed & 0xffffffffull), seed1 = (uint32_t)(p.seed >> 32);

    // warp grids (see the header comment)
    const unsigned uw = (unsigned)warp;   // unsigned: the divisions below are shifts
    const int wq_s = uw / C::WK_S, wk_s = uw % C::WK_S;       // 1, 2: queries wq_s*32.., keys wk_s*32..
    const int wk_kv = uw / C::WD_KV, wd_kv = uw % C::WD_KV;   // 3: keys wk_kv*32.., d wd_kv*D/WD_KV..
    const int wq_q = uw / C::WN_Q, wd_q = uw % C::WN_Q;  // 4: queries wq_q*16*MT_Q.., d wd_q*16*PP_Q..

    const T* kg = reinterpret_cast<const T*>(p.k) + b * p.k_batch_stride + hk * p.k_head_stride;
    const T* vg = reinterpret_cast<const T*>(p.v) + b * p.v_batch_stride + hk * p.v_head_stride;
    load_tile_async<T, D, BC, NT>(sK, kg, p.k_seq_stride, k0, Sk, tid);
    load_tile_async<T, D, BC, NT>(sV, vg, p.v_seq_stride, k0, Sk, tid);

    float dk[2][2 * C::PP_KV][4], dv[2][2 * C::PP_KV][4];
#pragma unroll
    for (int mt = 0; mt < 2; ++mt)
#pragma unroll
        for (int i = 0; i < 2 * C::PP_KV; ++i)
#pragma unroll
            for (int e = 0; e < 4; ++e) dk[mt][i][e] = dv[mt][i][e] = 0.f;

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

        __syncthreads();  // the previous step's readers of the other buffer, sP and sdS are done
        if (step + 1 < n_steps) {
            load_step(next, buf ^ 1);
            next.advance(steps);
        }
        cp_async_commit();
        cp_async_wait_one();  // this step's group has landed (the next one may still fly)
        bwd_lse_to_log2<BR, NT>(sLseBuf + buf * BR, tid);
        __syncthreads();

        // ---- 1. S = Q K^T, dP~ = dO V^T: this warp's 32 queries x 32 keys
        float s[2][4][4], dp[2][4][4];
#pragma unroll
        for (int mt = 0; mt < 2; ++mt)
#pragma unroll
            for (int nt = 0; nt < 4; ++nt)
#pragma unroll
                for (int e = 0; e < 4; ++e) s[mt][nt][e] = dp[mt][nt][e] = 0.f;
#pragma unroll
        for (int kk = 0; kk < D / 16; ++kk) {
            uint32_t aq[2][4], ao[2][4];
#pragma unroll
            for (int mt = 0; mt < 2; ++mt) {
                const int aoff = (wq_s * 32 + mt * 16 + (lane & 15)) * LD + kk * 16 + (lane >> 4) * 8;
                ldmatrix_x4(aq[mt], sQ + aoff);
                ldmatrix_x4(ao[mt], sdO + aoff);
            }
#pragma unroll
            for (int pp = 0; pp < 2; ++pp) {
                const int boff = (wk_s * 32 + pp * 16 + (lane & 7) + ((lane >> 4) << 3)) * LD + kk * 16 +
                                 ((lane >> 3) & 1) * 8;
                uint32_t bk[4], bv[4];
                ldmatrix_x4(bk, sK + boff);
                ldmatrix_x4(bv, sV + boff);
#pragma unroll
                for (int mt = 0; mt < 2; ++mt) {
                    DT<T>::mma(s[mt][2 * pp], aq[mt], bk[0], bk[1]);
                    DT<T>::mma(s[mt][2 * pp + 1], aq[mt], bk[2], bk[3]);
                    DT<T>::mma(dp[mt][2 * pp], ao[mt], bv[0], bv[1]);
                    DT<T>::mma(dp[mt][2 * pp + 1], ao[mt], bv[2], bv[3]);
                }
            }
        }

        // ---- 2. P, dropout, dS -> shared memory. Element (mt, nt, e): query row wq_s*32 + mt*16 + g4 + 8(e >> 1),
        // key column wk_s*32 + nt*8 + 2tq + (e & 1) of the step's tile.
        const int kc0 = k0 + wk_s * 32;
        const bool need_mask = (q0 + BR > Sq) || (k0 + BC > Sk) || (p.causal && (kc0 + 31 > q0 + wq_s * 32 + off));
#pragma unroll
        for (int mt = 0; mt < 2; ++mt) {
            const int qr = wq_s * 32 + mt * 16 + g4;   // step-local query row of e = 0, 1 (e = 2, 3: qr + 8)
            uint32_t zb[4];
            if (p.dropout) dropout_bytes_fwd(seed0, seed1, p.offset_lo, bh, kc0, q0 + qr, q0 + qr + 8, tq, zb);
#pragma unroll
            for (int nt = 0; nt < 4; ++nt) {
                float pz[4], ds[4];
#pragma unroll
                for (int e = 0; e < 4; ++e) {
                    const int ql = qr + 8 * (e >> 1);
                    const int qi = q0 + ql, kj = kc0 + nt * 8 + 2 * tq + (e & 1);
                    bool valid = true;
                    if (need_mask) valid = qi < Sq && kj < Sk && !(p.causal && kj > qi + off);
                    const float z = !p.dropout ? 1.f
                                    : byte_kept(zb[2 * (nt >> 1) + (e >> 1)], 2 * (nt & 1) + (e & 1), p.drop_threshold)
                                        ? p.keep_scale : 0.f;
                    const float P = exp2_fast(valid ? s[mt][nt][e] * sl2 - sLse[ql] : -INFINITY);
                    pz[e] = P * z;
                    ds[e] = P * (dp[mt][nt][e] * z - sDelta[ql]);
                }
                const int col = wk_s * 32 + nt * 8 + 2 * tq;
                *reinterpret_cast<uint32_t*>(sP + qr * LDP + col) = DT<T>::pack2(pz[0], pz[1]);
                *reinterpret_cast<uint32_t*>(sP + (qr + 8) * LDP + col) = DT<T>::pack2(pz[2], pz[3]);
                *reinterpret_cast<uint32_t*>(sdS + qr * LDP + col) = DT<T>::pack2(ds[0], ds[1]);
                *reinterpret_cast<uint32_t*>(sdS + (qr + 8) * LDP + col) = DT<T>::pack2(ds[2], ds[3]);
            }
        }
        __syncthreads();  // sP, sdS complete

        // ---- 3. dV += (P∘Z)^T dO, dK += dS^T Q: this warp's 32 keys x D/WD_KV. A = P^T, dS^T read transposed from the
        // query-major tiles; B = dO, Q read transposed (k = query, n = d).
#pragma unroll
        for (int kk = 0; kk < BR / 16; ++kk) {
            uint32_t ap[2][4], ad[2][4];
#pragma unroll
            for (int mt = 0; mt < 2; ++mt) {
                const int aoff = (kk * 16 + (lane & 7) + (lane >> 4) * 8) * LDP + wk_kv * 32 + mt * 16 +
                                 ((lane >> 3) & 1) * 8;
                ldmatrix_x4_trans(ap[mt], sP + aoff);
                ldmatrix_x4_trans(ad[mt], sdS + aoff);
            }
#pragma unroll
            for (int j = 0; j < C::PP_KV; ++j) {
                const int boff = (kk * 16 + (lane & 7) + ((lane >> 3) & 1) * 8) * LD + (wd_kv * C::PP_KV + j) * 16 +
                                 (lane >> 4) * 8;
                uint32_t bo[4], bq[4];
                ldmatrix_x4_trans(bo, sdO + boff);
                ldmatrix_x4_trans(bq, sQ + boff);
#pragma unroll
                for (int mt = 0; mt < 2; ++mt) {
                    DT<T>::mma(dv[mt][2 * j], ap[mt], bo[0], bo[1]);
                    DT<T>::mma(dv[mt][2 * j + 1], ap[mt], bo[2], bo[3]);
                    DT<T>::mma(dk[mt][2 * j], ad[mt], bq[0], bq[1]);
                    DT<T>::mma(dk[mt][2 * j + 1], ad[mt], bq[2], bq[3]);
                }
            }
        }

        // ---- 4. dQ += dS K: this warp's 16 MT_Q queries x 16 PP_Q d; fp32 atomics into dq_accum
        if (!p.deterministic) {
            float acc[C::MT_Q][C::PP_Q][2][4];
#pragma unroll
            for (int mt = 0; mt < C::MT_Q; ++mt)
#pragma unroll
                for (int j = 0; j < C::PP_Q; ++j)
#pragma unroll
                    for (int e = 0; e < 4; ++e) acc[mt][j][0][e] = acc[mt][j][1][e] = 0.f;
#pragma unroll
            for (int kk = 0; kk < BC / 16; ++kk) {
                uint32_t a[C::MT_Q][4];
#pragma unroll
                for (int mt = 0; mt < C::MT_Q; ++mt)
                    ldmatrix_x4(a[mt], sdS + ((wq_q * C::MT_Q + mt) * 16 + (lane & 15)) * LDP + kk * 16 + (lane >> 4) * 8);
#pragma unroll
                for (int j = 0; j < C::PP_Q; ++j) {
                    uint32_t bk[4];
                    ldmatrix_x4_trans(bk, sK + (kk * 16 + (lane & 7) + ((lane >> 3) & 1) * 8) * LD +
                                              (wd_q * C::PP_Q + j) * 16 + (lane >> 4) * 8);
#pragma unroll
                    for (int mt = 0; mt < C::MT_Q; ++mt) {
                        DT<T>::mma(acc[mt][j][0], a[mt], bk[0], bk[1]);
                        DT<T>::mma(acc[mt][j][1], a[mt], bk[2], bk[3]);
                    }
                }
            }
            float* dqa = p.dq_accum + (long long)bh * Sq * D;
#pragma unroll
            for (int mt = 0; mt < C::MT_Q; ++mt)
#pragma unroll
                for (int hh = 0; hh < 2; ++hh) {
                    const int qi = q0 + (wq_q * C::MT_Q + mt) * 16 + g4 + 8 * hh;
#pragma unroll
                    for (int j = 0; j < C::PP_Q; ++j)
                        dq_add_slab_row(dqa + (long long)min(qi, Sq - 1) * D + (wd_q * C::PP_Q + j) * 16, tq, qi < Sq,
                                        acc[mt][j][0][2 * hh] * p.scale, acc[mt][j][0][2 * hh + 1] * p.scale,
                                        acc[mt][j][1][2 * hh] * p.scale, acc[mt][j][1][2 * hh + 1] * p.scale);
                }
        }
    }
    cp_async_wait_all();

    T* dkg = reinterpret_cast<T*>(p.dk) + b * p.dk_batch_stride + hk * p.dk_head_stride;
    T* dvg = reinterpret_cast<T*>(p.dv) + b * p.dv_batch_stride + hk * p.dv_head_stride;
#pragma unroll
    for (int mt = 0; mt < 2; ++mt)
#pragma unroll
        for (int hh = 0; hh < 2; ++hh) {
            const int kj = k0 + wk_kv * 32 + mt * 16 + g4 + 8 * hh;
            if (kj < Sk) {
#pragma unroll
                for (int dn = 0; dn < 2 * C::PP_KV; ++dn) {
                    const int d = wd_kv * (D / C::WD_KV) + dn * 8 + 2 * tq;
                    *reinterpret_cast<uint32_t*>(dkg + (long long)kj * p.dk_seq_stride + d) =
                        DT<T>::pack2(dk[mt][dn][2 * hh] * p.scale, dk[mt][dn][2 * hh + 1] * p.scale);
                    *reinterpret_cast<uint32_t*>(dvg + (long long)kj * p.dv_seq_stride + d) =
                        DT<T>::pack2(dv[mt][dn][2 * hh], dv[mt][dn][2 * hh + 1]);
                }
            }
        }
}

// Which tensor-core dK/dV kernel the flash_bwd_dkdv_tc_* entry points run: bwd_dkdv_tile_kernel (this file) for
// D >= FLARE_BWD_TILE_MIN_D, bwd_dkdv_tc_kernel (16 keys per warp) below it. On an H100 (2026-12-07, harness --bench,
// bf16, 16k tokens, same call) the tile kernel took D=128 from 165 to 190 TFLOP/s (S=4096), 154 to 163 (S=1024), 164
// to 173 (causal) and 142 to 150 (dropout 0.1). At D=64 its 128-key shape was 12-18% slower than the old kernel (which
// keeps K and V fragments in registers and runs 2 CTAs per SM), its 64-key shape 3-8% faster (see
// FLARE_BWD_TILE_BC_SMALL_D), so the default is 64. D=32 keeps the old kernel until measured. A build may set 32 (tile
// everywhere) or 256 (nowhere) to compare.
// BwdTcLaunchCfg<D> is the chosen kernel's configuration (BC keys per CTA, NT threads, SMEM_BYTES), read by the launch
// table and the harness.
// Hopper only: at D=128 the tile kernel needs 171 KiB of shared memory, more than an sm_80 block may have (163 KiB) or
// an sm_86/89 one (99 KiB). The device code of each architecture makes its own choice, and flash_launch_config (a
// kernel, so compiled per architecture) reports it to the launcher.
#ifndef FLARE_BWD_TILE_MIN_D
#define FLARE_BWD_TILE_MIN_D 64
#endif
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ < 900
static constexpr int kBwdTileMinD = 1 << 30;
#else
static constexpr int kBwdTileMinD = FLARE_BWD_TILE_MIN_D;
#endif
template <int D> using BwdTcLaunchCfg = std::conditional_t<(D >= kBwdTileMinD), BwdTileCfg<D>, BwdTcCfg<D>>;
template <typename T, int D>
__device__ __forceinline__ void bwd_dkdv_tc_entry(const FlashBwdParams& p) {
    if constexpr (D >= kBwdTileMinD) bwd_dkdv_tile_kernel<T, D>(p);
    else bwd_dkdv_tc_kernel<T, D>(p);
}

}  // namespace flare_attn
