package dev.flare.training.optim;

import dev.flare.tensor.DType;
import dev.flare.tensor.Device;
import dev.flare.tensor.MemoryScope;
import dev.flare.tensor.Tensor;
import dev.flare.tensor.cuda.CudaBackend;
import dev.flare.tensor.cuda.CudaModule;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Launches {@code AdamWKernels.cu}: one fused multi-tensor AdamW launch per parameter group on a CUDA device. The
 * table of device addresses and chunks is uploaded once per group and again only when an address changes (a
 * gradient reallocated), so a step costs one launch per group and no host-device copy.
 */
final class AdamWKernels {
    static final int CHUNK = 65536, THREADS = 512;
    private static final Map<Integer, AdamWKernels> PER_DEVICE = new ConcurrentHashMap<>();

    private final CudaBackend backend;
    private final CudaModule module;

    private AdamWKernels(CudaBackend backend) {
        this.backend = backend;
        this.module = CudaModule.load(AdamWKernels.class, backend.context());
    }

    /** Whether the build compiled the kernels (nvcc was present). */
    static boolean built() { return AdamWKernels.class.getResource("AdamWKernels.fatbin") != null; }

    static AdamWKernels of(Device device) {
        return PER_DEVICE.computeIfAbsent(device.index(), i -> new AdamWKernels(CudaBackend.of(i)));
    }

    /** Whether p (with its gradient and moments) can take the kernel: F32, contiguous, on a CUDA device. */
    static boolean fits(Tensor p, Tensor[] mv) {
        Tensor g = p.grad();
        return p.device().isCuda() && p.dtype() == DType.F32 && g.dtype() == DType.F32 && mv[0].dtype() == DType.F32
                && p.isContiguous() && g.isContiguous() && mv[0].isContiguous() && mv[1].isContiguous()
                && g.device().equals(p.device()) && built();
    }

    /** A group's uploaded table: the host copy it was built from and the device tensor. */
    static final class Table {
        long[] host;
        Tensor device;
        int n, chunks;
    }

    /** One AdamW step over params (all on this device, each fitting) with moments mv.get(i) = {m, v}. */
    void step(Table cache, List<Tensor> params, List<Tensor[]> mv, double beta1, double beta2, double eps,
              double decay, double stepSize, double sqrtBc2) {
        int n = params.size();
        long chunks = 0;
        for (Tensor p : params) chunks += Math.ceilDiv(p.numel(), CHUNK);
        if (chunks == 0) return;
        if (chunks > Integer.MAX_VALUE) throw new IllegalArgumentException("params: " + chunks + " chunks exceed one launch");
        long[] host = new long[5 * n + 2 * (int) chunks];
        int c = 0;
        for (int t = 0; t < n; t++) {
            Tensor p = params.get(t);
            host[t] = backend.deviceAddress(p);
            host[n + t] = backend.deviceAddress(p.grad());
            host[2 * n + t] = backend.deviceAddress(mv.get(t)[0]);
            host[3 * n + t] = backend.deviceAddress(mv.get(t)[1]);
            host[4 * n + t] = p.numel();
            for (long start = 0; start < p.numel(); start += CHUNK, c++) {
                host[5 * n + c] = t;
                host[5 * n + (int) chunks + c] = start;
            }
        }
        if (cache.device == null || !Arrays.equals(cache.host, host)) {
            if (cache.device != null) cache.device.release();
            try (MemoryScope scope = MemoryScope.open()) {
                cache.device = MemoryScope.detach(Tensor.fromArray(host).to(params.getFirst().device()));   // outlives the step
            }
            cache.host = host;
        }
        module.launch("adamw_f32", chunks, THREADS, 0, backend.stream(), backend.deviceAddress(cache.device), n, (int) chunks,
                (long) CHUNK, beta1, 1 - beta1, beta2, 1 - beta2, decay, stepSize, sqrtBc2, eps);
        for (Tensor p : params) p.storage().bumpVersion();
        for (Tensor[] m : mv) {
            m[0].storage().bumpVersion();
            m[1].storage().bumpVersion();
        }
    }
}
