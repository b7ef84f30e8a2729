package dev.flare.attention;

import dev.flare.autograd.Function;
import dev.flare.tensor.Tensor;
import dev.flare.tensor.ops.ViewOps;

import java.util.Arrays;

/**
 * {@link Attention#qkvPackedAttention}: qkv (B, S, 3, H, D) -> (B, S, H, D). FLASH_CUDA runs as one autograd
 * function whose backward returns a single gradient of qkv's shape, written by the kernel through the three
 * (B, H, S, D) views of it; every other backend composes the views with the unpacked call, which is the reference
 * the packed path is tested against.
 */
final class QkvPackedAttention {
    private QkvPackedAttention() {}

    static Tensor apply(Tensor qkv, AttentionOptions options) {
        if (options == null) throw new IllegalArgumentException("options: expected AttentionOptions, got null");
        if (qkv == null) throw new IllegalArgumentException("qkvPackedAttention: qkv must be a tensor, got null");
        if (qkv.dim() != 5 || qkv.size(2) != 3)
            throw new IllegalArgumentException("qkvPackedAttention: qkv must be (B, S, 3, H, D), got shape " + Arrays.toString(qkv.shape()));
        if (options.enableGqa())
            throw new IllegalArgumentException("qkvPackedAttention: enableGqa does not apply (q, k and v have the same heads); got enableGqa=true");
        Tensor q = part(qkv, 0), k = part(qkv, 1), v = part(qkv, 2);
        Attention.validate(q, k, v, options);
        AttentionBackend chosen = Attention.choose(q, q.size(3), v.size(3), options);
        if (chosen != AttentionBackend.FLASH_CUDA)
            return Attention.scaledDotProductAttention(q, k, v, options).transpose(1, 2);
        return new Fn(Attention.params(q, k, v, options), options.deterministic()).apply(qkv);
    }

    /** Part i (0 = q, 1 = k, 2 = v) of a packed (B, S, 3, H, D) tensor as a (B, H, S, D) view. */
    static Tensor part(Tensor qkv, int i) {
        return qkv.select(2, i).transpose(1, 2);
    }

    /** FLASH_CUDA on the packed tensor: one input, one gradient. */
    static final class Fn extends Function {
        private final AttentionParams p;
        private final boolean deterministic;
        private Tensor packed, o, lse;

        Fn(AttentionParams p, boolean deterministic) {
            this.p = p;
            this.deterministic = deterministic;
        }

        @Override
        protected Tensor forward(Tensor... in) {
            packed = readable(in[0]);
            save(packed);
            Tensor[] r = FlashCudaAttention.forward(part(packed, 0), part(packed, 1), part(packed, 2), p, deterministic);
            o = r[0];                        // in q's layout: (B, S, H, D) in memory
            lse = r[1];
            return o.transpose(1, 2);
        }

        @Override
        protected Tensor[] backward(Tensor gradOutput) {
            // Zeros: the kernels add into dK/dV (and leave keys no query sees untouched); one memset of the whole.
            Tensor grad = Tensor.zeros(packed.dtype(), packed.device(), packed.shape());
            FlashCudaAttention.backwardInto(part(packed, 0), part(packed, 1), part(packed, 2), o, lse,
                    gradOutput.transpose(1, 2), p, deterministic, part(grad, 0), part(grad, 1), part(grad, 2));
            return new Tensor[]{grad};
        }

        /** qkv itself when the kernels can read its three views in place, else a contiguous copy. */
        private static Tensor readable(Tensor qkv) {
            for (int i = 0; i < 3; i++) if (!FlashCudaAttention.readableInPlace(part(qkv, i))) return ViewOps.copy(qkv);
            return qkv;
        }
    }
}
