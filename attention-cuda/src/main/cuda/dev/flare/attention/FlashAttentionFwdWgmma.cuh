// Hopper forward kernel (sm_90a, bf16/f16, D = 64 and 128): the contract of fwd_tc_kernel (FlashAttentionFwd.cuh:
// O, the row logsumexp, causal modes, dropout, GQA, any Sq/Sk; row strides multiples of 8 elements on 16-byte aligned
// bases, as for every 16-byte cp.async kernel here), with both products on wgmma.mma_async
// (FlashAttentionWgmma.cuh) instead of mma.sync.
//
// One CTA per (block of BM = 64 * NWG query rows, head, batch); warpgroup w owns rows 64w .. 64w + 63 and warp i of it
// 16 of those, in the mma.sync accumulator layout, so masking, online softmax, dropout and the epilogue are the
// m-tile helpers of FlashAttentionFwd.cuh. Per key block of BN keys: S = Q K^T (both operands from shared memory),
// then P in registers (the A operand of the next product without shuffles), then O += P V (V from shared memory,
// MN-major). K and V are double-buffered by cp.async into 128-byte swizzled tiles. The tensor cores idle while a
// warpgroup runs its softmax; the other warpgroups of the SM fill that time (no intra-warpgroup pipelining yet).
#pragma once
#include "FlashAttentionFwd.cuh"
#include "FlashAttentionWgmma.cuh"
#include <type_traits>

// Warpgroups (64 query rows each) per CTA, keys per block at D = 64 / D = 128, and CTAs per SM. A harness build may
// override them. On an H100 (2026-12-07 08:58, harness --bench, bf16, 16k tokens, same call, TFLOP/s at S=4096, D=64 /
// D=128): these defaults (2 warpgroups, 128 / 64 keys, 2 CTAs per SM at 128 registers) 320 / 372; one CTA per SM (153 /
// 143 registers) 239 / 280; 64 keys at D=64 with 2 CTAs 266 / -; 3 warpgroups 301 / 354; 128 keys at D=128 - / 323.
// The mma.sync kernel: 266 / 298. Two CTAs per SM let one CTA's softmax run while the other's wgmma do.
#ifndef FLARE_FWD_WGMMA_WGS
#define FLARE_FWD_WGMMA_WGS 2
#endif
#ifndef FLARE_FWD_WGMMA_BN_SMALL_D
#define FLARE_FWD_WGMMA_BN_SMALL_D 128
#endif
#ifndef FLARE_FWD_WGMMA_BN
#define FLARE_FWD_WGMMA_BN 64
#endif
#ifndef FLARE_FWD_WGMMA_MIN_BLOCKS
#define FLARE_FWD_WGMMA_MIN_BLOCKS 2
#endif
// 1: dropout masks P after its packing into the bf16/f16 A fragments, one 32-key group of Philox bytes at a time
// (fwd_dropout_packed: a byte compare for 4 elements at once, then one PRMT and one AND per 2 elements); 0: the fp32
// select per element on S, with the bytes of the whole key block live (fwd_dropout_bytes + fwd_dropout_apply, as
// fwd_tc_kernel does), which spilled 28 bytes at D=64 under the 128-register bound. (Computing the bytes while
// S = Q K^T runs was tried on 2026-12-07 09:11: 16 more live registers, slower everywhere at D=64.)
#ifndef FLARE_FWD_WGMMA_DROPOUT_PACKED
#define FLARE_FWD_WGMMA_DROPOUT_PACKED 1
#endif
// Whether flash_fwd_* runs this kernel for D = 64 and 128 (in sm_90a device code, and in host code, which plans
// launches for sm_90a: the harness). Java reads the choice from flash_launch_config.
#ifndef FLARE_FWD_WGMMA
#define FLARE_FWD_WGMMA 1
#endif

namespace flare_attn {

template <int D> struct FwdWgmmaCfg {
    static_assert(D == 64 || D == 128, "wgmma forward: D = 64 or 128");
    static constexpr int NWG = FLARE_FWD_WGMMA_WGS;
    static constexpr int BM = 64 * NWG;   // query rows per CTA
    static constexpr int BN = D == 64 ? FLARE_FWD_WGMMA_BN_SMALL_D : FLARE_FWD_WGMMA_BN;   // keys per block
    static constexpr int NT = 128 * NWG;
    static constexpr int MIN_BLOCKS = FLARE_FWD_WGMMA_MIN_BLOCKS;
    static constexpr int Q_BYTES = BM * D * 2, KV_BYTES = BN * D * 2;
    // Q, two K and two V buffers, plus 1 KiB to align the dynamic shared memory to the swizzle atom
    static constexpr int SMEM_BYTES = Q_BYTES + 4 * KV_BYTES + 1024;
    static_assert(BN == 64 || BN == 128, "S = Q K^T runs m64n64k16 or m64n128k16");
};

// cp.async of rows row0 .. row0 + ROWS - 1 (zeros past nvalid) into a swizzled [ROWS][D] tile at smem address dst.
// A thread's chunks sit RSTEP rows apart (TileChunks), so their swizzle is the same when RSTEP is a multiple of 8.
template <typename T, int D, int ROWS, int NT>
__device__ __forceinline__ void load_tile_swizzled(uint32_t dst, const T* g, long long seq_stride, int row0, int nvalid,
                                                   int tid) {
    using TC = TileChunks<D, ROWS, NT>;
#pragma unroll
    for (int i = 0; i < TC::ITERS; ++i) {
        if (!TC::has(i, tid)) break;
        int r, col;
        TC::at(i, tid, r, col);
        const int gr = row0 + r;
        const bool ok = gr < nvalid;
        const T* src = ok ? g + (long long)gr * seq_stride + col : g;
        asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst + swz_offset(ROWS, r, col)), "l"(src),
                     "r"(ok ? 16 : 0));
    }
}
template <typename T, int D>
__device__ __forceinline__ void fwd_wgmma_kernel(const FlashFwdParams p) {
#if defined(__CUDA_ARCH__) && defined(__CUDA_ARCH_FEAT_SM90_ALL)
    using C = FwdWgmmaCfg<D>;
    constexpr int BM = C::BM, BN = C::BN, NT = C::NT;
    extern __shared__ __align__(16) unsigned char smem_raw[];
    const uint32_t sQ = (smem_u32(smem_raw) + 1023u) & ~1023u;
    const uint32_t sK = sQ + C::Q_BYTES, sV = sK + 2 * C::KV_BYTES;   // [2] buffers each

    const int tid = threadIdx.x, wg = tid >> 7, warp = (tid >> 5) & 3, lane = tid & 31, tq = lane & 3;
    const int m0 = blockIdx.x * BM, h = blockIdx.y, b = blockIdx.z;
    const int hk = h / (p.Hq / p.Hkv);
    const int Sq = p.Sq, Sk = p.Sk;
    const T* qg = reinterpret_cast<const T*>(p.q) + b * p.q_batch_stride + h * p.q_head_stride;
    const T* kg = reinterpret_cast<const T*>(p.k) + b * p.k_batch_stride + hk * p.k_head_stride;
    const T* vg = reinterpret_cast<const T*>(p.v) + b * p.v_batch_stride + hk * p.v_head_stride;
    const int off = causal_offset(p.causal, Sq, Sk);

    const int n_blocks = fwd_key_blocks<BM, BN>(p, m0, off);   // uniform over the CTA, as wgmma needs

    load_tile_swizzled<T, D, BM, NT>(sQ, qg, p.q_seq_stride, m0, Sq, tid);
    if (n_blocks > 0) {
        load_tile_swizzled<T, D, BN, NT>(sK, kg, p.k_seq_stride, 0, Sk, tid);
        load_tile_swizzled<T, D, BN, NT>(sV, vg, p.v_seq_stride, 0, Sk, tid);
    }
    cp_async_commit();

    float o[D / 8][4];
#pragma unroll
    for (int i = 0; i < D / 8; ++i) o[i][0] = o[i][1] = o[i][2] = o[i][3] = 0.f;
    float mrow[2] = {-INFINITY, -INFINITY}, lrow[2] = {0.f, 0.f};
    const int wrow0 = wg * 64 + warp * 16;   // this warp's first row in the CTA
    const int rows[2] = {m0 + wrow0 + (lane >> 2), m0 + wrow0 + (lane >> 2) + 8};
    const float sl2 = p.scale * kLog2e;
    const int bh = b * p.Hq + h;
    // Q: this warpgroup's 64 rows; k-step kk of 16 columns is 32 bytes into a 128-byte row, or in the second half.
    const uint32_t sQ_wg = sQ + wg * 64 * 128;

    for (int j = 0; j < n_blocks; ++j) {
        cp_async_wait_all();
        fence_proxy_async();
        __syncthreads();   // block j landed everywhere; every warpgroup is done with block j - 1's buffers
        if (j + 1 < n_blocks) {
            const int nb = (j + 1) & 1;
            load_tile_swizzled<T, D, BN, NT>(sK + nb * C::KV_BYTES, kg, p.k_seq_stride, (j + 1) * BN, Sk, tid);
            load_tile_swizzled<T, D, BN, NT>(sV + nb * C::KV_BYTES, vg, p.v_seq_stride, (j + 1) * BN, Sk, tid);
        }
        cp_async_commit();
        const uint32_t cK = sK + (j & 1) * C::KV_BYTES, cV = sV + (j & 1) * C::KV_BYTES;

        // ---- S = Q K^T (64 x BN per warpgroup)
        float s[BN / 8][4];
        wgmma_fence();
#pragma unroll
        for (int kk = 0; kk < D / 16; ++kk) {
            const uint32_t koff = (kk & 3) * 32;   // byte offset inside a 128-byte row
            const uint64_t qd = wgmma_desc(sQ_wg + (kk >> 2) * BM * 128 + koff, 16, 1024);
            const uint64_t kd = wgmma_desc(cK + (kk >> 2) * BN * 128 + koff, 16, 1024);
            WgmmaOp<T, BN>::ss(s, qd, kd, kk > 0);
        }
        wgmma_commit();
        const int n0 = j * BN;
        wgmma_wait<0>();
        wgmma_fence_operands(s);

        // ---- masking (warps whose rows need it), online softmax, dropout: the m-tile helpers of FlashAttentionFwd.cuh
        const bool need_mask = (n0 + BN > Sk) || (p.causal && (n0 + BN - 1 > m0 + wrow0 + off));
        if (need_mask) fwd_mask_scores<BN>(s, n0, rows, Sk, p.causal, off, tq);
        fwd_online_softmax<BN, D>(s, o, mrow, lrow, sl2);
        if (p.dropout && !FLARE_FWD_WGMMA_DROPOUT_PACKED) {
            uint32_t zb[BN / 32][4];
            fwd_dropout_bytes<BN>(p, bh, n0, rows, tq, zb);
            fwd_dropout_apply<BN>(s, zb, p.drop_threshold);
        }

        // ---- O += P V: P from registers; V's k-step kk is 16 keys = 2048 bytes, its D halves BN * 128 bytes apart
        uint32_t a[BN / 16][4];
#pragma unroll
        for (int kk = 0; kk < BN / 16; ++kk) fwd_p_fragment<T, BN>(s, kk, a[kk]);
        if (p.dropout && FLARE_FWD_WGMMA_DROPOUT_PACKED) fwd_dropout_packed<BN, D>(p, bh, n0, rows, tq, a);
        wgmma_fence_operands(o);   // O's rescale and P's packing stay before the fence
        wgmma_fence_operands(a);
        wgmma_fence();
#pragma unroll
        for (int kk = 0; kk < BN / 16; ++kk)
            WgmmaOp<T, D>::rs(o, a[kk], wgmma_desc(cV + kk * 2048, BN * 128, 1024));
        wgmma_commit();
        wgmma_wait<0>();
        wgmma_fence_operands(o);
        wgmma_fence_operands(a);
    }
    cp_async_wait_all();

    T* og = reinterpret_cast<T*>(p.o) + b * p.o_batch_stride + h * p.o_head_stride;
    fwd_store_rows<T, D>(o, mrow, lrow, rows, p, og, bh, tq);
#endif
}

#if FLARE_FWD_WGMMA && (!defined(__CUDA_ARCH__) || defined(__CUDA_ARCH_FEAT_SM90_ALL))
static constexpr bool kFwdWgmma = true;
#else
static constexpr bool kFwdWgmma = false;
#endif
template <int D> struct FwdUsesWgmma { static constexpr bool value = kFwdWgmma && (D == 64 || D == 128); };
// The configuration of the kernel flash_fwd_<dt>_d<D> runs (BM, NT, MIN_BLOCKS, SMEM_BYTES).
template <int D> using FwdLaunchCfg = std::conditional_t<FwdUsesWgmma<D>::value, FwdWgmmaCfg<D>, FwdTcCfg<D>>;
template <typename T, int D>
__device__ __forceinline__ void fwd_tc_entry(const FlashFwdParams& p) {
    if constexpr (FwdUsesWgmma<D>::value) fwd_wgmma_kernel<T, D>(p);
    else fwd_tc_kernel<T, D>(p);
}

}  // namespace flare_attn
