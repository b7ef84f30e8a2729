package dev.flare.attention;

import dev.flare.tensor.DType;
import dev.flare.tensor.Tensor;
import dev.flare.tensor.cuda.CudaBackend;
import dev.flare.tensor.cuda.CudaModule;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Launches {@code FlashAttentionKernels.cu} on one CUDA device. The tile sizes, thread counts and shared-memory
 * sizes come from the module itself ({@code flash_launch_config}), so they are never restated here. Kernel
 * choice: bf16/f16 use the tensor-core forward and, for D &lt;= 128, the tensor-core dK/dV kernel; f32 and
 * D = 256 use the SIMT kernels. See docs/attention-kernels.md for the contracts.
 */
final class FlashAttentionKernels {
    private static final int[] HEAD_DIMS = {32, 64, 96, 128, 256};
    private static final int CONFIG_INTS = 11;
    private static final Map<CudaBackend, FlashAttentionKernels> BY_DEVICE = new ConcurrentHashMap<>();

    /** Launch geometry for one head dim (see flash_config_row in the .cu). */
    private record Config(int fwdTcRows, int fwdTcThreads, int fwdTcSmem, int simtFwdRows, int preprocessRows,
                          int bwdBlock, int bwdThreads, int bwdSmem, int tcBwdKeys, int tcBwdThreads, int tcBwdSmem) {}

    private final CudaBackend backend;
    private final CudaModule module;
    private final Config[] configs = new Config[HEAD_DIMS.length];

    private FlashAttentionKernels(CudaBackend backend) {
        this.backend = backend;
        this.module = CudaModule.load(FlashAttentionKernels.class, backend.context());
        Tensor table = Tensor.zeros(DType.I32, backend.device(), 2 + HEAD_DIMS.length * CONFIG_INTS);
        module.launch("flash_launch_config", 1, 1, 0, backend.stream(), backend.deviceAddress(table));
        int[] t = table.toIntArray();
        if (t[0] != FlashKernelParams.FWD_BYTES || t[1] != FlashKernelParams.BWD_BYTES)
            throw new IllegalStateException("FlashAttentionKernels.fatbin: parameter struct sizes " + t[0] + "/" + t[1]
                    + " bytes, expected " + FlashKernelParams.FWD_BYTES + "/" + FlashKernelParams.BWD_BYTES + " (stale build?)");
        for (int i = 0; i < HEAD_DIMS.length; i++) {
            int o = 2 + i * CONFIG_INTS;
            configs[i] = new Config(t[o], t[o + 1], t[o + 2], t[o + 3], t[o + 4], t[o + 5], t[o + 6], t[o + 7], t[o + 8],
                    t[o + 9], t[o + 10]);
        }
        for (String dt : new String[]{"bf16", "f16", "f32"}) {
            for (int i = 0; i < HEAD_DIMS.length; i++) {
                Config c = configs[i];
                String sfx = dt + "_d" + HEAD_DIMS[i];
                if (!dt.equals("f32")) module.setMaxDynamicSharedBytes("flash_fwd_" + sfx, c.fwdTcSmem());
                module.setMaxDynamicSharedBytes("flash_bwd_dkdv_" + sfx, c.bwdSmem());
                module.setMaxDynamicSharedBytes("flash_bwd_dq_" + sfx, c.bwdSmem());
                if (!dt.equals("f32") && c.tcBwdKeys() > 0)
                    module.setMaxDynamicSharedBytes("flash_bwd_dkdv_tc_" + sfx, c.tcBwdSmem());
            }
        }
    }

    static FlashAttentionKernels on(CudaBackend backend) {
        return BY_DEVICE.computeIfAbsent(backend, FlashAttentionKernels::new);
    }

    private Config config(int d) {
        for (int i = 0; i < HEAD_DIMS.length; i++) if (HEAD_DIMS[i] == d) return configs[i];
        throw new IllegalArgumentException("head dim: expected one of 32, 64, 96, 128, 256, got " + d);
    }

    private static String suffix(DType t, int d) {
        String dt = switch (t) {
            case BF16 -> "bf16";
            case F16 -> "f16";
            case F32 -> "f32";
            default -> throw new IllegalArgumentException("dtype: expected BF16, F16 or F32, got " + t);
        };
        return dt + "_d" + d;
    }

    /** Writes O and the row logsumexp (natural log, F32) for the prepared struct. */
    void forward(AttentionParams p, DType dtype, long[] params) {
        Config c = config(p.d());
        String sfx = suffix(dtype, p.d());
        if (dtype == DType.F32) {
            module.launch3d("flash_fwd_" + sfx, Math.ceilDiv(p.sq(), c.simtFwdRows()), p.hq(), p.b(), 32 * c.simtFwdRows(), 1,
                    0, backend.stream(), params);
        } else {
            module.launch3d("flash_fwd_" + sfx, Math.ceilDiv(p.sq(), c.fwdTcRows()), p.hq(), p.b(), c.fwdTcThreads(), 1,
                    c.fwdTcSmem(), backend.stream(), params);
        }
    }

    /** preprocess, dK/dV (+ dQ atomics), then the dQ conversion, or the deterministic dQ kernel. */
    void backward(AttentionParams p, DType dtype, boolean deterministic, long[] params) {
        Config c = config(p.d());
        String sfx = suffix(dtype, p.d());
        module.launch3d("flash_bwd_preprocess_" + sfx, Math.ceilDiv(p.sq(), c.preprocessRows()), p.hq(), p.b(),
                32 * c.preprocessRows(), 1, 0, backend.stream(), params);
        if (dtype != DType.F32 && c.tcBwdKeys() > 0) {
            module.launch3d("flash_bwd_dkdv_tc_" + sfx, Math.ceilDiv(p.sk(), c.tcBwdKeys()), p.hkv(), p.b(), c.tcBwdThreads(),
                    1, c.tcBwdSmem(), backend.stream(), params);
        } else {
            module.launch3d("flash_bwd_dkdv_" + sfx, Math.ceilDiv(p.sk(), c.bwdBlock()), p.hkv(), p.b(), c.bwdThreads(), 1,
                    c.bwdSmem(), backend.stream(), params);
        }
        if (deterministic) {
            module.launch3d("flash_bwd_dq_" + sfx, Math.ceilDiv(p.sq(), c.bwdBlock()), p.hq(), p.b(), c.bwdThreads(), 1,
                    c.bwdSmem(), backend.stream(), params);
        } else {
            module.launch3d("flash_bwd_convert_dq_" + sfx, Math.ceilDiv((long) p.sq() * p.d(), 256), p.hq(), p.b(), 256, 1,
                    0, backend.stream(), params);
        }
    }
}
