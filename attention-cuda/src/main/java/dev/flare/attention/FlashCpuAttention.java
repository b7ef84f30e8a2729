package dev.flare.attention;

import dev.flare.autograd.Function;
import dev.flare.tensor.DType;
import dev.flare.tensor.Device;
import dev.flare.tensor.Tensor;
import dev.flare.tensor.cpu.CpuStorage;

/**
 * FlashAttention-2 on the host, as an autograd {@link Function} (one instance per call). The forward walks
 * query blocks x key blocks with an online softmax and never materializes the (Sq, Sk) scores (extra memory
 * O(B * H * S): the output and the row logsumexp); the backward recomputes the probabilities from q, k and
 * the saved logsumexp and regenerates the dropout mask ({@link AttentionDropout}). Work is split over
 * (b, h, query block) for the forward; the backward runs over (b, kv head) with many heads, else over
 * (b, kv head, key block) for dK/dV and (b, h, query block) for dQ. Every gradient element is written by one
 * task in a fixed order: results do not depend on the thread count.
 *
 * <p>F64 inputs run {@link FlashCpuKernelF64} (double throughout); F32, BF16 and F16 run
 * {@link FlashCpuKernelF32} (float throughout; 16-bit inputs converted on entry, results rounded back). The kernels
 * read F32 (F64) q, k, v and dO in their own storage, strided views included (the heads of a packed qkv, a transposed
 * gradient), and write the output and the gradients into the arrays of new tensors: no copies beyond conversions.
 * The arrays read at the forward are read again by the backward; an in-place change to q, k or v in between is
 * caught by the saved tensors' version check, and a released storage's array stays valid while referenced.
 */
final class FlashCpuAttention extends Function {
    private final AttentionParams p;
    private DType dtype;
    private FlashCpuKernelF64 k64;
    private FlashCpuKernelF32 k32;

    FlashCpuAttention(AttentionParams p) { this.p = p; }

    /** t's own array when the kernel can read it in place (CPU, the kernel's dtype, unit last stride), else null. */
    private static Object ownArray(Tensor t, DType kernelType) {
        boolean inPlace = t.device() == Device.CPU && t.dtype() == kernelType && t.dim() == 4
                && (t.size(3) == 1 || t.stride(3) == 1);
        return inPlace ? ((CpuStorage) t.storage()).array() : null;
    }

    private static double[] doubles(Tensor t) {
        Object a = ownArray(t, DType.F64);
        return a != null ? (double[]) a : t.toDoubleArray();
    }

    private static float[] floats(Tensor t) {
        Object a = ownArray(t, DType.F32);
        return a != null ? (float[]) a : t.toFloatArray();
    }

    /** Where the kernel finds t's rows: its own layout if read in place, else that of the contiguous copy. */
    private static HeadRows rows(String name, Tensor t, DType kernelType) {
        return ownArray(t, kernelType) != null ? HeadRows.of(name, t) : HeadRows.contiguous(t.size(1), t.size(2), t.size(3));
    }

    /** A new CPU tensor: a new Java array, so zeros (the backward adds into the gradients). */
    private static Tensor empty(DType kernelType, int... shape) { return Tensor.empty(kernelType, Device.CPU, shape); }

    private static Object array(Tensor t) { return ((CpuStorage) t.storage()).array(); }

    @Override
    protected Tensor forward(Tensor... in) {
        Tensor q = in[0], k = in[1], v = in[2];
        dtype = q.dtype();
        DType kt = dtype == DType.F64 ? DType.F64 : DType.F32;
        Tensor out = empty(kt, p.b(), p.hq(), p.sq(), p.dv());
        save(q, k, v, out);     // out too: the backward reads it (delta), and for F32/F64 it is the result itself
        if (kt == DType.F64) {
            k64 = new FlashCpuKernelF64(p, doubles(q), rows("q", q, kt), doubles(k), rows("k", k, kt), doubles(v), rows("v", v, kt),
                    (double[]) array(out));
            k64.forward();
            return out;
        }
        k32 = new FlashCpuKernelF32(p, floats(q), rows("q", q, kt), floats(k), rows("k", k, kt), floats(v), rows("v", v, kt),
                (float[]) array(out));
        k32.forward();
        return toDType(out);
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
        DType kt = k64 != null ? DType.F64 : DType.F32;
        Tensor dq = wantQ ? empty(kt, p.b(), p.hq(), p.sq(), p.d()) : null;
        Tensor dk = wantKV ? empty(kt, p.b(), p.hkv(), p.sk(), p.d()) : null;
        Tensor dv = wantKV ? empty(kt, p.b(), p.hkv(), p.sk(), p.dv()) : null;
        if (k64 != null)
            k64.backward(doubles(gradOutput), rows("dO", gradOutput, kt), wantQ ? (double[]) array(dq) : null,
                    wantKV ? (double[]) array(dk) : null, wantKV ? (double[]) array(dv) : null);
        else
            k32.backward(floats(gradOutput), rows("dO", gradOutput, kt), wantQ ? (float[]) array(dq) : null,
                    wantKV ? (float[]) array(dk) : null, wantKV ? (float[]) array(dv) : null);
        Tensor[] grads = {needsInputGrad(0) ? dq : null, needsInputGrad(1) ? dk : null, needsInputGrad(2) ? dv : null};
        for (int i = 0; i < 3; i++) if (grads[i] != null) grads[i] = toDType(grads[i]);
        return grads;
    }
}
