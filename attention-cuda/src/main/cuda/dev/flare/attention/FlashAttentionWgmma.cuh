// Hopper warpgroup MMA (wgmma.mma_async, sm_90a) wrappers for the kernels of FlashAttentionFwdWgmma.cuh and
// FlashAttentionBwdWgmma.cuh: shared-memory matrix descriptors for 128-byte swizzled tiles, the fences, and m64nNk16
// products (N = 64, 128) with bf16/f16 operands and fp32 accumulators. PTX ISA "Asynchronous Warpgroup Level Matrix"
// sections; the layout choices are explained in docs/attention-kernels.md ("Hopper (sm_90a): wgmma forward and dK/dV").
//
// Tile layout in shared memory (every tile 1024-byte aligned): rows of 64 elements (128 bytes), in 8-row atoms of
// 1024 bytes; 16-byte chunk c of row r sits at chunk c ^ (r % 8). A D = 128 tile is two such [rows][64] halves, the
// second at +rows * 128 bytes. A tile serves as a K-major operand (Q, K in S = Q K^T; K, V in S^T, dP^T) or as an
// MN-major one (V in O = P V; dO, Q in dV, dK; dS^T and K in dQ = dS K).
#pragma once
#include "FlashAttentionCommon.cuh"

namespace flare_attn {

// Byte offset of element (r, c) in a swizzled [rows][D] tile (c < D, D a multiple of 64).
__device__ __forceinline__ uint32_t swz_offset(int rows, int r, int c) {
    return (uint32_t)((c >> 6) * rows * 128 + r * 128 + ((((c & 63) >> 3) ^ (r & 7)) << 4) + (c & 7) * 2);
}

// Matrix descriptor: start address, leading / stride byte offsets (all >> 4), 128-byte swizzle (mode 1 on sm_90).
__device__ __forceinline__ uint64_t wgmma_desc(uint32_t smem_addr, uint32_t lbo_bytes, uint32_t sbo_bytes) {
    return (uint64_t)((smem_addr & 0x3FFFF) >> 4) | ((uint64_t)((lbo_bytes & 0x3FFFF) >> 4) << 16) |
           ((uint64_t)((sbo_bytes & 0x3FFFF) >> 4) << 32) | (1ull << 62);
}

__device__ __forceinline__ void wgmma_fence() { asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory"); }
__device__ __forceinline__ void wgmma_commit() { asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory"); }
template <int N>
__device__ __forceinline__ void wgmma_wait() { asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(N) : "memory"); }
// Generic-proxy writes (cp.async, st.shared) made visible to the async proxy that wgmma reads through.
__device__ __forceinline__ void fence_proxy_async() { asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory"); }
__device__ __forceinline__ void st_shared_v2_f32(uint32_t addr, float a, float b) {
    asm volatile("st.shared.v2.f32 [%0], {%1, %2};\n" ::"r"(addr), "f"(a), "f"(b) : "memory");
}
// Bulk-copy engine: global[0 .. bytes) += shared (fp32, element-wise atomic adds), in this thread's bulk group;
// bytes and both addresses multiples of 16.
__device__ __forceinline__ void bulk_reduce_add_f32(float* gdst, uint32_t ssrc, int bytes) {
    asm volatile("cp.reduce.async.bulk.global.shared::cta.bulk_group.add.f32 [%0], [%1], %2;\n" ::"l"(gdst), "r"(ssrc),
                 "r"(bytes)
                 : "memory");
}
__device__ __forceinline__ void bulk_commit() { asm volatile("cp.async.bulk.commit_group;\n" ::: "memory"); }
// This thread's bulk groups have read their shared memory (the source may be rewritten) / are complete.
__device__ __forceinline__ void bulk_wait_read_all() { asm volatile("cp.async.bulk.wait_group.read 0;\n" ::: "memory"); }
__device__ __forceinline__ void bulk_wait_all() { asm volatile("cp.async.bulk.wait_group 0;\n" ::: "memory"); }

// Pins a wgmma operand's registers at this point of the (volatile asm) instruction order, as FlashAttention-3 does
// around its products. After a wait: the accumulator is read only after it (the wgmma asm statements define their
// outputs at issue, the hardware only at the wait). Before wgmma_fence(): register writes to accumulators and A
// fragments (O's rescale, P's packing) are not moved past the fence, which PTX requires to follow them.
template <int N8>
__device__ __forceinline__ void wgmma_fence_operands(float (&d)[N8][4]) {
#pragma unroll
    for (int i = 0; i < N8; ++i)
#pragma unroll
        for (int e = 0; e < 4; ++e) asm volatile("" : "+f"(d[i][e])::"memory");
}
template <int K>
__device__ __forceinline__ void wgmma_fence_operands(uint32_t (&a)[K][4]) {
#pragma unroll
    for (int i = 0; i < K; ++i)
#pragma unroll
        for (int e = 0; e < 4; ++e) asm volatile("" : "+r"(a[i][e])::"memory");
}

// Operand lists of the m64n64k16 / m64n128k16 wrappers: accumulator d[N / 8][4] (mma.sync's layout per 8 columns).
#define FLARE_WG_REGS32 "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31}"
#define FLARE_WG_REGS64 "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}"
#define FLARE_WG_ACC32 \
    "+f"(d[0][0]), "+f"(d[0][1]), "+f"(d[0][2]), "+f"(d[0][3]), "+f"(d[1][0]), "+f"(d[1][1]), "+f"(d[1][2]), "+f"(d[1][3]),  \
    "+f"(d[2][0]), "+f"(d[2][1]), "+f"(d[2][2]), "+f"(d[2][3]), "+f"(d[3][0]), "+f"(d[3][1]), "+f"(d[3][2]), "+f"(d[3][3]),  \
    "+f"(d[4][0]), "+f"(d[4][1]), "+f"(d[4][2]), "+f"(d[4][3]), "+f"(d[5][0]), "+f"(d[5][1]), "+f"(d[5][2]), "+f"(d[5][3]),  \
    "+f"(d[6][0]), "+f"(d[6][1]), "+f"(d[6][2]), "+f"(d[6][3]), "+f"(d[7][0]), "+f"(d[7][1]), "+f"(d[7][2]), "+f"(d[7][3])
#define FLARE_WG_ACC64 \
    "+f"(d[0][0]), "+f"(d[0][1]), "+f"(d[0][2]), "+f"(d[0][3]), "+f"(d[1][0]), "+f"(d[1][1]), "+f"(d[1][2]), "+f"(d[1][3]),  \
    "+f"(d[2][0]), "+f"(d[2][1]), "+f"(d[2][2]), "+f"(d[2][3]), "+f"(d[3][0]), "+f"(d[3][1]), "+f"(d[3][2]), "+f"(d[3][3]),  \
    "+f"(d[4][0]), "+f"(d[4][1]), "+f"(d[4][2]), "+f"(d[4][3]), "+f"(d[5][0]), "+f"(d[5][1]), "+f"(d[5][2]), "+f"(d[5][3]),  \
    "+f"(d[6][0]), "+f"(d[6][1]), "+f"(d[6][2]), "+f"(d[6][3]), "+f"(d[7][0]), "+f"(d[7][1]), "+f"(d[7][2]), "+f"(d[7][3]),  \
    "+f"(d[8][0]), "+f"(d[8][1]), "+f"(d[8][2]), "+f"(d[8][3]), "+f"(d[9][0]), "+f"(d[9][1]), "+f"(d[9][2]), "+f"(d[9][3]),  \
    "+f"(d[10][0]), "+f"(d[10][1]), "+f"(d[10][2]), "+f"(d[10][3]), "+f"(d[11][0]), "+f"(d[11][1]), "+f"(d[11][2]), "+f"(d[11][3]),  \
    "+f"(d[12][0]), "+f"(d[12][1]), "+f"(d[12][2]), "+f"(d[12][3]), "+f"(d[13][0]), "+f"(d[13][1]), "+f"(d[13][2]), "+f"(d[13][3]),  \
    "+f"(d[14][0]), "+f"(d[14][1]), "+f"(d[14][2]), "+f"(d[14][3]), "+f"(d[15][0]), "+f"(d[15][1]), "+f"(d[15][2]), "+f"(d[15][3])

template <typename T, int N> struct WgmmaOp;

// ss: d (+)= A B^T with A (64 x 16) and B (N x 16) K-major in shared memory; scale_d = 0 overwrites d.
// ss_mn: d (+)= A B with A (64 x 16) and B (16 x N) both MN-major in shared memory (imm-trans-a = imm-trans-b = 1).
// rs: d += A B with A (64 x 16) in registers (4 x 32 bits in the accumulator layout) and B (16 x N) MN-major in
// shared memory (imm-trans-b = 1); it always accumulates (scale-d = 1), so d must be initialized.
#define FLARE_WGMMA_OPS(T, TY)                                                                                      \
    template <> struct WgmmaOp<T, 64> {                                                                             \
        __device__ __forceinline__ static void ss(float (&d)[8][4], uint64_t a_desc, uint64_t b_desc, int scale_d) { \
            asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %34, 0;\n"                                              \
                         "wgmma.mma_async.sync.aligned.m64n64k16.f32." TY "." TY " " FLARE_WG_REGS32               \
                         ", %32, %33, p, 1, 1, 0, 0;\n}\n"                                                         \
                         : FLARE_WG_ACC32                                                                           \
                         : "l"(a_desc), "l"(b_desc), "r"(scale_d));                                                 \
        }                                                                                                           \
        __device__ __forceinline__ static void ss_mn(float (&d)[8][4], uint64_t a_desc, uint64_t b_desc, int scale_d) { \
            asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %34, 0;\n"                                               \
                         "wgmma.mma_async.sync.aligned.m64n64k16.f32." TY "." TY " " FLARE_WG_REGS32                \
                         ", %32, %33, p, 1, 1, 1, 1;\n}\n"                                                          \
                         : FLARE_WG_ACC32                                                                           \
                         : "l"(a_desc), "l"(b_desc), "r"(scale_d));                                                 \
        }                                                                                                           \
        __device__ __forceinline__ static void rs(float (&d)[8][4], const uint32_t (&a)[4], uint64_t b_desc) {     \
            asm volatile("wgmma.mma_async.sync.aligned.m64n64k16.f32." TY "." TY " " FLARE_WG_REGS32               \
                         ", {%32, %33, %34, %35}, %36, 1, 1, 1, 1;\n"                                              \
                         : FLARE_WG_ACC32                                                                           \
                         : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(b_desc));                                \
        }                                                                                                           \
    };                                                                                                              \
    template <> struct WgmmaOp<T, 128> {                                                                            \
        __device__ __forceinline__ static void ss(float (&d)[16][4], uint64_t a_desc, uint64_t b_desc, int scale_d) { \
            asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %66, 0;\n"                                              \
                         "wgmma.mma_async.sync.aligned.m64n128k16.f32." TY "." TY " " FLARE_WG_REGS64              \
                         ", %64, %65, p, 1, 1, 0, 0;\n}\n"                                                         \
                         : FLARE_WG_ACC64                                                                           \
                         : "l"(a_desc), "l"(b_desc), "r"(scale_d));                                                 \
        }                                                                                                           \
        __device__ __forceinline__ static void ss_mn(float (&d)[16][4], uint64_t a_desc, uint64_t b_desc, int scale_d) { \
            asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %66, 0;\n"                                               \
                         "wgmma.mma_async.sync.aligned.m64n128k16.f32." TY "." TY " " FLARE_WG_REGS64               \
                         ", %64, %65, p, 1, 1, 1, 1;\n}\n"                                                          \
                         : FLARE_WG_ACC64                                                                           \
                         : "l"(a_desc), "l"(b_desc), "r"(scale_d));                                                 \
        }                                                                                                           \
        __device__ __forceinline__ static void rs(float (&d)[16][4], const uint32_t (&a)[4], uint64_t b_desc) {    \
            asm volatile("wgmma.mma_async.sync.aligned.m64n128k16.f32." TY "." TY " " FLARE_WG_REGS64              \
                         ", {%64, %65, %66, %67}, %68, 1, 1, 1, 1;\n"                                              \
                         : FLARE_WG_ACC64                                                                           \
                         : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(b_desc));                                \
        }                                                                                                           \
    };

FLARE_WGMMA_OPS(__nv_bfloat16, "bf16")
FLARE_WGMMA_OPS(__half, "f16")

}  // namespace flare_attn
