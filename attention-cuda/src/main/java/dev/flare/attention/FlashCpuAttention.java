package dev.flare.attention;

import dev.flare.autograd.Function;
import dev.flare.tensor.DType;
import dev.flare.tensor.Tensor;

/**
 * FlashAttention-2 on the host, as an autograd {@link Function} (one instance per call). The forward walks
 * query blocks x key blocks with an online softmax and never materializes the (Sq, Sk) scores (extra memory
 * O(B * H * S): the output and the row logsumexp); the backward recomputes the probabilities from q, k and
 * the saved logsumexp and regenerates the dropout mask ({@link AttentionDropout}). Work is split over
 * (b, h, query block) for the forward and dQ, and over (b, kv head, key block) for dK/dV, so every gradient
 * element is written by one task in a fixed order: results do not depend on the thread count.
 *
 * <p>F64 inputs run {@link FlashCpuKernelF64} (double throughout); F32, BF16 and F16 run
 * {@link FlashCpuKernelF32} (float throughout; 16-bit inputs converted on entry, results rounded back).
 */
final class FlashCpuAttention extends Function {
    private final AttentionParams p;
    private DType dtype;
    private FlashCpuKernelF64 k64;
    private FlashCpuKernelF32 k32;

    FlashCpuAttention(AttentionParams p) { this.p = p; }

    @Override
    protected Tensor forward(Tensor... in) {
        Tensor q = in[0], k = in[1], v = in[2];
        save(q, k, v);
        dtype = q.dtype();
        int[] oShape = {p.b(), p.hq(), p.sq(), p.dv()};
        if (dtype == DType.F64) {
            k64 = new FlashCpuKernelF64(p, q.toDoubleArray(), k.toDoubleArray(), v.toDoubleArray());
            k64.forward();
            return Tensor.fromArray(k64.o, oShape);
        }
        k32 = new FlashCpuKernelF32(p, q.toFloatArray(), k.toFloatArray(), v.toFloatArray());
        k32.forward();
        return toDType(Tensor.fromArray(k32.o, oShape));
    }

    private Tensor toDType(Tensor f32) { return dtype == DType.F32 ? f32 : f32.to(dtype); }

    /** The row logsumexp of the scaled, masked scores (B, Hq, Sq): F32 (F64 for F64 inputs); -inf for rows with no visible key. */
    Tensor logsumexp() {
        int[] shape = {p.b(), p.hq(), p.sq()};
        return k64 != null ? Tensor.fromArray(k64.lse, shape) : Tensor.fromArray(k32.lse, shape);
    }

    @Override
    protected Tensor[] backward(Tensor gradOutput) {
        boolean wantQ = needsInputGrad(0), wantKV = needsInputGrad(1) || needsInputGrad(2);
        int[] qs = {p.b(), p.hq(), p.sq(), p.d()}, ks = {p.b(), p.hkv(), p.sk(), p.d()}, vs = {p.b(), p.hkv(), p.sk(), p.dv()};
        Tensor[] out = new Tensor[3];
        if (k64 != null) {
            double[][] g = k64.backward(gradOutput.toDoubleArray(), wantQ, wantKV);
            if (needsInputGrad(0)) out[0] = Tensor.fromArray(g[0], qs);
            if (needsInputGrad(1)) out[1] = Tensor.fromArray(g[1], ks);
            if (needsInputGrad(2)) out[2] = Tensor.fromArray(g[2], vs);
        } else {
            float[][] g = k32.backward(gradOutput.toFloatArray(), wantQ, wantKV);
            if (needsInputGrad(0)) out[0] = toDType(Tensor.fromArray(g[0], qs));
            if (needsInputGrad(1)) out[1] = toDType(Tensor.fromArray(g[1], ks));
            if (needsInputGrad(2)) out[2] = toDType(Tensor.fromArray(g[2], vs));
        }
        return out;
    }
}
