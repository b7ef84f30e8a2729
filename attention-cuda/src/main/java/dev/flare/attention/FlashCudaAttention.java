package dev.flare.attention;

import dev.flare.autograd.Function;
import dev.flare.tensor.Backends;
import dev.flare.tensor.DType;
import dev.flare.tensor.Tensor;
import dev.flare.tensor.cuda.Cuda;
import dev.flare.tensor.cuda.CudaBackend;
import dev.flare.tensor.ops.ViewOps;

/**
 * FLASH_CUDA: runs the CUDA flash kernels ({@link FlashAttentionKernels}) as one autograd function. The forward
 * saves O and the row logsumexp; the backward recomputes the probabilities from them. Dropout reproduces
 * {@link AttentionDropout} bit for bit (same Philox counters), so FLASH_CPU, MATH and FLASH_CUDA agree on
 * the mask for a given seed and offset.
 */
public final class FlashCudaAttention {
    private FlashCudaAttention() {}

    /** Head dims the CUDA kernels are instantiated for. */
    public static boolean supportsHeadDim(int d) {
        return d == 32 || d == 64 || d == 96 || d == 128 || d == 256;
    }

    /**
     * True when a CUDA device is present and the kernels were compiled into this build (nvcc was found at build
     * time). The answer is computed once.
     */
    public static boolean isAvailable() { return Availability.AVAILABLE; }

    private static final class Availability {
        static final boolean AVAILABLE = Cuda.isAvailable()
                && FlashCudaAttention.class.getResource("FlashAttentionKernels.fatbin") != null;
    }

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
            q = prepared(in[0]);
            k = prepared(in[1]);
            v = prepared(in[2]);
            save(q, k, v);
            Tensor[] r = FlashCudaAttention.forward(q, k, v, p, deterministic);
            o = r[0];
            lse = r[1];
            return o;
        }

        /** The forward's row logsumexp (B, Hq, Sq), F32. */
        Tensor logsumexp() { return lse; }

        @Override
        protected Tensor[] backward(Tensor gradOutput) {
            return FlashCudaAttention.backward(q, k, v, o, lse, gradOutput, p, deterministic);
        }
    }

    /**
     * Returns {O (B, Hq, Sq, D) in q's dtype and q's memory layout, lse (B, Hq, Sq) F32}. q, k, v must be
     * {@link #prepared}.
     */
    static Tensor[] forward(Tensor q, Tensor k, Tensor v, AttentionParams p, boolean deterministic) {
        CudaBackend backend = backendOf(q);
        Tensor o = inLayoutOf(q, false, p.b(), p.hq(), p.sq(), p.d());
        Tensor lse = Tensor.empty(DType.F32, q.device(), p.b(), p.hq(), p.sq());
        if (p.b() == 0 || p.hq() == 0 || p.sq() == 0) return new Tensor[]{o, lse};
        long[] params = FlashKernelParams.forward(p, operand(backend, q), operand(backend, k), operand(backend, v),
                operand(backend, o), backend.deviceAddress(lse));
        FlashAttentionKernels.on(backend).forward(p, q.dtype(), params);
        return new Tensor[]{o, lse};
    }

    /** Returns {dQ, dK, dV}, shaped and laid out in memory like q, k, v. */
    static Tensor[] backward(Tensor q, Tensor k, Tensor v, Tensor o, Tensor lse, Tensor dO, AttentionParams p,
                             boolean deterministic) {
        Tensor dq = inLayoutOf(q, false, q.shape());
        Tensor dk = inLayoutOf(k, true, k.shape());
        Tensor dv = inLayoutOf(v, true, v.shape());
        backwardInto(q, k, v, o, lse, dO, p, deterministic, dq, dk, dv);
        return new Tensor[]{dq, dk, dv};
    }

    /**
     * Writes dQ, dK, dV into the given tensors (q's, k's, v's shapes and dtype, each {@link #readableInPlace}); dk
     * and dv must hold zeros (the kernels leave keys that no query sees untouched), dq may hold anything.
     */
    static void backwardInto(Tensor q, Tensor k, Tensor v, Tensor o, Tensor lse, Tensor dO, AttentionParams p,
                             boolean deterministic, Tensor dq, Tensor dk, Tensor dv) {
        CudaBackend backend = backendOf(q);
        for (Tensor g : new Tensor[]{dq, dk, dv})
            if (!readableInPlace(g)) throw new IllegalStateException("FLASH_CUDA: a gradient the kernels cannot write in place");
        dO = prepared(dO.to(q.dtype()));
        if (p.b() == 0 || p.hq() == 0 || p.sq() == 0 || p.sk() == 0) {
            dq.zero();
            return;
        }
        Tensor delta = Tensor.empty(DType.F32, q.device(), p.b(), p.hq(), p.sq());
        Tensor dqAccum = deterministic ? null : Tensor.empty(DType.F32, q.device(), p.b(), p.hq(), p.sq(), p.d());
        long[] params = FlashKernelParams.backward(p, deterministic, operand(backend, q), operand(backend, k),
                operand(backend, v), operand(backend, o), operand(backend, dO), backend.deviceAddress(lse),
                backend.deviceAddress(delta), dqAccum == null ? 0 : backend.deviceAddress(dqAccum), operand(backend, dq),
                operand(backend, dk), operand(backend, dv));
        FlashAttentionKernels.on(backend).backward(p, q.dtype(), deterministic, params);
    }

    /**
     * t itself when the kernels can read it in place (last dim contiguous, 16-byte aligned start, the other strides
     * multiples of 8 elements, as the tensor cores' 16-byte copies need), else a contiguous copy.
     */
    static Tensor prepared(Tensor t) {
        if (readableInPlace(t)) return t;
        Tensor c = t.contiguous();
        return c == t ? ViewOps.copy(t) : c;
    }

    /** Whether the kernels can read or write t (B, H, S, D) where it lies; see {@link #prepared}. */
    static boolean readableInPlace(Tensor t) {
        boolean ok = t.stride(3) == 1 && (t.offset() * t.dtype().byteSize()) % 16 == 0;
        for (int i = 0; ok && i < 3; i++) ok = t.stride(i) % 8 == 0;
        return ok;
    }

    /**
     * A tensor (uninitialised, or zeros: filled while still contiguous, one memset rather than a strided fill) of
     * t's dtype and device, shaped shape (t's rank), whose dims lie in memory in the
     * order of t's strides (outermost first), as PyTorch's preserve_format. The kernels take any such layout, and
     * it saves copies around them: for q viewed (B, H, S, D) out of a (B, S, H*D) projection, O comes out
     * (B, S, H, D) in memory, so O.transpose(1, 2).reshape(B, S, H*D) is a view, and so are the gradients' way back.
     */
    static Tensor inLayoutOf(Tensor t, boolean zeros, int... shape) {
        int r = shape.length;
        Integer[] order = new Integer[r];
        for (int i = 0; i < r; i++) order[i] = i;
        // The head dim stays innermost (the kernels need it contiguous), and broadcast dims (stride 0, an expanded
        // input) go outermost: sorted by stride, they would land inside the head dim.
        java.util.Arrays.sort(order, 0, r - 1, (a, b) -> Long.compare(outerness(t, b), outerness(t, a)));   // stable
        int[] memShape = new int[r], inverse = new int[r];
        for (int i = 0; i < r; i++) {
            memShape[i] = shape[order[i]];
            inverse[order[i]] = i;
        }
        Tensor memory = zeros ? Tensor.zeros(t.dtype(), t.device(), memShape) : Tensor.empty(t.dtype(), t.device(), memShape);
        return memory.permute(inverse);
    }

    private static long outerness(Tensor t, int dim) { return t.stride(dim) == 0 ? Long.MAX_VALUE : t.stride(dim); }

    private static FlashKernelParams.Operand operand(CudaBackend backend, Tensor t) {
        return new FlashKernelParams.Operand(backend.deviceAddress(t), t.stride(0), t.stride(1), t.stride(2));
    }

    private static CudaBackend backendOf(Tensor t) {
        if (!(Backends.of(t.device()) instanceof CudaBackend b))
            throw new IllegalArgumentException("FLASH_CUDA: expected a CUDA tensor, got one on " + t.device());
        return b;
    }
}
