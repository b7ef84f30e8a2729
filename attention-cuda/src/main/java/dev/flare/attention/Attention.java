package dev.flare.attention;

import dev.flare.tensor.DType;
import dev.flare.tensor.Tensor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Arrays;

/**
 * Scaled dot-product attention, {@code softmax(q k^T * scale + mask) v}, with PyTorch's contract (see
 * {@code docs/attention.md}). Layout (B, H, S, D); 3-d (H, S, D) inputs are accepted and give a 3-d output.
 */
public final class Attention {
    private static final Logger LOG = LoggerFactory.getLogger(Attention.class);

    private Attention() {}

    public static Tensor scaledDotProductAttention(Tensor q, Tensor k, Tensor v) {
        return scaledDotProductAttention(q, k, v, AttentionOptions.DEFAULT);
    }

    /**
     * q (B, Hq, Sq, D), k (B, Hkv, Sk, D), v (B, Hkv, Sk, Dv) -> (B, Hq, Sq, Dv). Hq == Hkv unless
     * {@code enableGqa} (then Hq % Hkv == 0 and query head h reads kv head h / (Hq / Hkv)).
     */
    public static Tensor scaledDotProductAttention(Tensor q, Tensor k, Tensor v, AttentionOptions options) {
        if (options == null) throw new IllegalArgumentException("options: expected AttentionOptions, got null");
        for (Object[] a : new Object[][]{{"q", q}, {"k", k}, {"v", v}})
            if (a[1] == null) throw new IllegalArgumentException("scaledDotProductAttention: " + a[0] + " must be a tensor, got null");
        if (q.dim() == 3 && k.dim() == 3 && v.dim() == 3) {
            return scaledDotProductAttention(q.unsqueeze(0), k.unsqueeze(0), v.unsqueeze(0), options).squeeze(0);
        }
        return run(q, k, v, options, null);
    }

    /**
     * Self-attention over a packed projection, FlashAttention's "qkvpacked" form: qkv (B, S, 3, H, D) holds q, k, v
     * along dim 2 (a fused C -> 3C projection viewed so), and the result is (B, S, H, D): the same values and
     * gradients as {@code scaledDotProductAttention(q, k, v, options).transpose(1, 2)} on the views
     * {@code q = qkv.select(2, 0).transpose(1, 2)} and so on. On FLASH_CUDA the backward writes dQ, dK and dV
     * straight into one gradient of qkv's shape (through three views the gradients would be copied and added into
     * it slice by slice). Options as for the unpacked call; enableGqa does not apply (one head count).
     */
    public static Tensor qkvPackedAttention(Tensor qkv, AttentionOptions options) {
        return QkvPackedAttention.apply(qkv, options);
    }

    /**
     * The backend {@link #scaledDotProductAttention(Tensor, Tensor, Tensor, AttentionOptions)} runs these inputs on:
     * options' backend when forced (throwing, as the call would, if it cannot take them), else AUTO's pick. Only the
     * device, dtype, head dims and mask decide, so q and v (3-d or 4-d) are enough.
     */
    public static AttentionBackend backendFor(Tensor q, Tensor v, AttentionOptions options) {
        if (options == null) throw new IllegalArgumentException("options: expected AttentionOptions, got null");
        return choose(q, q.size(q.dim() - 1), v.size(v.dim() - 1), options);
    }

    /**
     * The output and the saved row logsumexp (B, Hq, Sq) as {O, lse} of a flash backend (FLASH_CPU or
     * FLASH_CUDA, as options says), for comparing backends. 4-d inputs only.
     */
    static Tensor[] withLogsumexp(Tensor q, Tensor k, Tensor v, AttentionOptions options) {
        if (options.backend() != AttentionBackend.FLASH_CPU && options.backend() != AttentionBackend.FLASH_CUDA)
            throw new IllegalArgumentException("backend: expected FLASH_CPU or FLASH_CUDA, got " + options.backend());
        Tensor[] lse = new Tensor[1];
        Tensor o = run(q, k, v, options, lse);
        return new Tensor[]{o, lse[0]};
    }

    /** Checks q, k, v (4-d) and options' mask against PyTorch's contract, naming what is wrong. */
    static void validate(Tensor q, Tensor k, Tensor v, AttentionOptions options) {
        for (Object[] a : new Object[][]{{"q", q}, {"k", k}, {"v", v}}) {
            Tensor t = (Tensor) a[1];
            if (t.dim() != 4)
                throw new IllegalArgumentException("scaledDotProductAttention: " + a[0] + " must be 4-d (B, H, S, D) (or q, k, v all 3-d),"
                        + " got shape " + Arrays.toString(t.shape()));
            if (!t.dtype().isFloatingPoint())
                throw new IllegalArgumentException("scaledDotProductAttention: " + a[0] + " must be floating point, got " + t.dtype());
            if (t.dtype() != q.dtype())
                throw new IllegalArgumentException("scaledDotProductAttention: " + a[0] + " must have q's dtype " + q.dtype() + ", got " + t.dtype());
            if (!t.device().equals(q.device()))
                throw new IllegalArgumentException("scaledDotProductAttention: " + a[0] + " must be on q's device " + q.device() + ", got " + t.device());
        }
        int b = q.size(0), hq = q.size(1), sq = q.size(2), d = q.size(3);
        int hkv = k.size(1), sk = k.size(2), dv = v.size(3);
        if (k.size(0) != b) throw new IllegalArgumentException("scaledDotProductAttention: k batch must equal q's " + b + ", got " + k.size(0));
        if (v.size(0) != b) throw new IllegalArgumentException("scaledDotProductAttention: v batch must equal q's " + b + ", got " + v.size(0));
        if (k.size(3) != d) throw new IllegalArgumentException("scaledDotProductAttention: k head dim must equal q's " + d + ", got " + k.size(3));
        if (v.size(1) != hkv) throw new IllegalArgumentException("scaledDotProductAttention: v heads must equal k's " + hkv + ", got " + v.size(1));
        if (v.size(2) != sk) throw new IllegalArgumentException("scaledDotProductAttention: v length must equal k's " + sk + ", got " + v.size(2));
        if (options.enableGqa()) {
            if (hkv == 0 || hq % hkv != 0)
                throw new IllegalArgumentException("scaledDotProductAttention: with enableGqa, q heads must be a multiple of k/v heads, got q heads "
                        + hq + " and k/v heads " + hkv);
        } else if (hq != hkv) {
            throw new IllegalArgumentException("scaledDotProductAttention: q heads must equal k/v heads " + hkv + ", got " + hq
                    + " (set enableGqa for grouped-query attention)");
        }
        Tensor mask = options.attnMask();
        if (mask != null) {
            if (mask.dtype() != DType.BOOL && !mask.dtype().isFloatingPoint())
                throw new IllegalArgumentException("scaledDotProductAttention: attnMask must be BOOL or floating point, got " + mask.dtype());
            if (!mask.device().equals(q.device()))
                throw new IllegalArgumentException("scaledDotProductAttention: attnMask must be on q's device " + q.device() + ", got " + mask.device());
            int[] full = {b, hq, sq, sk};
            int[] ms = mask.shape();
            boolean ok = ms.length <= 4;
            for (int i = 0; ok && i < ms.length; i++) {
                int f = full[4 - ms.length + i];
                ok = ms[i] == 1 || ms[i] == f;
            }
            if (!ok) throw new IllegalArgumentException("scaledDotProductAttention: attnMask must be broadcastable to "
                    + Arrays.toString(full) + " (B, Hq, Sq, Sk), got " + Arrays.toString(ms));
        }
    }

    /** The kernels' parameters for validated inputs; draws the dropout seed and offset (once per call). */
    static AttentionParams params(Tensor q, Tensor k, Tensor v, AttentionOptions options) {
        int b = q.size(0), hq = q.size(1), sq = q.size(2), d = q.size(3);
        int hkv = k.size(1), sk = k.size(2), dv = v.size(3);
        double scale = options.scale() != null ? options.scale() : 1.0 / Math.sqrt(d);
        long seed = 0, offset = 0;
        if (options.dropoutP() > 0) {
            long[] so = options.resolveDropoutSeed();
            seed = so[0];
            offset = so[1];
        }
        return new AttentionParams(b, hq, hkv, sq, sk, d, dv, scale, options.isCausal(),
                options.causalAlignment().shift(sq, sk), options.dropoutP(), seed, offset);
    }

    private static Tensor run(Tensor q, Tensor k, Tensor v, AttentionOptions options, Tensor[] lseOut) {
        validate(q, k, v, options);
        AttentionBackend chosen = choose(q, q.size(3), v.size(3), options);
        AttentionParams p = params(q, k, v, options);
        return switch (chosen) {
            case MATH -> MathAttention.forward(q, k, v, options.attnMask(), p);
            case FLASH_CPU -> {
                FlashCpuAttention fn = new FlashCpuAttention(p);
                Tensor o = fn.apply(q, k, v);
                if (lseOut != null) lseOut[0] = fn.logsumexp();
                yield o;
            }
            case FLASH_CUDA -> {
                FlashCudaAttention.Fn fn = new FlashCudaAttention.Fn(p, options.deterministic());
                Tensor o = fn.apply(q, k, v);
                if (lseOut != null) lseOut[0] = fn.logsumexp();
                yield o;
            }
            case AUTO -> throw new IllegalStateException("unreachable");
        };
    }

    /** The backend a call with these inputs runs on (after checking a forced one can take them). */
    static AttentionBackend choose(Tensor q, int d, int dv, AttentionOptions o) {
        Tensor mask = o.attnMask();
        boolean cuda = !q.device().isCpu();
        String why;
        switch (o.backend()) {
            case MATH -> { return AttentionBackend.MATH; }
            case FLASH_CPU -> {
                if (cuda) throw new IllegalArgumentException("backend FLASH_CPU: expected CPU tensors, got q on " + q.device());
                if (mask != null) throw new IllegalArgumentException("backend FLASH_CPU: a dense attnMask (" + mask.dtype()
                        + ") is not supported; use isCausal, or backend MATH / AUTO");
                return AttentionBackend.FLASH_CPU;
            }
            case FLASH_CUDA -> {
                why = flashCudaRejects(q, d, dv, mask);
                if (why != null) throw new IllegalArgumentException("backend FLASH_CUDA: " + why);
                return AttentionBackend.FLASH_CUDA;
            }
            default -> { }
        }
        AttentionBackend pick;
        if (cuda) {
            why = flashCudaRejects(q, d, dv, mask);
            if (why == null && !FlashCudaAttention.isAvailable()) why = "the CUDA kernels are not built";
            pick = why == null ? AttentionBackend.FLASH_CUDA : AttentionBackend.MATH;
        } else {
            why = mask != null ? "a dense attnMask is given" : null;
            pick = why == null ? AttentionBackend.FLASH_CPU : AttentionBackend.MATH;
        }
        if (LOG.isDebugEnabled())
            LOG.debug("scaledDotProductAttention AUTO -> {} (q {} {} on {}, D={}, Dv={}{})", pick, Arrays.toString(q.shape()),
                    q.dtype(), q.device(), d, dv, why == null ? "" : "; flash not used: " + why);
        return pick;
    }

    private static String flashCudaRejects(Tensor q, int d, int dv, Tensor mask) {
        if (q.device().isCpu()) return "expected CUDA tensors, got q on " + q.device();
        DType t = q.dtype();
        if (t != DType.BF16 && t != DType.F16 && t != DType.F32) return "dtype must be BF16, F16 or F32, got " + t;
        if (!FlashCudaAttention.supportsHeadDim(d)) return "head dim must be one of 32, 64, 96, 128, 256, got " + d;
        if (dv != d) return "v head dim must equal q's " + d + ", got " + dv;
        if (mask != null) return "a dense attnMask (" + mask.dtype() + ") is not supported; use isCausal, or backend MATH";
        return null;
    }
}
