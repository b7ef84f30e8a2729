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
}
