package dev.flare.attention;

import dev.flare.autograd.Function;
import dev.flare.tensor.Tensor;

/**
 * The seam for the CUDA flash kernels (written separately). {@link #isAvailable()} turns true once the kernels
 * are built and loaded; AUTO never picks FLASH_CUDA before that. The contract the kernel author fills in:
 * {@link #forward} returns O (B, Hq, Sq, Dv) in q's dtype and the row logsumexp (B, Hq, Sq) in F32;
 * {@link #backward} returns {dQ, dK, dV}. Dropout must reproduce {@link AttentionDropout} bit for bit.
 */
public final class FlashCudaAttention {
    private FlashCudaAttention() {}

    /** Head dims the CUDA kernels are instantiated for. */
    public static boolean supportsHeadDim(int d) {
        return d == 32 || d == 64 || d == 96 || d == 128 || d == 256;
    }

    /** False until the CUDA kernels are built into this module. */
    public static boolean isAvailable() { return false; }

    /** The autograd function {@link Attention} applies for FLASH_CUDA: saves O and lse, calls {@link #backward}. */
    static final class Fn extends Function {
        private final AttentionParams p;
        private final boolean deterministic;
        private Tensor q, k, v, o, lse;

        Fn(AttentionParams p, boolean deterministic) {
            this.p = p;
            this.deterministic = deterministic;
        }

        @Override
        protected Tensor forward(Tensor... in) {
            q = in[0];
            k = in[1];
            v = in[2];
            save(q, k, v);
            Tensor[] r = FlashCudaAttention.forward(q, k, v, p, deterministic);
            o = r[0];
            lse = r[1];
            return o;
        }

        @Override
        protected Tensor[] backward(Tensor gradOutput) {
            return FlashCudaAttention.backward(q, k, v, o, lse, gradOutput, p, deterministic);
        }
    }

    /** Returns {O, lse}. */
    static Tensor[] forward(Tensor q, Tensor k, Tensor v, AttentionParams p, boolean deterministic) {
        throw notBuilt();
    }

    /** Returns {dQ, dK, dV}. */
    static Tensor[] backward(Tensor q, Tensor k, Tensor v, Tensor o, Tensor lse, Tensor dO, AttentionParams p,
                             boolean deterministic) {
        throw notBuilt();
    }

    static UnsupportedOperationException notBuilt() {
        return new UnsupportedOperationException("FLASH_CUDA: the CUDA flash-attention kernels are not built yet in this"
                + " build of attention-cuda; use AttentionBackend.MATH (or AUTO) for CUDA tensors");
    }
}
