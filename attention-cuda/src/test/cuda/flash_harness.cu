// Standalone self-checking harness for Flare's flash attention kernels (not built by Maven).
// Build (see run_harness.sh):
//   nvcc -std=c++17 -O3 --expt-relaxed-constexpr -gencode arch=compute_90a,code=sm_90a \
//        -I attention-cuda/src/main/cuda/dev/flare/attention attention-cuda/src/test/cuda/flash_harness.cu -o flash_harness
// Usage: flash_harness            correctness checks (one line per case, final "N passed, M failed")
//        flash_harness --bench    benchmark only
//        flash_harness --all      checks, then benchmark
// Options: --simt-fwd (force the SIMT forward), --no-tc-bwd (skip the tensor-core dK/dV kernel),
//          --max-cases N, --case N (run one case by index), --bench-seqs 1024,4096 (bench only these S),
//          --bench-dims 32 (bench only these D, no dropout rows), --bench-no-simt (no SIMT backward column), --bench-dropout 0.1 (every row with dropout). -DFLARE_BWD_TC_WARPS=8 builds the 8-warp dK/dV CTA.
#include "FlashAttentionKernels.cu"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#define CK(x)                                                                                       \
    do {                                                                                            \
        cudaError_t e_ = (x);                                                                       \
        if (e_ != cudaSuccess) {                                                                    \
            printf("CUDA error %s at %s:%d: %s\n", cudaGetErrorString(e_), __FILE__, __LINE__, #x); \
            printf("ABORT: %d passed, %d failed (CUDA error, remaining cases not run)\n", g_pass,    \
                   g_fail + 1);                                                                     \
            exit(2);                                                                                \
        }                                                                                           \
    } while (0)

static int g_pass = 0, g_fail = 0;
static bool g_force_simt_fwd = false;  // --simt-fwd: use the SIMT forward everywhere
static bool g_no_tc_bwd = false;       // --no-tc-bwd: skip the tensor-core dK/dV kernel
static int g_max_cases = 1 << 30;      // --max-cases N
static int g_only_case = -1;           // --case N
static std::vector<int> g_bench_seqs;  // --bench-seqs 1024,4096: bench only these S (default 512..16384)
static std::vector<int> g_bench_dims;  // --bench-dims 32,64: bench only these D (default 64, 128)
static bool g_bench_no_simt = false;   // --bench-no-simt: skip the SIMT backward's bench column
static float g_bench_dropout = 0.f;    // --bench-dropout 0.1: every bench row with this dropout

enum DType { BF16 = 0, F16 = 1, F32 = 2 };
static const char* dt_name(DType d) { return d == BF16 ? "bf16" : d == F16 ? "f16" : "f32"; }
static size_t dt_size(DType d) { return d == F32 ? 4 : 2; }

// ------------------------------------------------------------------------------ kernel tables
struct KSet {
    const void* fwd = nullptr;
    const void* fwd_simt = nullptr;
    const void* pre = nullptr;
    const void* dkdv = nullptr;
    const void* dq = nullptr;
    const void* conv = nullptr;
    const void* dkdv_tc = nullptr;  // tensor-core dK/dV, bf16/f16 and D <= 128 only
    int tc_bc = 0, tc_nt = 0;
    size_t tc_smem = 0;
    int fwd_bm = 0, fwd_nt = 0;
    size_t fwd_smem = 0;
    int bwd_kb = 0, bwd_nt = 0;
    size_t bwd_smem = 0;
};

#define KS_HALF(NAME, D)                                                                  \
    {                                                                                     \
        k.fwd = (const void*)flash_fwd_##NAME##_d##D;                                     \
        k.fwd_simt = (const void*)flash_fwd_simt_##NAME##_d##D;                           \
        k.pre = (const void*)flash_bwd_preprocess_##NAME##_d##D;                          \
        k.dkdv = (const void*)flash_bwd_dkdv_##NAME##_d##D;                               \
        k.dq = (const void*)flash_bwd_dq_##NAME##_d##D;                                   \
        k.conv = (const void*)flash_bwd_convert_dq_##NAME##_d##D;                         \
        k.fwd_bm = FwdLaunchCfg<D>::BM;                                                   \
        k.fwd_nt = FwdLaunchCfg<D>::NT;                                                   \
        k.fwd_smem = (size_t)FwdLaunchCfg<D>::SMEM_BYTES;                                 \
    }
template <int D> static void tc_cfg(KSet& k, const void* f) {
    k.dkdv_tc = f;
    k.tc_bc = BwdDkdvLaunchCfg<D>::BC;
    k.tc_nt = BwdDkdvLaunchCfg<D>::NT;
    k.tc_smem = (size_t)BwdDkdvLaunchCfg<D>::SMEM_BYTES;
}
#define KS_F32(D)                                                                         \
    {                                                                                     \
        k.fwd = (const void*)flash_fwd_f32_d##D;                                          \
        k.fwd_simt = (const void*)flash_fwd_f32_d##D;                                     \
        k.pre = (const void*)flash_bwd_preprocess_f32_d##D;                               \
        k.dkdv = (const void*)flash_bwd_dkdv_f32_d##D;                                    \
        k.dq = (const void*)flash_bwd_dq_f32_d##D;                                        \
        k.conv = (const void*)flash_bwd_convert_dq_f32_d##D;                              \
        k.fwd_bm = kSimtFwdWarps;                                                         \
        k.fwd_nt = kSimtFwdWarps * 32;                                                    \
        k.fwd_smem = 0;                                                                   \
    }
template <int D> static void bwd_cfg(KSet& k) {
    k.bwd_kb = BwdCfg<D>::KB;
    k.bwd_nt = BwdCfg<D>::NT;
    k.bwd_smem = (size_t)BwdCfg<D>::SMEM_FLOATS * 4;
}

static KSet get_kernels(DType dt, int D) {
    KSet k;
#define CASE_D(D)                                   \
    case D:                                         \
        if (dt == BF16) KS_HALF(bf16, D)            \
        else if (dt == F16) KS_HALF(f16, D)         \
        else KS_F32(D)                              \
        bwd_cfg<D>(k);                              \
        break;
    switch (D) {
        CASE_D(32) CASE_D(64) CASE_D(96) CASE_D(128) CASE_D(256)
        default: printf("bad D %d\n", D); exit(2);
    }
#undef CASE_D
#define TC_D(D)                                                                   \
    case D:                                                                       \
        if (dt == BF16) tc_cfg<D>(k, (const void*)flash_bwd_dkdv_tc_bf16_d##D);   \
        if (dt == F16) tc_cfg<D>(k, (const void*)flash_bwd_dkdv_tc_f16_d##D);     \
        break;
    switch (D) {
        TC_D(32) TC_D(64) TC_D(96) TC_D(128)
        default: break;
    }
#undef TC_D
    static bool attr_done[3][5] = {};
    int di = D == 32 ? 0 : D == 64 ? 1 : D == 96 ? 2 : D == 128 ? 3 : 4;
    if (!attr_done[dt][di]) {
        if (k.fwd_smem > 0)
            CK(cudaFuncSetAttribute(k.fwd, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)k.fwd_smem));
        CK(cudaFuncSetAttribute(k.dkdv, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)k.bwd_smem));
        CK(cudaFuncSetAttribute(k.dq, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)k.bwd_smem));
        if (k.dkdv_tc)
            CK(cudaFuncSetAttribute(k.dkdv_tc, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)k.tc_smem));
        attr_done[dt][di] = true;
    }
    return k;
}

static void launch(const void* f, dim3 g, dim3 b, size_t smem, void* params) {
    void* args[] = {params};
    CK(cudaLaunchKernel(f, g, b, args, smem, 0));
}

static int cdiv(long long a, long long b) { return (int)((a + b - 1) / b); }

// ------------------------------------------------------------------------------ host dtype helpers
static float round_to(DType dt, float x) {
    if (dt == BF16) return __bfloat162float(__float2bfloat16_rn(x));
    if (dt == F16) return __half2float(__float2half_rn(x));
    return x;
}
static std::vector<unsigned char> encode(DType dt, const std::vector<float>& v) {
    std::vector<unsigned char> out(v.size() * dt_size(dt));
    for (size_t i = 0; i < v.size(); ++i) {
        if (dt == F32) {
            memcpy(&out[i * 4], &v[i], 4);
        } else if (dt == BF16) {
            __nv_bfloat16 h = __float2bfloat16_rn(v[i]);
            memcpy(&out[i * 2], &h, 2);
        } else {
            __half h = __float2half_rn(v[i]);
            memcpy(&out[i * 2], &h, 2);
        }
    }
    return out;
}
static std::vector<float> decode(DType dt, const std::vector<unsigned char>& b, size_t n) {
    std::vector<float> v(n);
    for (size_t i = 0; i < n; ++i) {
        if (dt == F32) {
            memcpy(&v[i], &b[i * 4], 4);
        } else if (dt == BF16) {
            __nv_bfloat16 h;
            memcpy(&h, &b[i * 2], 2);
            v[i] = __bfloat162float(h);
        } else {
            __half h;
            memcpy(&h, &b[i * 2], 2);
            v[i] = __half2float(h);
        }
    }
    return v;
}

// ------------------------------------------------------------------------------ Philox KAT
__global__ void philox_kat_kernel(uint32_t* out) {
    uint32_t c[3][4] = {{0, 0, 0, 0},
                        {0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu},
                        {0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}};
    uint32_t k[3][2] = {{0, 0}, {0xffffffffu, 0xffffffffu}, {0xa4093822u, 0x299f31d0u}};
    for (int t = 0; t < 3; ++t) {
        flare_attn::philox4x32_10(c[t], k[t][0], k[t][1]);
        for (int i = 0; i < 4; ++i) out[t * 4 + i] = c[t][i];
    }
}

static void check_philox() {
    const uint32_t c[3][4] = {{0, 0, 0, 0},
                              {0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu},
                              {0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}};
    const uint32_t k[3][2] = {{0, 0}, {0xffffffffu, 0xffffffffu}, {0xa4093822u, 0x299f31d0u}};
    const uint32_t want[3][4] = {{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u},
                                 {0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu},
                                 {0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}};
    bool host_ok = true;
    for (int t = 0; t < 3; ++t) {
        uint32_t x[4] = {c[t][0], c[t][1], c[t][2], c[t][3]};
        flare_attn::philox4x32_10(x, k[t][0], k[t][1]);
        for (int i = 0; i < 4; ++i) host_ok &= x[i] == want[t][i];
    }
    uint32_t* d;
    CK(cudaMalloc(&d, 12 * 4));
    philox_kat_kernel<<<1, 1>>>(d);
    CK(cudaGetLastError());
    uint32_t got[12];
    CK(cudaMemcpy(got, d, 48, cudaMemcpyDeviceToHost));
    CK(cudaFree(d));
    bool dev_ok = true;
    for (int t = 0; t < 3; ++t)
        for (int i = 0; i < 4; ++i) dev_ok &= got[t * 4 + i] == want[t][i];
    printf("%s  philox KAT host\n", host_ok ? "PASS" : "FAIL");
    printf("%s  philox KAT device\n", dev_ok ? "PASS" : "FAIL");
    (host_ok ? g_pass : g_fail)++;
    (dev_ok ? g_pass : g_fail)++;
}

// ------------------------------------------------------------------------------ reference
struct Case {
    DType dt;
    int D, B, Hq, Hkv, Sq, Sk, causal;
    float pdrop;
    bool bshd = false;          // (B, S, H, D) memory layout instead of (B, H, S, D)
    bool simt_fwd = false;      // use flash_fwd_simt_* for bf16/f16
    bool deterministic = false; // run backward twice in deterministic mode, require bitwise equality
};

struct Layout {
    long long bs, hs, ss;  // batch, head, seq strides
};
static Layout make_layout(bool bshd, int H, int S, int D) {
    if (bshd) return {(long long)S * H * D, (long long)D, (long long)H * D};
    return {(long long)H * S * D, (long long)S * D, (long long)D};
}
static inline size_t at(const Layout& L, int b, int h, int s, int d) {
    return (size_t)(b * L.bs + h * L.hs + s * L.ss + d);
}

struct Ref {
    std::vector<double> o, lse, dq, dk, dv;
};

static Ref reference(const Case& c, const std::vector<float>& q, const std::vector<float>& k,
                     const std::vector<float>& v, const std::vector<float>& dout, const Layout& Lq,
                     const Layout& Lk, float scale, unsigned long long seed, uint32_t off_lo, uint32_t thr,
                     float keep_scale) {
    const int D = c.D, Sq = c.Sq, Sk = c.Sk, Hq = c.Hq, Hkv = c.Hkv, B = c.B;
    Ref r;
    r.o.assign((size_t)B * Hq * Sq * D, 0.0);  // indexed via Lq
    r.dq.assign(r.o.size(), 0.0);
    r.lse.assign((size_t)B * Hq * Sq, 0.0);
    r.dk.assign((size_t)B * Hkv * Sk * D, 0.0);  // indexed via Lk
    r.dv.assign(r.dk.size(), 0.0);
    const int off = c.causal == 2 ? Sk - Sq : 0;
    std::vector<double> P(Sk), Z(Sk), dPt(Sk);
    for (int b = 0; b < B; ++b)
        for (int h = 0; h < Hq; ++h) {
            const int hk = h / (Hq / Hkv);
            const int bh = b * Hq + h;
            for (int i = 0; i < Sq; ++i) {
                double m = -INFINITY;
                for (int j = 0; j < Sk; ++j) {
                    bool valid = !(c.causal && j > i + off);
                    double s = -INFINITY;
                    if (valid) {
                        s = 0;
                        for (int d = 0; d < D; ++d) s += (double)q[at(Lq, b, h, i, d)] * k[at(Lk, b, hk, j, d)];
                        s *= scale;
                    }
                    P[j] = s;
                    m = std::max(m, s);
                }
                double& lse = r.lse[(size_t)bh * Sq + i];
                if (m == -INFINITY) {
                    lse = -INFINITY;
                    continue;  // O, dQ rows zero; no contribution to dK/dV
                }
                double sum = 0;
                for (int j = 0; j < Sk; ++j) {
                    P[j] = P[j] == -INFINITY ? 0.0 : std::exp(P[j] - m);
                    sum += P[j];
                }
                lse = m + std::log(sum);
                for (int j = 0; j < Sk; ++j) {
                    P[j] /= sum;
                    Z[j] = 1.0;
                    if (c.pdrop > 0)
                        Z[j] = flare_attn::dropout_keep(seed, off_lo, thr, i, j, bh) ? (double)keep_scale : 0.0;
                }
                for (int d = 0; d < D; ++d) {
                    double a = 0;
                    for (int j = 0; j < Sk; ++j) a += P[j] * Z[j] * v[at(Lk, b, hk, j, d)];
                    r.o[at(Lq, b, h, i, d)] = a;
                }
                double delta = 0;
                for (int j = 0; j < Sk; ++j) {
                    double a = 0;
                    for (int d = 0; d < D; ++d) a += (double)dout[at(Lq, b, h, i, d)] * v[at(Lk, b, hk, j, d)];
                    dPt[j] = a * Z[j];  // dP (gradient wrt the un-dropped P)
                    delta += P[j] * dPt[j];
                }
                for (int j = 0; j < Sk; ++j) {
                    double ds = P[j] * (dPt[j] - delta);
                    double pz = P[j] * Z[j];
                    for (int d = 0; d < D; ++d) {
                        r.dv[at(Lk, b, hk, j, d)] += pz * dout[at(Lq, b, h, i, d)];
                        r.dk[at(Lk, b, hk, j, d)] += scale * ds * q[at(Lq, b, h, i, d)];
                        r.dq[at(Lq, b, h, i, d)] += scale * ds * k[at(Lk, b, hk, j, d)];
                    }
                }
            }
        }
    return r;
}

struct Err {
    double rel;
    bool ok;
};
static Err compare(const std::vector<float>& x, const std::vector<double>& ref, double tol) {
    double num = 0, den = 0;
    bool finite = true;
    for (size_t i = 0; i < ref.size(); ++i) {
        if (!std::isfinite(x[i])) finite = false;
        double d = (double)x[i] - ref[i];
        num += d * d;
        den += ref[i] * ref[i];
    }
    num = std::sqrt(num);
    den = std::sqrt(den);
    double rel = den > 0 ? num / den : num;
    bool ok = finite && (num <= tol * den + 1e-5 * std::sqrt((double)ref.size()));
    return {finite ? rel : INFINITY, ok};
}
static Err compare_lse(const std::vector<float>& x, const std::vector<double>& ref, double tol) {
    double num = 0, den = 0;
    bool ok = true;
    for (size_t i = 0; i < ref.size(); ++i) {
        bool ri = std::isinf(ref[i]), xi = std::isinf(x[i]) && x[i] < 0;
        if (ri || xi) {
            if (ri != xi) ok = false;
            continue;
        }
        if (!std::isfinite(x[i])) { ok = false; continue; }
        double d = (double)x[i] - ref[i];
        num += d * d;
        den += ref[i] * ref[i];
    }
    num = std::sqrt(num);
    den = std::sqrt(den);
    double rel = den > 0 ? num / den : num;
    ok = ok && num <= tol * den + 1e-6 * std::sqrt((double)ref.size());
    return {ok ? rel : INFINITY, ok};
}

// ------------------------------------------------------------------------------ device run
struct DevBufs {
    void *q, *k, *v, *o, *dout, *dq, *dk, *dv;
    float *lse, *delta, *dq_accum;
};

static void run_fwd(const KSet& ks, const FlashFwdParams& fp, bool simt) {
    FlashFwdParams p = fp;
    if (simt)
        launch(ks.fwd_simt, dim3(cdiv(p.Sq, kSimtFwdWarps), p.Hq, p.B), dim3(kSimtFwdWarps * 32), 0, &p);
    else
        launch(ks.fwd, dim3(cdiv(p.Sq, ks.fwd_bm), p.Hq, p.B), dim3(ks.fwd_nt), ks.fwd_smem, &p);
}

static void run_bwd(const KSet& ks, const FlashBwdParams& bp, int D, bool tc) {
    FlashBwdParams p = bp;
    launch(ks.pre, dim3(cdiv(p.Sq, kPreprocessWarps), p.Hq, p.B), dim3(kPreprocessWarps * 32), 0, &p);
    if (tc)
        launch(ks.dkdv_tc, dim3(cdiv(p.Sk, ks.tc_bc), p.Hkv, p.B), dim3(ks.tc_nt), ks.tc_smem, &p);
    else
        launch(ks.dkdv, dim3(cdiv(p.Sk, ks.bwd_kb), p.Hkv, p.B), dim3(ks.bwd_nt), ks.bwd_smem, &p);
    if (p.deterministic)
        launch(ks.dq, dim3(cdiv(p.Sq, ks.bwd_kb), p.Hq, p.B), dim3(ks.bwd_nt), ks.bwd_smem, &p);
    else
        launch(ks.conv, dim3(cdiv((long long)p.Sq * D, 256), p.Hq, p.B), dim3(256), 0, &p);
}

static void fill_params(const Case& c, const DevBufs& d, const Layout& Lq, const Layout& Lk, float scale,
                        unsigned long long seed, uint32_t off_lo, uint32_t thr, float keep_scale,
                        FlashFwdParams& fp, FlashBwdParams& bp) {
    memset(&fp, 0, sizeof(fp));
    memset(&bp, 0, sizeof(bp));
    fp.q = d.q; fp.k = d.k; fp.v = d.v; fp.o = d.o; fp.lse = d.lse;
    fp.q_batch_stride = Lq.bs; fp.q_head_stride = Lq.hs; fp.q_seq_stride = Lq.ss;
    fp.k_batch_stride = Lk.bs; fp.k_head_stride = Lk.hs; fp.k_seq_stride = Lk.ss;
    fp.v_batch_stride = Lk.bs; fp.v_head_stride = Lk.hs; fp.v_seq_stride = Lk.ss;
    fp.o_batch_stride = Lq.bs; fp.o_head_stride = Lq.hs; fp.o_seq_stride = Lq.ss;
    fp.B = c.B; fp.Hq = c.Hq; fp.Hkv = c.Hkv; fp.Sq = c.Sq; fp.Sk = c.Sk;
    fp.scale = scale; fp.causal = c.causal; fp.dropout = c.pdrop > 0;
    fp.seed = seed; fp.offset_lo = off_lo; fp.drop_threshold = thr; fp.keep_scale = keep_scale;

    bp.q = d.q; bp.k = d.k; bp.v = d.v; bp.o = d.o; bp.dout = d.dout;
    bp.lse = d.lse; bp.delta = d.delta; bp.dq_accum = d.dq_accum;
    bp.dq = d.dq; bp.dk = d.dk; bp.dv = d.dv;
    bp.q_batch_stride = Lq.bs; bp.q_head_stride = Lq.hs; bp.q_seq_stride = Lq.ss;
    bp.k_batch_stride = Lk.bs; bp.k_head_stride = Lk.hs; bp.k_seq_stride = Lk.ss;
    bp.v_batch_stride = Lk.bs; bp.v_head_stride = Lk.hs; bp.v_seq_stride = Lk.ss;
    bp.o_batch_stride = Lq.bs; bp.o_head_stride = Lq.hs; bp.o_seq_stride = Lq.ss;
    bp.do_batch_stride = Lq.bs; bp.do_head_stride = Lq.hs; bp.do_seq_stride = Lq.ss;
    bp.dq_batch_stride = Lq.bs; bp.dq_head_stride = Lq.hs; bp.dq_seq_stride = Lq.ss;
    bp.dk_batch_stride = Lk.bs; bp.dk_head_stride = Lk.hs; bp.dk_seq_stride = Lk.ss;
    bp.dv_batch_stride = Lk.bs; bp.dv_head_stride = Lk.hs; bp.dv_seq_stride = Lk.ss;
    bp.B = c.B; bp.Hq = c.Hq; bp.Hkv = c.Hkv; bp.Sq = c.Sq; bp.Sk = c.Sk;
    bp.scale = scale; bp.causal = c.causal; bp.dropout = c.pdrop > 0;
    bp.seed = seed; bp.offset_lo = off_lo; bp.drop_threshold = thr; bp.keep_scale = keep_scale;
    bp.deterministic = c.deterministic;
}

// The 8-bit threshold (docs/attention.md): p rounded to a multiple of 1/256.
static uint32_t drop_threshold(float p) { return (uint32_t)std::llround((double)p * 256.0); }
// Kept values are scaled by 1 / (1 - the realized drop probability).
static float keep_scale_of(uint32_t thr) { return (float)(256.0 / (256.0 - (double)thr)); }

static void run_case(const Case& c, int idx) {
    const int D = c.D;
    const DType dt = c.dt;
    const size_t nq = (size_t)c.B * c.Hq * c.Sq * D, nk = (size_t)c.B * c.Hkv * c.Sk * D;
    const Layout Lq = make_layout(c.bshd, c.Hq, c.Sq, D), Lk = make_layout(c.bshd, c.Hkv, c.Sk, D);
    std::mt19937_64 rng(1234 + idx);
    std::normal_distribution<float> nd(0.f, 1.f);
    std::vector<float> q(nq), k(nk), v(nk), dout(nq);
    for (auto& x : q) x = round_to(dt, nd(rng));
    for (auto& x : k) x = round_to(dt, nd(rng));
    for (auto& x : v) x = round_to(dt, nd(rng));
    for (auto& x : dout) x = round_to(dt, nd(rng));
    const float scale = 1.f / std::sqrt((float)D);
    const unsigned long long seed = 0x0123456789abcdefULL + 7919ULL * idx;
    const uint32_t off_lo = 17u + idx;
    const uint32_t thr = c.pdrop > 0 ? drop_threshold(c.pdrop) : 0u;
    const float keep_scale = c.pdrop > 0 ? keep_scale_of(thr) : 1.f;

    const size_t es = dt_size(dt);
    DevBufs d;
    CK(cudaMalloc(&d.q, nq * es)); CK(cudaMalloc(&d.o, nq * es)); CK(cudaMalloc(&d.dout, nq * es));
    CK(cudaMalloc(&d.dq, nq * es)); CK(cudaMalloc(&d.k, nk * es)); CK(cudaMalloc(&d.v, nk * es));
    CK(cudaMalloc(&d.dk, nk * es)); CK(cudaMalloc(&d.dv, nk * es));
    CK(cudaMalloc(&d.lse, (size_t)c.B * c.Hq * c.Sq * 4));
    CK(cudaMalloc(&d.delta, (size_t)c.B * c.Hq * c.Sq * 4));
    CK(cudaMalloc(&d.dq_accum, nq * 4));
    auto up = [&](void* dst, const std::vector<float>& h) {
        auto b = encode(dt, h);
        CK(cudaMemcpy(dst, b.data(), b.size(), cudaMemcpyHostToDevice));
    };
    up(d.q, q); up(d.k, k); up(d.v, v); up(d.dout, dout);
    // poison outputs so unwritten elements are caught
    CK(cudaMemset(d.o, 0xff, nq * es)); CK(cudaMemset(d.dq, 0xff, nq * es));
    CK(cudaMemset(d.dk, 0xff, nk * es)); CK(cudaMemset(d.dv, 0xff, nk * es));
    CK(cudaMemset(d.dq_accum, 0xff, nq * 4));

    KSet ks = get_kernels(dt, D);
    FlashFwdParams fp;
    FlashBwdParams bp;
    fill_params(c, d, Lq, Lk, scale, seed, off_lo, thr, keep_scale, fp, bp);
    const bool simt_fwd = c.simt_fwd || g_force_simt_fwd;
    run_fwd(ks, fp, simt_fwd);
    CK(cudaGetLastError());
    CK(cudaDeviceSynchronize());

    auto down = [&](const void* src, size_t n) {
        std::vector<unsigned char> b(n * es);
        CK(cudaMemcpy(b.data(), src, b.size(), cudaMemcpyDeviceToHost));
        return decode(dt, b, n);
    };
    std::vector<float> o = down(d.o, nq);
    std::vector<float> lse((size_t)c.B * c.Hq * c.Sq);
    CK(cudaMemcpy(lse.data(), d.lse, lse.size() * 4, cudaMemcpyDeviceToHost));

    Ref r = reference(c, q, k, v, dout, Lq, Lk, scale, seed, off_lo, thr, keep_scale);
    const double tol = dt == F32 ? 1e-4 : 1e-2;
    Err eo = compare(o, r.o, tol), el = compare_lse(lse, r.lse, tol);

    // backward: SIMT dK/dV always; tensor-core dK/dV too where it exists (one result line each)
    for (int variant = 0; variant < 2; ++variant) {
        const bool tc = variant == 1;
        if (tc && (!ks.dkdv_tc || g_no_tc_bwd)) break;
        CK(cudaMemset(d.dq, 0xff, nq * es)); CK(cudaMemset(d.dk, 0xff, nk * es));
        CK(cudaMemset(d.dv, 0xff, nk * es)); CK(cudaMemset(d.dq_accum, 0xff, nq * 4));
        run_bwd(ks, bp, D, tc);
        CK(cudaGetLastError());
        CK(cudaDeviceSynchronize());
        std::vector<float> dq = down(d.dq, nq), dk = down(d.dk, nk), dv = down(d.dv, nk);

        bool det_ok = true;
        if (c.deterministic) {
            // second run, bitwise compare gradients
            std::vector<unsigned char> b1q(nq * es), b1k(nk * es), b1v(nk * es), b2q(nq * es), b2k(nk * es),
                b2v(nk * es);
            CK(cudaMemcpy(b1q.data(), d.dq, nq * es, cudaMemcpyDeviceToHost));
            CK(cudaMemcpy(b1k.data(), d.dk, nk * es, cudaMemcpyDeviceToHost));
            CK(cudaMemcpy(b1v.data(), d.dv, nk * es, cudaMemcpyDeviceToHost));
            CK(cudaMemset(d.dq, 0, nq * es)); CK(cudaMemset(d.dk, 0, nk * es)); CK(cudaMemset(d.dv, 0, nk * es));
            run_bwd(ks, bp, D, tc);
            CK(cudaDeviceSynchronize());
            CK(cudaMemcpy(b2q.data(), d.dq, nq * es, cudaMemcpyDeviceToHost));
            CK(cudaMemcpy(b2k.data(), d.dk, nk * es, cudaMemcpyDeviceToHost));
            CK(cudaMemcpy(b2v.data(), d.dv, nk * es, cudaMemcpyDeviceToHost));
            det_ok = b1q == b2q && b1k == b2k && b1v == b2v;
        }

        Err eq = compare(dq, r.dq, tol), ek = compare(dk, r.dk, tol), ev = compare(dv, r.dv, tol);
        bool ok = eo.ok && el.ok && eq.ok && ek.ok && ev.ok && det_ok;
        printf("%s  [%3d] %-4s D=%-3d B=%d Hq=%d Hkv=%d Sq=%-4d Sk=%-4d causal=%d drop=%.1f fwd=%s bwd=%s%s%s | O %.2e LSE %.2e dQ %.2e dK %.2e dV %.2e%s\n",
               ok ? "PASS" : "FAIL", idx, dt_name(dt), D, c.B, c.Hq, c.Hkv, c.Sq, c.Sk, c.causal, c.pdrop,
               (simt_fwd || dt == F32) ? "simt" : "tc", tc ? "tc" : "simt", c.bshd ? " bshd" : "",
               c.deterministic ? " det" : "", eo.rel, el.rel, eq.rel, ek.rel, ev.rel,
               c.deterministic ? (det_ok ? " bitwise-equal" : " NOT-BITWISE-EQUAL") : "");
        fflush(stdout);
        (ok ? g_pass : g_fail)++;
    }
    cudaFree(d.q); cudaFree(d.k); cudaFree(d.v); cudaFree(d.o); cudaFree(d.dout);
    cudaFree(d.dq); cudaFree(d.dk); cudaFree(d.dv); cudaFree(d.lse); cudaFree(d.delta); cudaFree(d.dq_accum);
}

static std::vector<Case> make_cases() {
    std::vector<Case> cs;
    const DType dts[3] = {BF16, F16, F32};
    const int Ds[5] = {32, 64, 96, 128, 256};
    for (DType dt : dts)
        for (int D : Ds) {
            cs.push_back({dt, D, 2, 2, 2, 130, 130, 0, 0.0f});
            cs.push_back({dt, D, 2, 4, 2, 77, 257, 2, 0.1f});   // GQA, Sq < Sk, bottom-right, dropout
            cs.push_back({dt, D, 2, 4, 1, 257, 77, 2, 0.0f});   // MQA, Sq > Sk -> fully masked rows
            cs.push_back({dt, D, 2, 4, 4, 17, 17, 1, 0.1f});    // top-left causal, dropout
            cs.push_back({dt, D, 2, 2, 1, 130, 77, 1, 0.0f});   // top-left causal, Sq != Sk
        }
    // edge cases, bf16/f16 tensor-core forward
    for (DType dt : {BF16, F16})
        for (int D : {64, 128}) {
            cs.push_back({dt, D, 2, 2, 2, 1, 1, 0, 0.0f});
            cs.push_back({dt, D, 2, 2, 2, 1, 130, 2, 0.0f});
            cs.push_back({dt, D, 2, 2, 2, 130, 1, 1, 0.0f});    // (dropout with Sk=1 would compare
            cs.push_back({dt, D, 2, 2, 2, 130, 17, 1, 0.1f});   //  rounding noise against an exact 0)
            cs.push_back({dt, D, 2, 2, 2, 257, 257, 1, 0.0f});
            cs.push_back({dt, D, 2, 2, 2, 257, 257, 0, 0.1f});
            cs.push_back({dt, D, 2, 4, 2, 130, 130, 2, 0.1f, true});             // (B,S,H,D) layout
            cs.push_back({dt, D, 2, 4, 2, 77, 130, 2, 0.1f, false, true});       // SIMT forward
        }
    // deterministic mode (bitwise equal over two runs + vs reference)
    cs.push_back({BF16, 64, 2, 4, 2, 130, 257, 1, 0.1f, false, false, true});
    cs.push_back({BF16, 128, 2, 4, 1, 257, 130, 2, 0.0f, false, false, true});
    cs.push_back({F16, 256, 2, 2, 2, 77, 77, 0, 0.0f, false, false, true});
    cs.push_back({F32, 64, 2, 4, 2, 130, 77, 2, 0.1f, false, false, true});
    cs.push_back({F32, 32, 2, 2, 1, 257, 257, 1, 0.0f, true, false, true});
    return cs;
}

// ------------------------------------------------------------------------------ reference self-test (CPU only)
// Checks the fp64 reference's gradients against central differences of L = sum(O * dO), with a fixed
// dropout mask, and the host Philox against the KAT vectors. Needs no GPU: flash_harness --selftest-ref
static bool host_philox_kat() {
    const uint32_t c[3][4] = {{0, 0, 0, 0},
                              {0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu},
                              {0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}};
    const uint32_t k[3][2] = {{0, 0}, {0xffffffffu, 0xffffffffu}, {0xa4093822u, 0x299f31d0u}};
    const uint32_t want[3][4] = {{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u},
                                 {0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu},
                                 {0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}};
    bool ok = true;
    for (int t = 0; t < 3; ++t) {
        uint32_t x[4] = {c[t][0], c[t][1], c[t][2], c[t][3]};
        flare_attn::philox4x32_10(x, k[t][0], k[t][1]);
        for (int i = 0; i < 4; ++i) ok &= x[i] == want[t][i];
    }
    return ok;
}

static int selftest_reference() {
    int fails = 0;
    bool kat = host_philox_kat();
    printf("%s  host philox KAT\n", kat ? "PASS" : "FAIL");
    fails += !kat;
    const Case cases[3] = {{F32, 8, 1, 2, 1, 5, 7, 2, 0.3f}, {F32, 8, 2, 2, 2, 6, 4, 2, 0.0f},
                           {F32, 8, 1, 4, 2, 7, 7, 1, 0.5f, true}};
    for (int ci = 0; ci < 3; ++ci) {
        const Case& c = cases[ci];
        const int D = c.D;
        const size_t nq = (size_t)c.B * c.Hq * c.Sq * D, nk = (size_t)c.B * c.Hkv * c.Sk * D;
        const Layout Lq = make_layout(c.bshd, c.Hq, c.Sq, D), Lk = make_layout(c.bshd, c.Hkv, c.Sk, D);
        std::mt19937_64 rng(99 + ci);
        std::normal_distribution<float> nd(0.f, 1.f);
        std::vector<float> q(nq), k(nk), v(nk), dout(nq);
        for (auto& x : q) x = nd(rng);
        for (auto& x : k) x = nd(rng);
        for (auto& x : v) x = nd(rng);
        for (auto& x : dout) x = nd(rng);
        const uint32_t thr = c.pdrop > 0 ? drop_threshold(c.pdrop) : 0;
        const float scale = 0.4f, keep = c.pdrop > 0 ? keep_scale_of(thr) : 1.f;
        auto loss = [&](const std::vector<float>& qq, const std::vector<float>& kk, const std::vector<float>& vv) {
            Ref r = reference(c, qq, kk, vv, dout, Lq, Lk, scale, 5, 3, thr, keep);
            double L = 0;
            for (size_t i = 0; i < nq; ++i) L += r.o[i] * dout[i];
            return L;
        };
        Ref r = reference(c, q, k, v, dout, Lq, Lk, scale, 5, 3, thr, keep);
        double maxerr = 0, maxg = 0;
        auto fd = [&](std::vector<float>& x, const std::vector<double>& g, int which) {
            for (size_t i = 0; i < x.size(); ++i) {
                float x0 = x[i];
                float xp = x0 + 1e-2f, xm = x0 - 1e-2f;
                x[i] = xp;
                double Lp = which == 0 ? loss(x, k, v) : which == 1 ? loss(q, x, v) : loss(q, k, x);
                x[i] = xm;
                double Lm = which == 0 ? loss(x, k, v) : which == 1 ? loss(q, x, v) : loss(q, k, x);
                x[i] = x0;
                double num = (Lp - Lm) / ((double)xp - (double)xm);
                maxerr = std::max(maxerr, std::fabs(num - g[i]));
                maxg = std::max(maxg, std::fabs(g[i]));
            }
        };
        fd(q, r.dq, 0);
        fd(k, r.dk, 1);
        fd(v, r.dv, 2);
        bool ok = maxerr <= 1e-3 * std::max(1.0, maxg);
        printf("%s  reference gradient vs central differences (case %d): max |fd - analytic| = %.2e (max |g| %.2e)\n",
               ok ? "PASS" : "FAIL", ci, maxerr, maxg);
        fails += !ok;
    }
    printf("reference self-test: %s\n", fails ? "FAILED" : "ok");
    return fails ? 1 : 0;
}

// ------------------------------------------------------------------------------ bench
static void bench() {
    printf("\n=== bench (bf16, tokens B*S = 16384, H = 2048/D; FLOPs fwd = 4*B*H*S*S*D (/2 causal), bwd = 2.5x fwd) ===\n");
    printf("forward = %s; backward = preprocess + %s + convert (dQ fp32 atomics)\n",
           g_force_simt_fwd ? "SIMT (--simt-fwd)" : "tensor cores", g_no_tc_bwd ? "SIMT dkdv (--no-tc-bwd)" : "dkdv_tc");
    struct BC { int D, S, causal; float p; };
    std::vector<BC> list;
    for (int D : g_bench_dims.empty() ? std::vector<int>{64, 128} : g_bench_dims)
        for (int S : g_bench_seqs.empty() ? std::vector<int>{512, 1024, 2048, 4096, 8192, 16384} : g_bench_seqs)
            for (int causal : {0, 1}) list.push_back({D, S, causal, g_bench_dropout});
    if (g_bench_dims.empty()) {
        list.push_back({64, 2048, 1, 0.1f});
        list.push_back({128, 2048, 1, 0.1f});
    }
    printf("dK/dV tensor-core CTA: %d warps (FLARE_BWD_TC_WARPS)\n", FLARE_BWD_TC_WARPS);
    for (int D : {64, 128}) {   // resident CTAs per SM, as the occupancy calculator sees the launch (smem, registers)
        KSet ks = get_kernels(BF16, D);
        int fwd_ctas = -1, dkdv_ctas = -1;   // -1: the query failed (printed, not fatal: only informative)
        if (cudaOccupancyMaxActiveBlocksPerMultiprocessor(&fwd_ctas, ks.fwd, ks.fwd_nt, ks.fwd_smem) != cudaSuccess ||
            cudaOccupancyMaxActiveBlocksPerMultiprocessor(&dkdv_ctas, ks.dkdv_tc, ks.tc_nt, ks.tc_smem) != cudaSuccess)
            printf("occupancy query: %s\n", cudaGetErrorString(cudaGetLastError()));
        printf("D=%d CTAs per SM: forward %d (%zu smem bytes), dK/dV %d (%zu smem bytes)\n", D, fwd_ctas, ks.fwd_smem,
               dkdv_ctas, ks.tc_smem);
    }
    cudaEvent_t e0, e1;
    CK(cudaEventCreate(&e0));
    CK(cudaEventCreate(&e1));
    for (const BC& bc : list) {
        const int D = bc.D, S = bc.S, B = 16384 / S, H = 2048 / D;
        Case c{BF16, D, B, H, H, S, S, bc.causal, bc.p};
        const size_t n = (size_t)B * H * S * D;
        DevBufs d;
        CK(cudaMalloc(&d.q, n * 2)); CK(cudaMalloc(&d.k, n * 2)); CK(cudaMalloc(&d.v, n * 2));
        CK(cudaMalloc(&d.o, n * 2)); CK(cudaMalloc(&d.dout, n * 2)); CK(cudaMalloc(&d.dq, n * 2));
        CK(cudaMalloc(&d.dk, n * 2)); CK(cudaMalloc(&d.dv, n * 2));
        CK(cudaMalloc(&d.lse, (size_t)B * H * S * 4)); CK(cudaMalloc(&d.delta, (size_t)B * H * S * 4));
        CK(cudaMalloc(&d.dq_accum, n * 4));
        {
            std::vector<float> h(n);
            std::mt19937 rng(7);
            std::normal_distribution<float> nd(0.f, 1.f);
            for (auto& x : h) x = nd(rng);
            auto b = encode(BF16, h);
            CK(cudaMemcpy(d.q, b.data(), b.size(), cudaMemcpyHostToDevice));
            CK(cudaMemcpy(d.k, b.data(), b.size(), cudaMemcpyHostToDevice));  // same data, fine for timing
            CK(cudaMemcpy(d.v, b.data(), b.size(), cudaMemcpyHostToDevice));
            CK(cudaMemcpy(d.dout, b.data(), b.size(), cudaMemcpyHostToDevice));
        }
        KSet ks = get_kernels(BF16, D);
        Layout L = make_layout(false, H, S, D);
        FlashFwdParams fp;
        FlashBwdParams bp;
        fill_params(c, d, L, L, 1.f / std::sqrt((float)D), 42, 0, bc.p > 0 ? drop_threshold(bc.p) : 0,
                    bc.p > 0 ? keep_scale_of(drop_threshold(bc.p)) : 1.f, fp, bp);
        double flops = 4.0 * B * H * (double)S * S * D * (bc.causal ? 0.5 : 1.0);
        auto time_it = [&](int mode) {  // 0 fwd, 1 bwd (tensor-core dkdv), 2 bwd (SIMT dkdv)
            auto once = [&]() {
                if (mode == 0) run_fwd(ks, fp, g_force_simt_fwd);
                else run_bwd(ks, bp, D, mode == 1);
            };
            once();
            CK(cudaDeviceSynchronize());
            CK(cudaEventRecord(e0));
            once();
            CK(cudaEventRecord(e1));
            CK(cudaEventSynchronize(e1));
            float ms1;
            CK(cudaEventElapsedTime(&ms1, e0, e1));
            int iters = (int)std::min(20.0, std::max(1.0, 300.0 / std::max(ms1, 1e-3f)));
            CK(cudaEventRecord(e0));
            for (int i = 0; i < iters; ++i) once();
            CK(cudaEventRecord(e1));
            CK(cudaEventSynchronize(e1));
            float ms;
            CK(cudaEventElapsedTime(&ms, e0, e1));
            return ms / iters;
        };
        float fms = time_it(0);
        float bms = time_it(g_no_tc_bwd ? 2 : 1);
        float sms = S <= 2048 && !g_bench_no_simt ? time_it(2) : 0.f;  // SIMT backward only at short S (slow)
        printf("bench bf16 D=%-3d S=%-5d B=%-2d H=%-2d causal=%d drop=%.1f | fwd %8.3f ms %6.1f TFLOP/s | bwd %9.3f ms %6.1f TFLOP/s",
               D, S, B, H, bc.causal, bc.p, fms, flops / (fms * 1e-3) / 1e12, bms,
               2.5 * flops / (bms * 1e-3) / 1e12);
        if (sms > 0) printf(" | bwd-simt %9.3f ms %6.1f TFLOP/s", sms, 2.5 * flops / (sms * 1e-3) / 1e12);
        printf("\n");
        fflush(stdout);
        cudaFree(d.q); cudaFree(d.k); cudaFree(d.v); cudaFree(d.o); cudaFree(d.dout);
        cudaFree(d.dq); cudaFree(d.dk); cudaFree(d.dv); cudaFree(d.lse); cudaFree(d.delta); cudaFree(d.dq_accum);
    }
}

int main(int argc, char** argv) {
    bool do_checks = true, do_bench = false;
    for (int i = 1; i < argc; ++i)
        if (!strcmp(argv[i], "--selftest-ref")) return selftest_reference();
    // The launch sizes come from the host-side configurations, which assume the device code's choice for sm_90a (the
    // wgmma kernels); on another GPU they would not match the kernels it runs.
    int dev = 0, major = 0, minor = 0;
    CK(cudaGetDevice(&dev));
    CK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev));
    CK(cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, dev));
    if ((kFwdWgmma || kBwdWgmma) && !(major == 9 && minor == 0)) {
        fprintf(stderr, "this harness build plans launches for sm_90a (wgmma kernels) but the GPU is sm_%d%d: build it "
                        "with -DFLARE_FWD_WGMMA=0 -DFLARE_BWD_WGMMA=0 for this GPU\n", major, minor);
        return 2;
    }
    for (int i = 1; i < argc; ++i) {
        if (!strcmp(argv[i], "--bench")) { do_checks = false; do_bench = true; }
        else if (!strcmp(argv[i], "--all")) { do_checks = true; do_bench = true; }
        else if (!strcmp(argv[i], "--simt-fwd")) g_force_simt_fwd = true;
        else if (!strcmp(argv[i], "--no-tc-bwd")) g_no_tc_bwd = true;
        else if (!strcmp(argv[i], "--max-cases") && i + 1 < argc) g_max_cases = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--case") && i + 1 < argc) g_only_case = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--bench-no-simt")) g_bench_no_simt = true;
        else if (!strcmp(argv[i], "--bench-dropout") && i + 1 < argc) g_bench_dropout = (float)atof(argv[++i]);
        else if (!strcmp(argv[i], "--bench-dims") && i + 1 < argc) {
            for (char* t = strtok(argv[++i], ","); t != nullptr; t = strtok(nullptr, ",")) g_bench_dims.push_back(atoi(t));
        } else if (!strcmp(argv[i], "--bench-seqs") && i + 1 < argc) {
            for (char* t = strtok(argv[++i], ","); t != nullptr; t = strtok(nullptr, ",")) g_bench_seqs.push_back(atoi(t));
        }
        else { printf("unknown argument %s\n", argv[i]); return 2; }
    }
    cudaDeviceProp prop;
    CK(cudaGetDeviceProperties(&prop, 0));
    printf("device: %s (sm_%d%d), %d SMs\n", prop.name, prop.major, prop.minor, prop.multiProcessorCount);
    if (do_checks) {
        check_philox();
        std::vector<Case> cs = make_cases();
        printf("%zu cases%s%s\n", cs.size(), g_force_simt_fwd ? ", forward forced to SIMT" : "",
               g_no_tc_bwd ? ", tensor-core backward skipped" : "");
        for (size_t i = 0; i < cs.size() && (int)i < g_max_cases; ++i)
            if (g_only_case < 0 || g_only_case == (int)i) run_case(cs[i], (int)i);
        printf("%d passed, %d failed\n", g_pass, g_fail);
    }
    if (do_bench) bench();
    return g_fail ? 1 : 0;
}
