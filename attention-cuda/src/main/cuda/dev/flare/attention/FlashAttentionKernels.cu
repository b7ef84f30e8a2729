// Flare flash attention: extern "C" entry points (names computed by the Java side).
//
// Naming: <kernel>_<dtype>_d<D>, dtype in {bf16, f16, f32}, D in {32, 64, 96, 128, 256}.
// Causal mode (0/1/2), dropout (0/1) and deterministic are RUNTIME fields of the parameter struct
// (uniform branches; keeps the instantiation count at 3 dtypes x 5 head dims per kernel).
//
//   flash_fwd_<dt>_d<D>            forward. bf16/f16: tensor-core kernel (FwdLaunchCfg: mma.sync, or wgmma on sm_90a); f32: SIMT
//   flash_fwd_simt_<dt>_d<D>       SIMT forward, bf16/f16 only (reference / fallback)
//   flash_bwd_preprocess_<dt>_d<D> delta = rowsum(dO*O), zero dq_accum (unless deterministic)
//   flash_bwd_dkdv_<dt>_d<D>       dK, dV (+ dQ fp32 atomics into dq_accum unless deterministic), SIMT
//   flash_bwd_dkdv_tc_<dt>_d<D>    same contract on tensor cores (BwdDkdvLaunchCfg: wgmma on sm_90a at D = 64/128, else
//                                  mma.sync); dt in {bf16, f16}, D in {32, 64, 96, 128}
//   flash_bwd_dq_<dt>_d<D>         deterministic dQ (writes dq directly)
//   flash_bwd_convert_dq_<dt>_d<D> dq_accum -> dq (non-deterministic mode)
// Launch configurations (grid, block, dynamic smem): docs/attention-kernels.md.
#include "FlashAttentionFwdWgmma.cuh"
#include "FlashAttentionBwdWgmma.cuh"

using namespace flare_attn;

#define FLARE_BWD_ENTRIES(NAME, T, D)                                                                      \
    extern "C" __global__ void __launch_bounds__(kPreprocessWarps * 32)                                    \
        flash_bwd_preprocess_##NAME##_d##D(const FlashBwdParams p) { bwd_preprocess_kernel<T, D>(p); }     \
    extern "C" __global__ void __launch_bounds__(BwdCfg<D>::NT)                                            \
        flash_bwd_dkdv_##NAME##_d##D(const FlashBwdParams p) { bwd_dkdv_kernel<T, D>(p); }                 \
    extern "C" __global__ void __launch_bounds__(BwdCfg<D>::NT)                                            \
        flash_bwd_dq_##NAME##_d##D(const FlashBwdParams p) { bwd_dq_kernel<T, D>(p); }                     \
    extern "C" __global__ void __launch_bounds__(256)                                                      \
        flash_bwd_convert_dq_##NAME##_d##D(const FlashBwdParams p) { bwd_convert_dq_kernel<T, D>(p); }

#define FLARE_HALF_ENTRIES(NAME, T, D)                                                                     \
    extern "C" __global__ void __launch_bounds__(FwdLaunchCfg<D>::NT, FwdLaunchCfg<D>::MIN_BLOCKS)         \
        flash_fwd_##NAME##_d##D(const FlashFwdParams p) { fwd_tc_entry<T, D>(p); }                         \
    extern "C" __global__ void __launch_bounds__(kSimtFwdWarps * 32)                                       \
        flash_fwd_simt_##NAME##_d##D(const FlashFwdParams p) { fwd_simt_kernel<T, D>(p); }                 \
    FLARE_BWD_ENTRIES(NAME, T, D)

#define FLARE_TC_BWD_ENTRY(NAME, T, D)                                                                     \
    extern "C" __global__ void __launch_bounds__(BwdDkdvLaunchCfg<D>::NT, BwdDkdvLaunchCfg<D>::MIN_BLOCKS) \
        flash_bwd_dkdv_tc_##NAME##_d##D(const FlashBwdParams p) { bwd_dkdv_entry<T, D>(p); }

#define FLARE_F32_ENTRIES(D)                                                                               \
    extern "C" __global__ void __launch_bounds__(kSimtFwdWarps * 32)                                       \
        flash_fwd_f32_d##D(const FlashFwdParams p) { fwd_simt_kernel<float, D>(p); }                       \
    FLARE_BWD_ENTRIES(f32, float, D)

#define FLARE_ALL_D(M, ...) M(__VA_ARGS__, 32) M(__VA_ARGS__, 64) M(__VA_ARGS__, 96) M(__VA_ARGS__, 128) M(__VA_ARGS__, 256)

FLARE_ALL_D(FLARE_HALF_ENTRIES, bf16, __nv_bfloat16)
FLARE_ALL_D(FLARE_HALF_ENTRIES, f16, __half)
FLARE_F32_ENTRIES(32)
FLARE_F32_ENTRIES(64)
FLARE_F32_ENTRIES(96)
FLARE_F32_ENTRIES(128)
FLARE_F32_ENTRIES(256)

FLARE_TC_BWD_ENTRY(bf16, __nv_bfloat16, 32)
FLARE_TC_BWD_ENTRY(bf16, __nv_bfloat16, 64)
FLARE_TC_BWD_ENTRY(bf16, __nv_bfloat16, 96)
FLARE_TC_BWD_ENTRY(bf16, __nv_bfloat16, 128)
FLARE_TC_BWD_ENTRY(f16, __half, 32)
FLARE_TC_BWD_ENTRY(f16, __half, 64)
FLARE_TC_BWD_ENTRY(f16, __half, 96)
FLARE_TC_BWD_ENTRY(f16, __half, 128)

// Launch configuration table, read once by FlashAttentionKernels.java so that the Java launcher never restates
// the tile constants. out[0] = sizeof(FlashFwdParams), out[1] = sizeof(FlashBwdParams), then for each D in
// {32, 64, 96, 128, 256} kFlashConfigInts ints, in the order of the fields below.
static constexpr int kFlashConfigInts = 11;

template <int D> __device__ void flash_config_row(int* r) {
    r[0] = FwdLaunchCfg<D>::BM;                 // tensor-core fwd: query rows per CTA
    r[1] = FwdLaunchCfg<D>::NT;                 //   threads
    r[2] = FwdLaunchCfg<D>::SMEM_BYTES;         //   dynamic smem bytes
    r[3] = kSimtFwdWarps;                       // SIMT fwd: query rows per CTA (threads = 32x)
    r[4] = kPreprocessWarps;                    // bwd preprocess: rows per CTA (threads = 32x)
    r[5] = BwdCfg<D>::KB;                       // SIMT dkdv / dq: keys (or queries) per CTA
    r[6] = BwdCfg<D>::NT;                       //   threads
    r[7] = BwdCfg<D>::SMEM_FLOATS * 4;          //   dynamic smem bytes
    r[8] = D <= 128 ? BwdDkdvLaunchCfg<D>::BC : 0;   // tensor-core dkdv: keys per CTA (0: not instantiated)
    r[9] = D <= 128 ? BwdDkdvLaunchCfg<D>::NT : 0;   //   threads
    r[10] = D <= 128 ? BwdDkdvLaunchCfg<D>::SMEM_BYTES : 0;
}

extern "C" __global__ void flash_launch_config(int* out) {
    if (threadIdx.x != 0 || blockIdx.x != 0) return;
    out[0] = (int)sizeof(FlashFwdParams);
    out[1] = (int)sizeof(FlashBwdParams);
    flash_config_row<32>(out + 2);
    flash_config_row<64>(out + 2 + kFlashConfigInts);
    flash_config_row<96>(out + 2 + 2 * kFlashConfigInts);
    flash_config_row<128>(out + 2 + 3 * kFlashConfigInts);
    flash_config_row<256>(out + 2 + 4 * kFlashConfigInts);
}
