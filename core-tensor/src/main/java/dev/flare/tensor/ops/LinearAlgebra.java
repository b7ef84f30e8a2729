package dev.flare.tensor.ops;

import dev.flare.tensor.Shapes;
import dev.flare.tensor.Tensor;

import java.util.Arrays;

/** Matrix products with NumPy's matmul semantics. */
public final class LinearAlgebra {
    private LinearAlgebra() {}

    public static Tensor matmul(Tensor a, Tensor b) {
        Checks.notNull("self", a);
        Checks.notNull("other", b);
        Checks.sameDeviceAndDType("matmul", "self", a, "other", b);
        Checks.floating("matmul", "self", a);
        if (a.dim() == 0 || b.dim() == 0)
            throw new IllegalArgumentException("matmul: expected tensors of at least 1 dim, got shapes "
                    + Shapes.str(a.shape()) + " and " + Shapes.str(b.shape()));
        Checks.live(a);
        Checks.live(b);
        Tensor a2 = a.dim() == 1 ? ViewOps.unsqueeze(a, 0) : a;
        Tensor b2 = b.dim() == 1 ? ViewOps.unsqueeze(b, 1) : b;
        int[] as = a2.shape(), bs = b2.shape();
        int m = as[as.length - 2], k = as[as.length - 1], k2 = bs[bs.length - 2], n = bs[bs.length - 1];
        if (k != k2)
            throw new IllegalArgumentException("matmul: self " + Shapes.str(a.shape()) + " and other " + Shapes.str(b.shape())
                    + " do not match: " + k + " columns vs " + k2 + " rows");
        if (a2.dim() > 2 && b2.dim() == 2) {
            // (..., m, k) @ (k, n) is one GEMM over all rows: (rows, k) @ (k, n). A batched GEMM with a broadcast
            // right operand would do the same forward, but its backward would materialize a (..., k, n) gradient
            // for b (rounded to the dtype per batch) before summing it over the batch.
            int rows = Math.toIntExact(Shapes.numel(Arrays.copyOf(as, as.length - 1)));
            int[] outShape = as.clone();
            outShape[as.length - 1] = n;
            Tensor result = matmul(a2.reshape(rows, k), b2).reshape(outShape);
            return b.dim() == 1 ? ViewOps.squeeze(result, -1) : result;
        }
        int[] batch = Shapes.broadcast("matmul batch dims", Arrays.copyOf(as, as.length - 2), Arrays.copyOf(bs, bs.length - 2));
        int[] outShape = Arrays.copyOf(batch, batch.length + 2);
        outShape[batch.length] = m;
        outShape[batch.length + 1] = n;
        int[] aShape = outShape.clone(), bShape = outShape.clone();
        aShape[batch.length + 1] = k;
        bShape[batch.length] = k;
        Tensor out = Tensor.empty(a.dtype(), a.device(), outShape);
        a.backend().matmul(ViewOps.expandRaw(a2, aShape), ViewOps.expandRaw(b2, bShape), out);
        Tensor result = Recording.needed(a2, b2) ? Recording.record(new OpCall.Matmul(a2, b2), out) : out;
        if (a.dim() == 1) result = ViewOps.squeeze(result, -2);
        if (b.dim() == 1) result = ViewOps.squeeze(result, -1);
        return result;
    }

    /**
     * x (..., K) @ w (K, N) + bias (N) -> (..., N): a Linear layer with w stored (in, out) (PyTorch's F.linear takes
     * its weight (out, in), i.e. w transposed). bias may be null. One recorded op, so a backend can add the bias
     * inside the GEMM instead of in a second pass over the output.
     */
    public static Tensor matmulAddBias(Tensor x, Tensor w, Tensor bias) {
        Checks.notNull("self", x);
        Checks.notNull("weight", w);
        Checks.sameDeviceAndDType("matmulAddBias", "self", x, "weight", w);
        Checks.floating("matmulAddBias", "self", x);
        if (w.dim() != 2 || x.dim() == 0 || x.size(-1) != w.size(0))
            throw new IllegalArgumentException("matmulAddBias: expected self (..., K) and weight (K, N), got shapes "
                    + Shapes.str(x.shape()) + " and " + Shapes.str(w.shape()));
        int k = w.size(0), n = w.size(1);
        if (bias != null) {
            Checks.sameDeviceAndDType("matmulAddBias", "self", x, "bias", bias);
            if (bias.dim() != 1 || bias.size(0) != n)
                throw new IllegalArgumentException("matmulAddBias: bias must be (" + n + ") (weight's columns), got shape " + Shapes.str(bias.shape()));
            Checks.live(bias);
        }
        Checks.live(x);
        Checks.live(w);
        int[] outShape = x.shape().clone();
        outShape[outShape.length - 1] = n;
        int rows = Math.toIntExact(Shapes.numel(Arrays.copyOf(x.shape(), x.dim() - 1)));
        Tensor x2 = x.reshape(rows, k);
        Tensor out = Tensor.empty(x.dtype(), x.device(), rows, n);
        if (rows > 0 && n > 0) {
            if (k == 0) {
                if (bias == null) x.backend().fill(out, 0);
                else x.backend().copy(Tensor.of(bias.storage(), out.shape(), new long[]{0, bias.stride(0)}, bias.offset()), out);
            } else x.backend().matmulAddBias(x2, w, bias, out);
        }
        Tensor result = Recording.needed(x2, w, bias) ? Recording.record(new OpCall.MatmulAddBias(x2, w, bias), out) : out;
        return result.reshape(outShape);
    }
}
