package dev.flare.tensor.ops;

import dev.flare.tensor.Shapes;
import dev.flare.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;

/** Joining and splitting along a dim. */
public final class Joining {
    private Joining() {}

    public static Tensor cat(List<Tensor> tensors, int dim) {
        if (tensors == null || tensors.isEmpty()) throw new IllegalArgumentException("tensors: expected at least one tensor, got none");
        Tensor first = Checks.notNull("tensors[0]", tensors.get(0));
        int d = Shapes.dim("dim", dim, first.dim());
        int[] shape = first.shape();
        long total = 0;
        for (int i = 0; i < tensors.size(); i++) {
            Tensor t = Checks.notNull("tensors[" + i + "]", tensors.get(i));
            Checks.sameDeviceAndDType("cat", "tensors[0]", first, "tensors[" + i + "]", t);
            Checks.live(t);
            int[] s = t.shape();
            boolean ok = s.length == shape.length;
            for (int k = 0; ok && k < s.length; k++) ok = k == d || s[k] == shape[k];
            if (!ok)
                throw new IllegalArgumentException("cat: tensors[" + i + "] has shape " + Shapes.str(s) + " but tensors[0] has "
                        + Shapes.str(shape) + "; all sizes must match except along dim " + d);
            total += s[d];
        }
        shape[d] = Math.toIntExact(total);
        Tensor out = Tensor.empty(first.dtype(), first.device(), shape);
        int at = 0;
        for (Tensor t : tensors) {
            int len = t.size(d);
            out.backend().copy(t, ViewOps.narrowRaw(out, d, at, len));
            at += len;
        }
        return Recording.needed(tensors) ? Recording.record(new OpCall.Cat(List.copyOf(tensors), d), out) : out;
    }

    public static Tensor stack(List<Tensor> tensors, int dim) {
        if (tensors == null || tensors.isEmpty()) throw new IllegalArgumentException("tensors: expected at least one tensor, got none");
        int d = Shapes.dim("dim", dim, tensors.get(0).dim() + 1);
        List<Tensor> expanded = new ArrayList<>(tensors.size());
        for (int i = 0; i < tensors.size(); i++) {
            Tensor t = Checks.notNull("tensors[" + i + "]", tensors.get(i));
            if (!java.util.Arrays.equals(t.shape(), tensors.get(0).shape()))
                throw new IllegalArgumentException("stack: tensors[" + i + "] has shape " + Shapes.str(t.shape())
                        + " but tensors[0] has " + Shapes.str(tensors.get(0).shape()) + "; all must be equal");
            expanded.add(ViewOps.unsqueeze(t, d));
        }
        return cat(expanded, d);
    }

    public static List<Tensor> split(Tensor x, int size, int dim) {
        int d = Shapes.dim("dim", dim, x.dim());
        if (size <= 0) throw new IllegalArgumentException("size: expected > 0, got " + size);
        int n = x.size(d);
        List<Tensor> out = new ArrayList<>();
        for (int start = 0; start < n || (n == 0 && out.isEmpty()); start += size)
            out.add(ViewOps.narrow(x, d, start, Math.min(size, n - start)));
        return out;
    }

    public static List<Tensor> chunk(Tensor x, int chunks, int dim) {
        if (chunks <= 0) throw new IllegalArgumentException("chunks: expected > 0, got " + chunks);
        int n = x.size(dim);
        return split(x, Math.max(1, Math.ceilDiv(n, chunks)), dim);
    }
}
