// Flare flash attention forward kernels.
//  * fwd_tc_kernel: FlashAttention-2 style, bf16/f16, mma.sync.m16n8k16 + ldmatrix, cp.async double buffer.
//  * fwd_simt_kernel: one warp per query row, fp32 FMA (f32 path; also a fallback for bf16/f16).
#pragma once
#include "FlashAttentionCommon.cuh"

namespace flare_attn {

// Query m-tiles (16 rows each) per warp in the tensor-core forward. With 2 (FA2's layout: 4 warps x 32 rows), every
// K/V fragment a warp reads from shared memory feeds two mma instead of one, at the cost of re-reading Q from smem per
// key block (the registers hold two m-tiles of O and S instead). Measured on an H200 (2026-12-07, harness --bench,
// bf16, 16k tokens): D=128 S=4096 213 -> 295 TFLOP/s, D=64 230 -> 240. D = 256 always uses 1.
// A build may override it (-DFLARE_FWD_TC_MTILES=1) to compare in the harness.
#ifndef FLARE_FWD_TC_MTILES
#define FLARE_FWD_TC_MTILES 2
#endif
// Keys per tile: FLARE_FWD_TC_BN for D = 96/128 (64), FLARE_FWD_TC_BN_SMALL_D for D <= 64 (128); D = 256 uses 32.
// At D=64, 128-key tiles measured faster (H100, 2026-12-07, harness --bench, bf16, 16k tokens, same call: S=4096
// 241 -> 260 TFLOP/s, S=1024 222 -> 243, causal 220 -> 236; harness checks 188/188); at D=128 they are 1.8x slower
// (their smem and registers halve the resident warps). A harness build may set either.
#ifndef FLARE_FWD_TC_BN
#define FLARE_FWD_TC_BN 64
#endif
#ifndef FLARE_FWD_TC_BN_SMALL_D
#define FLARE_FWD_TC_BN_SMALL_D 128
#endif

// Dropout bytes of one lane for a 32-column group (columns col0 .. col0 + 31, col0 a multiple of 32) of its rows g and
// g + 8. The quad (lanes tq = 0..3 of row g) needs 4 Philox blocks: (16-column half u, row g or g + 8). Lane tq
// generates block k = tq = 2u + hh and sends each partner tq ^ r the two 16-bit halves it needs: one Philox per lane
// per 16 elements. Out: v[2u + hh], row g + 8 * hh: bytes 0, 1 = columns 2tq, 2tq + 1 of n8-tile 2u of the group, bytes
// 2, 3 = those of tile 2u + 1 (dropout_check.py checks this against the direct definition). Every lane must call it.
__device__ __forceinline__ void dropout_bytes_fwd(uint32_t k0, uint32_t k1, uint32_t offset_lo, int bh, int col0,
                                                  int row_g, int row_g8, int tq, uint32_t (&v)[4]) {
    uint32_t c[4] = {((uint32_t)col0 >> 4) + (uint32_t)(tq >> 1), (uint32_t)((tq & 1) ? row_g8 : row_g), (uint32_t)bh,
                     offset_lo};
    philox4x32_10(c, k0, k1);
    // The partner d = tq ^ r needs half d & 1 of words d >> 1 and 2 + (d >> 1). d >> 1 = (tq >> 1) ^ (r >> 1): words
    // 0/1 and 2/3 swapped once when tq >= 2 make round r read words r >> 1 and 2 + (r >> 1) (compile-time), and the
    // half's byte selector flips with r & 1 from the one of tq & 1 (4 selects per call instead of 8 plus 4 selector
    // selects, 16 fewer SASS instructions per forward kernel; the bytes each lane ends with are those of choosing
    // per round, which a simulation of every (tq, round) checked; 0.6-0.8% faster with dropout, H100 2026-12-07).
    const bool swap = (tq >> 1) != 0;
    const uint32_t w[4] = {swap ? c[1] : c[0], swap ? c[0] : c[1], swap ? c[3] : c[2], swap ? c[2] : c[3]};
    const uint32_t sel_even = (tq & 1) ? 0x7632u : 0x5410u, sel_odd = sel_even ^ (0x7632u ^ 0x5410u);
#pragma unroll
    for (int r = 0; r < 4; ++r) {
        const uint32_t packed = __byte_perm(w[r >> 1], w[2 + (r >> 1)], (r & 1) ? sel_odd : sel_even);
        v[r] = r == 0 ? packed : __shfl_xor_sync(0xffffffffu, packed, r);
    }
    xor_permute(v, tq);   // v[r] came from lane tq ^ r, i.e. block tq ^ r
}

// One m-tile's share of a forward step, in mma.sync's accumulator layout (which wgmma's accumulators share): s[nt][e]
// is row `rows[e >> 1]`, key column n0 + nt * 8 + 2 tq + (e & 1); o[dn][e] likewise over D. Used by fwd_tc_kernel and
// fwd_wgmma_kernel (FlashAttentionFwdWgmma.cuh).

// Scores of keys past Sk or above the causal diagonal -> -inf.
template <int BN>
__device__ __forceinline__ void fwd_mask_scores(float (&s)[BN / 8][4], int n0, const int (&rows)[2], int Sk, int causal,
                                                int off, int tq) {
#pragma unroll
    for (int nt = 0; nt < BN / 8; ++nt)
#pragma unroll
        for (int e = 0; e < 4; ++e) {
            const int col = n0 + nt * 8 + 2 * tq + (e & 1);
            if (col >= Sk || (causal && col > rows[e >> 1] + off)) s[nt][e] = -INFINITY;
        }
}

// Online softmax in the log2 domain over rows g and g + 8: s becomes P (un-normalized), O is rescaled, the running
// max (scaled by sl2) and this lane's partial row sums are updated (the quad's sum is formed in the epilogue).
template <int BN, int D>
__device__ __forceinline__ void fwd_online_softmax(float (&s)[BN / 8][4], float (&o)[D / 8][4], float (&mrow)[2],
                                                   float (&lrow)[2], float sl2) {
#pragma unroll
    for (int hh = 0; hh < 2; ++hh) {
        float mx = -INFINITY;
#pragma unroll
        for (int nt = 0; nt < BN / 8; ++nt) mx = fmaxf(mx, fmaxf(s[nt][2 * hh], s[nt][2 * hh + 1]));
        mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
        mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
        const float m_new = fmaxf(mrow[hh], mx * sl2);
        const float m_use = (m_new == -INFINITY) ? 0.f : m_new;
        // (exp2f here, exp2_fast below: with exp2_fast in both, ptxas spilled 16 bytes at D=64 under the 128-register
        // bound of the wgmma forward; this way 126 registers, no spill. Two per row per block: its cost is noise.)
        const float corr = exp2f(mrow[hh] - m_use);
        mrow[hh] = m_new;
        float ls = 0.f;
#pragma unroll
        for (int nt = 0; nt < BN / 8; ++nt) {
            const float p0 = exp2_fast(s[nt][2 * hh] * sl2 - m_use);
            const float p1 = exp2_fast(s[nt][2 * hh + 1] * sl2 - m_use);
            s[nt][2 * hh] = p0;
            s[nt][2 * hh + 1] = p1;
            ls += p0 + p1;
        }
        lrow[hh] = lrow[hh] * corr + ls;
#pragma unroll
        for (int dn = 0; dn < D / 8; ++dn) {
            o[dn][2 * hh] *= corr;
            o[dn][2 * hh + 1] *= corr;
        }
    }
}

// Dropout bytes of this lane's rows for keys n0 .. n0 + BN - 1: one dropout_bytes_fwd per 32-key group.
template <int BN>
__device__ __forceinline__ void fwd_dropout_bytes(const FlashFwdParams& p, int bh, int n0, const int (&rows)[2], int tq,
                                                  uint32_t (&v)[BN / 32][4]) {
    const uint32_t k0 = (uint32_t)(p.seed & 0xffffffffull), k1 = (uint32_t)(p.seed >> 32);
#pragma unroll
    for (int gi = 0; gi < BN / 32; ++gi) dropout_bytes_fwd(k0, k1, p.offset_lo, bh, n0 + gi * 32, rows[0], rows[1], tq, v[gi]);
}

// Dropout on P (LSE and l use the un-dropped values; kept values are scaled by keep_scale in the epilogue).
template <int BN>
__device__ __forceinline__ void fwd_dropout_apply(float (&s)[BN / 8][4], const uint32_t (&v)[BN / 32][4], uint32_t thr) {
#pragma unroll
    for (int gi = 0; gi < BN / 32; ++gi)
#pragma unroll
        for (int u = 0; u < 2; ++u)
#pragma unroll
            for (int t = 0; t < 2; ++t)
#pragma unroll
                for (int e = 0; e < 4; ++e) {
                    float& x = s[gi * 4 + 2 * u + t][e];
                    x = byte_kept(v[gi][2 * u + (e >> 1)], 2 * t + (e & 1), thr) ? x : 0.f;
                }
}

// Dropout on P's packed A fragments (fwd_p_fragment's layout), one 32-key group of bytes at a time: a[kk][hh] holds
// row g + 8 hh, columns 2tq, 2tq + 1 of n8-tile 2kk (bytes 0, 1 of v[2u + hh], kk = 2gi + u), a[kk][2 + hh] those of
// tile 2kk + 1 (bytes 2, 3). The 16-bit mask of each element comes from keep_mask_f16x2 (see FLARE_FWD_DROPOUT_HSET2_MAX_D),
// or from kept_bytes (bit 7 of each kept byte) widened by kept_mask_pair. Bitwise the same result as
// fwd_dropout_apply before the packing; dropout_check.py emulates both.
// keep_mask_f16x2 is used up to head dim FLARE_FWD_DROPOUT_HSET2_MAX_D: at D=128 (64-key blocks) ptxas spilled 20
// bytes with it (build-support/kernel-sizes.sh), at D=64 it saves 56 instructions and spills nothing. 0: never.
#ifndef FLARE_FWD_DROPOUT_HSET2_MAX_D
#define FLARE_FWD_DROPOUT_HSET2_MAX_D 64
#endif
template <int BN, int D>
__device__ __forceinline__ void fwd_dropout_packed(const FlashFwdParams& p, int bh, int n0, const int (&rows)[2], int tq,
                                                   uint32_t (&a)[BN / 16][4]) {
    const uint32_t k0 = (uint32_t)(p.seed & 0xffffffffull), k1 = (uint32_t)(p.seed >> 32);
    const uint32_t thr2 = p.drop_threshold * 0x10001u;
#pragma unroll
    for (int gi = 0; gi < BN / 32; ++gi) {
        uint32_t v[4];
        dropout_bytes_fwd(k0, k1, p.offset_lo, bh, n0 + gi * 32, rows[0], rows[1], tq, v);
#pragma unroll
        for (int u = 0; u < 2; ++u)
#pragma unroll
            for (int hh = 0; hh < 2; ++hh) {
                if constexpr (D <= FLARE_FWD_DROPOUT_HSET2_MAX_D) {
                    a[2 * gi + u][hh] &= keep_mask_f16x2<0>(v[2 * u + hh], thr2);
                    a[2 * gi + u][2 + hh] &= keep_mask_f16x2<2>(v[2 * u + hh], thr2);
                } else {
                    const uint32_t kept = kept_bytes(v[2 * u + hh], p.drop_threshold);
                    a[2 * gi + u][hh] &= kept_mask_pair<0>(kept);
                    a[2 * gi + u][2 + hh] &= kept_mask_pair<2>(kept);
                }
            }
    }
}

// The mma A fragment (16 rows x 16 keys, keys 16 kk ..) of P, from the accumulator layout.
template <typename T, int BN>
__device__ __forceinline__ void fwd_p_fragment(const float (&s)[BN / 8][4], int kk, uint32_t (&a)[4]) {
    a[0] = DT<T>::pack2(s[2 * kk][0], s[2 * kk][1]);
    a[1] = DT<T>::pack2(s[2 * kk][2], s[2 * kk][3]);
    a[2] = DT<T>::pack2(s[2 * kk + 1][0], s[2 * kk + 1][1]);
    a[3] = DT<T>::pack2(s[2 * kk + 1][2], s[2 * kk + 1][3]);
}

// Epilogue of rows g and g + 8: O / l (times keep_scale under dropout) and the row's natural-log LSE.
template <typename T, int D>
__device__ __forceinline__ void fwd_store_rows(const float (&o)[D / 8][4], const float (&mrow)[2], const float (&lrow)[2],
                                               const int (&rows)[2], const FlashFwdParams& p, T* og, int bh, int tq) {
#pragma unroll
    for (int hh = 0; hh < 2; ++hh) {
        float l = lrow[hh];
        l += __shfl_xor_sync(0xffffffffu, l, 1);
        l += __shfl_xor_sync(0xffffffffu, l, 2);
        const float inv = l > 0.f ? (p.dropout ? p.keep_scale : 1.f) / l : 0.f;
        const int row = rows[hh];
        if (row < p.Sq) {
            T* orow = og + (long long)row * p.o_seq_stride;
#pragma unroll
            for (int dn = 0; dn < D / 8; ++dn)
                *reinterpret_cast<uint32_t*>(orow + dn * 8 + 2 * tq) =
                    DT<T>::pack2(o[dn][2 * hh] * inv, o[dn][2 * hh + 1] * inv);
            if (tq == 0) p.lse[(long long)bh * p.Sq + row] = l > 0.f ? mrow[hh] * kLn2 + logf(l) : -INFINITY;
        }
    }
}

// Key blocks of BN keys that query rows m0 .. m0 + BM - 1 see: all of Sk, or under the causal mask only up to the
// block holding the last row's last visible key (blocks entirely above the diagonal are never loaded).
template <int BM, int BN>
__device__ __forceinline__ int fwd_key_blocks(const FlashFwdParams& p, int m0, int off) {
    const int n = (p.Sk + BN - 1) / BN;
    if (!p.causal) return n;
    const int last_key = min(m0 + BM, p.Sq) - 1 + off;
    return last_key < 0 ? 0 : min(n, last_key / BN + 1);
}

// Tile configuration of the tensor-core forward kernel.
template <int D> struct FwdTcCfg {
    static constexpr int BM = (D <= 128) ? 128 : 64;   // query rows per CTA
    static constexpr int BN = (D <= 64) ? FLARE_FWD_TC_BN_SMALL_D : (D <= 128) ? FLARE_FWD_TC_BN : 32;  // keys per tile
    static constexpr int MT = (D <= 128) ? FLARE_FWD_TC_MTILES : 1;  // m-tiles of 16 query rows per warp
    static constexpr int NW = BM / (16 * MT);          // warps; each warp owns 16 * MT query rows
    static constexpr int NT = NW * 32;
    static constexpr int MIN_BLOCKS = 0;               // launch bounds' CTAs per SM (0: the registers decide)
    static constexpr int LD = D + 8;                   // smem row stride (elements), 16B pad
    static constexpr int SMEM_BYTES = (BM + 4 * BN) * LD * 2;  // Q + 2x K + 2x V (2-byte elements)
    static_assert(BN % 32 == 0, "dropout_bytes_fwd covers 32-column groups");
};

// The 16-byte chunks of a [ROWS][D] tile that thread tid copies: chunk tid + i * NT, i < ITERS. When NT is a multiple
// of the chunks per row (every D but 96), that is chunk column tid % CH of rows tid / CH + i * RSTEP: fixed per thread,
// so the loaders below run a fixed count of iterations whose addresses step by constants (a loop from tid in steps
// of NT kept a division per chunk and a runtime trip count).
template <int D, int ROWS, int NT> struct TileChunks {
    static constexpr int CH = D / 8;                       // 16-byte chunks per row
    static constexpr int TOTAL = ROWS * CH;
    static constexpr int ITERS = (TOTAL + NT - 1) / NT;
    static constexpr bool WHOLE_ROWS = NT % CH == 0;
    static constexpr int RSTEP = NT / CH;                  // rows between one thread's chunks (WHOLE_ROWS)
    // Whether iteration i of thread tid has a chunk (all do when NT divides TOTAL).
    __device__ __forceinline__ static bool has(int i, int tid) { return TOTAL % NT == 0 || i * NT + tid < TOTAL; }
    // Row and first column (elements) of iteration i's chunk.
    __device__ __forceinline__ static void at(int i, int tid, int& r, int& col) {
        if constexpr (WHOLE_ROWS) {
            r = tid / CH + i * RSTEP;
            col = (tid % CH) * 8;
        } else {
            const int c = tid + i * NT;
            r = c / CH;
            col = (c % CH) * 8;
        }
    }
};

// cp.async of rows row0 .. row0 + ROWS - 1 (zeros past nvalid) into a [ROWS][D + 8] tile (16-byte padded rows).
template <typename T, int D, int ROWS, int NT>
__device__ __forceinline__ void load_tile_async(T* s, const T* g, long long seq_stride, int row0, int nvalid,
                                                int tid) {
    using TC = TileChunks<D, ROWS, NT>;
    constexpr int LD = D + 8;
#pragma unroll
    for (int i = 0; i < TC::ITERS; ++i) {
        if (!TC::has(i, tid)) break;
        int r, col;
        TC::at(i, tid, r, col);
        const int gr = row0 + r;
        const bool ok = gr < nvalid;
        cp_async16(s + r * LD + col, ok ? g + (long long)gr * seq_stride + col : g, ok ? 16 : 0);
    }
}
template <typename T, int D>
__device__ __forceinline__ void fwd_tc_kernel(const FlashFwdParams p) {
    using C = FwdTcCfg<D>;
    constexpr int BM = C::BM, BN = C::BN, NT = C::NT, LD = C::LD, MT = C::MT;
    extern __shared__ __align__(16) unsigned char smem_raw[];
    T* sQ = reinterpret_cast<T*>(smem_raw);
    T* sK = sQ + BM * LD;
    T* sV = sK + 2 * BN * LD;

    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
    const int m0 = blockIdx.x * BM, h = blockIdx.y, b = blockIdx.z;
    const int hk = h / (p.Hq / p.Hkv);
    const int Sq = p.Sq, Sk = p.Sk;
    const T* qg = reinterpret_cast<const T*>(p.q) + b * p.q_batch_stride + h * p.q_head_stride;
    const T* kg = reinterpret_cast<const T*>(p.k) + b * p.k_batch_stride + hk * p.k_head_stride;
    const T* vg = reinterpret_cast<const T*>(p.v) + b * p.v_batch_stride + hk * p.v_head_stride;
    const int off = causal_offset(p.causal, Sq, Sk);

    const int n_blocks = fwd_key_blocks<BM, BN>(p, m0, off);

    load_tile_async<T, D, BM, NT>(sQ, qg, p.q_seq_stride, m0, Sq, tid);
    if (n_blocks > 0) {
        load_tile_async<T, D, BN, NT>(sK, kg, p.k_seq_stride, 0, Sk, tid);
        load_tile_async<T, D, BN, NT>(sV, vg, p.v_seq_stride, 0, Sk, tid);
    }
    cp_async_commit();

    // Warp w owns query rows w*16*MT .. +16*MT: m-tile mt holds rows w*16*MT + mt*16 + {g, g+8}, g = lane / 4.
    float o[MT][D / 8][4];
#pragma unroll
    for (int mt = 0; mt < MT; ++mt)
#pragma unroll
        for (int i = 0; i < D / 8; ++i) o[mt][i][0] = o[mt][i][1] = o[mt][i][2] = o[mt][i][3] = 0.f;
    float mrow[MT][2], lrow[MT][2];
    int rows[MT][2];
    const int wrow0 = warp * 16 * MT;
#pragma unroll
    for (int mt = 0; mt < MT; ++mt) {
        mrow[mt][0] = mrow[mt][1] = -INFINITY;
        lrow[mt][0] = lrow[mt][1] = 0.f;
        rows[mt][0] = m0 + wrow0 + mt * 16 + (lane >> 2);
        rows[mt][1] = rows[mt][0] + 8;
    }
    const float sl2 = p.scale * kLog2e;
    const int tq = lane & 3;
    const int bh = b * p.Hq + h;
    // With one m-tile, the warp's 16 Q rows as mma A fragments are loaded from smem once (block 0) instead of once
    // per key block: D / 4 registers (32 at D = 128). Two m-tiles need those registers for O and S, and D = 256
    // for its accumulators: both re-read Q from smem.
    constexpr bool kQRegs = D <= 128 && MT == 1;
    uint32_t qfrag[kQRegs ? D / 16 : 1][4];

    for (int j = 0; j < n_blocks; ++j) {
        cp_async_wait_all();
        __syncthreads();
        if (j + 1 < n_blocks) {
            int nb = (j + 1) & 1;
            load_tile_async<T, D, BN, NT>(sK + nb * BN * LD, kg, p.k_seq_stride, (j + 1) * BN, Sk, tid);
            load_tile_async<T, D, BN, NT>(sV + nb * BN * LD, vg, p.v_seq_stride, (j + 1) * BN, Sk, tid);
        }
        cp_async_commit();
        const T* cK = sK + (j & 1) * BN * LD;
        const T* cV = sV + (j & 1) * BN * LD;

        // ---- S = Q K^T (16*MT x BN per warp)
        float s[MT][BN / 8][4];
#pragma unroll
        for (int mt = 0; mt < MT; ++mt)
#pragma unroll
            for (int i = 0; i < BN / 8; ++i) s[mt][i][0] = s[mt][i][1] = s[mt][i][2] = s[mt][i][3] = 0.f;
        if (kQRegs && j == 0) {   // Q landed with block 0's group (waited for above)
#pragma unroll
            for (int kk = 0; kk < (kQRegs ? D / 16 : 1); ++kk)
                ldmatrix_x4(qfrag[kk], sQ + (wrow0 + (lane & 15)) * LD + kk * 16 + (lane >> 4) * 8);
        }
#pragma unroll
        for (int kk = 0; kk < D / 16; ++kk) {
            uint32_t a[MT][4];
#pragma unroll
            for (int mt = 0; mt < MT; ++mt) {
                if constexpr (kQRegs) {
#pragma unroll
                    for (int e = 0; e < 4; ++e) a[mt][e] = qfrag[kk][e];
                } else {
                    ldmatrix_x4(a[mt], sQ + (wrow0 + mt * 16 + (lane & 15)) * LD + kk * 16 + (lane >> 4) * 8);
                }
            }
#pragma unroll
            for (int pp = 0; pp < BN / 16; ++pp) {
                uint32_t bf[4];
                ldmatrix_x4(bf, cK + (pp * 16 + (lane & 7) + ((lane >> 4) << 3)) * LD + kk * 16 +
                                    ((lane >> 3) & 1) * 8);
#pragma unroll
                for (int mt = 0; mt < MT; ++mt) {
                    DT<T>::mma(s[mt][2 * pp], a[mt], bf[0], bf[1]);
                    DT<T>::mma(s[mt][2 * pp + 1], a[mt], bf[2], bf[3]);
                }
            }
        }

        // ---- masking (only for blocks that need it), online softmax, dropout
        const int n0 = j * BN;
        const bool need_mask = (n0 + BN > Sk) || (p.causal && (n0 + BN - 1 > m0 + wrow0 + off));
        if (need_mask) {
#pragma unroll
            for (int mt = 0; mt < MT; ++mt) fwd_mask_scores<BN>(s[mt], n0, rows[mt], Sk, p.causal, off, tq);
        }
#pragma unroll
        for (int mt = 0; mt < MT; ++mt) fwd_online_softmax<BN, D>(s[mt], o[mt], mrow[mt], lrow[mt], sl2);
        if (p.dropout) {
#pragma unroll
            for (int mt = 0; mt < MT; ++mt) {
                uint32_t zb[BN / 32][4];
                fwd_dropout_bytes<BN>(p, bh, n0, rows[mt], tq, zb);
                fwd_dropout_apply<BN>(s[mt], zb, p.drop_threshold);
            }
        }

        // ---- O += P V
#pragma unroll
        for (int kk = 0; kk < BN / 16; ++kk) {
            uint32_t a[MT][4];
#pragma unroll
            for (int mt = 0; mt < MT; ++mt) fwd_p_fragment<T, BN>(s[mt], kk, a[mt]);
#pragma unroll
            for (int pp = 0; pp < D / 16; ++pp) {
                uint32_t bf[4];
                ldmatrix_x4_trans(bf, cV + (kk * 16 + (lane & 7) + ((lane >> 3) & 1) * 8) * LD + pp * 16 +
                                          (lane >> 4) * 8);
#pragma unroll
                for (int mt = 0; mt < MT; ++mt) {
                    DT<T>::mma(o[mt][2 * pp], a[mt], bf[0], bf[1]);
                    DT<T>::mma(o[mt][2 * pp + 1], a[mt], bf[2], bf[3]);
                }
            }
        }
    }
    cp_async_wait_all();

    // ---- epilogue
    T* og = reinterpret_cast<T*>(p.o) + b * p.o_batch_stride + h * p.o_head_stride;
#pragma unroll
    for (int mt = 0; mt < MT; ++mt) fwd_store_rows<T, D>(o[mt], mrow[mt], lrow[mt], rows[mt], p, og, bh, tq);
}

// ---------------------------------------------------------------------------------------------
// SIMT forward: one warp per query row; lanes split D; keys in chunks of 32 (one score per lane).
// ---------------------------------------------------------------------------------------------
static constexpr int kSimtFwdWarps = 4;

template <typename T, int D>
__device__ __forceinline__ void fwd_simt_kernel(const FlashFwdParams p) {
    constexpr int E = D / 32;
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int row = blockIdx.x * kSimtFwdWarps + warp;
    const int h = blockIdx.y, b = blockIdx.z;
    if (row >= p.Sq) return;
    const int hk = h / (p.Hq / p.Hkv);
    const int bh = b * p.Hq + h;
    const T* qg = reinterpret_cast<const T*>(p.q) + b * p.q_batch_stride + h * p.q_head_stride +
                  (long long)row * p.q_seq_stride;
    const T* kg = reinterpret_cast<const T*>(p.k) + b * p.k_batch_stride + hk * p.k_head_stride;
    const T* vg = reinterpret_cast<const T*>(p.v) + b * p.v_batch_stride + hk * p.v_head_stride;
    float q[E], o[E];
#pragma unroll
    for (int e = 0; e < E; ++e) { q[e] = DT<T>::to_f(qg[lane + 32 * e]); o[e] = 0.f; }
    int kend = p.Sk;
    if (p.causal) kend = min(p.Sk, row + causal_offset(p.causal, p.Sq, p.Sk) + 1);
    const float sl2 = p.scale * kLog2e;
    float m = -INFINITY, lpart = 0.f;
    for (int j0 = 0; j0 < kend; j0 += 32) {
        const int cnt = min(32, kend - j0);
        float my = -INFINITY;
        for (int jj = 0; jj < cnt; ++jj) {
            const T* kr = kg + (long long)(j0 + jj) * p.k_seq_stride;
            float d = 0.f;
#pragma unroll
            for (int e = 0; e < E; ++e) d = fmaf(q[e], DT<T>::to_f(kr[lane + 32 * e]), d);
#pragma unroll
            for (int w = 16; w > 0; w >>= 1) d += __shfl_xor_sync(0xffffffffu, d, w);
            if (lane == jj) my = d * sl2;
        }
        float mx = my;
#pragma unroll
        for (int w = 16; w > 0; w >>= 1) mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, w));
        float m_new = fmaxf(m, mx);  // finite: cnt >= 1
        float corr = exp2f(m - m_new);
        m = m_new;
        lpart *= corr;
#pragma unroll
        for (int e = 0; e < E; ++e) o[e] *= corr;
        float pl = (lane < cnt) ? exp2f(my - m) : 0.f;
        lpart += pl;
        if (p.dropout && lane < cnt)
            pl *= dropout_keep(p.seed, p.offset_lo, p.drop_threshold, row, j0 + lane, bh) ? p.keep_scale : 0.f;
        for (int jj = 0; jj < cnt; ++jj) {
            float pj = __shfl_sync(0xffffffffu, pl, jj);
            const T* vr = vg + (long long)(j0 + jj) * p.v_seq_stride;
#pragma unroll
            for (int e = 0; e < E; ++e) o[e] = fmaf(pj, DT<T>::to_f(vr[lane + 32 * e]), o[e]);
        }
    }
    float l = lpart;
#pragma unroll
    for (int w = 16; w > 0; w >>= 1) l += __shfl_xor_sync(0xffffffffu, l, w);
    float inv = l > 0.f ? 1.f / l : 0.f;
    T* og = reinterpret_cast<T*>(p.o) + b * p.o_batch_stride + h * p.o_head_stride + (long long)row * p.o_seq_stride;
#pragma unroll
    for (int e = 0; e < E; ++e) og[lane + 32 * e] = DT<T>::from_f(o[e] * inv);
    if (lane == 0) p.lse[(long long)bh * p.Sq + row] = l > 0.f ? m * kLn2 + logf(l) : -INFINITY;
}

}  // namespace flare_attn
