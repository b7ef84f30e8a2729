// Size of philox4x32_10 in SASS, for build-support/kernel-sizes.sh --philox: a kernel running NCALL Philox calls on
// counters it loads (the key schedule shared between the calls, as in the attention kernels' loops), compiled for
// NCALL = 1, 4 and 8. The growth per call is what one call costs (docs/attention-kernels.md, "Dropout").
#include "FlashAttentionCommon.cuh"

extern "C" __global__ void philox_calls(uint4* io, uint32_t k0, uint32_t k1) {
    uint32_t acc = 0;
#pragma unroll
    for (int i = 0; i < NCALL; ++i) {
        const uint4 v = io[threadIdx.x + blockDim.x * i];
        uint32_t c[4] = {v.x, v.y, v.z, v.w};
        flare_attn::philox4x32_10(c, k0, k1);
        acc ^= c[0] ^ c[1] ^ c[2] ^ c[3];
    }
    io[threadIdx.x].x = acc;
}
