package dev.flare.tensor.ops;

import dev.flare.tensor.Shapes;
import dev.flare.tensor.Tensor;

import java.util.Arrays;

/** Views: new geometry over the same storage. The *Raw variants are for ops' internal use (never recorded). */
public final class ViewOps {
    private ViewOps() {}

    public static Tensor view(Tensor x, int... newShape) {
        Tensor out = viewRaw(x, newShape);
        return Recording.needed(x) ? Recording.record(new OpCall.Reshape(x), out) : out;
    }

    public static Tensor viewRaw(Tensor x, int... newShape) {
        int[] shape = inferShape(x, newShape);
        long[] strides = viewStrides(x.shape(), x.strides(), shape);
        if (strides == null)
            throw new IllegalArgumentException("view: a tensor of shape " + Shapes.str(x.shape()) + " and strides "
                    + Arrays.toString(x.strides()) + " cannot be viewed as " + Shapes.str(shape)
                    + " without a copy; use reshape()");
        return Tensor.of(x.storage(), shape, strides, x.offset());
    }

    public static Tensor reshape(Tensor x, int... newShape) {
        int[] shape = inferShape(x, newShape);
        long[] strides = viewStrides(x.shape(), x.strides(), shape);
        Tensor base = strides == null ? copy(x) : x;
        return view(base, shape);
    }

    /** Resolves one -1 and checks that the element count is unchanged. */
    static int[] inferShape(Tensor x, int[] newShape) {
        int[] shape = newShape.clone();
        long numel = x.numel();
        int infer = -1;
        long known = 1;
        for (int i = 0; i < shape.length; i++) {
            if (shape[i] == -1) {
                if (infer >= 0) throw new IllegalArgumentException("shape: only one size may be -1, got " + Shapes.str(newShape));
                infer = i;
            } else if (shape[i] < 0) {
                throw new IllegalArgumentException("shape: expected sizes >= 0 or one -1, got " + Shapes.str(newShape));
            } else {
                known *= shape[i];
            }
        }
        if (infer >= 0) {
            if (known == 0 || numel % known != 0)
                throw new IllegalArgumentException("shape: " + Shapes.str(newShape) + " does not fit " + numel
                        + " elements (input shape " + Shapes.str(x.shape()) + ")");
            shape[infer] = (int) (numel / known);
        } else if (known != numel) {
            throw new IllegalArgumentException("shape: " + Shapes.str(newShape) + " has " + known
                    + " elements but the input " + Shapes.str(x.shape()) + " has " + numel);
        }
        return shape;
    }

    /**
     * Strides that view (oldShape, oldStrides) as newShape without copying, or null if impossible. Walks the
     * old dims from the right in chunks that are contiguous among themselves; each chunk must map onto whole
     * new dims.
     */
    static long[] viewStrides(int[] oldShape, long[] oldStrides, int[] newShape) {
        if (oldShape.length == 0 || Shapes.numel(oldShape) == 0) return Shapes.contiguousStrides(newShape);
        long[] newStrides = new long[newShape.length];
        int viewD = newShape.length - 1;
        long chunkBase = oldStrides[oldShape.length - 1];
        long tensorNumel = 1, viewNumel = 1;
        for (int d = oldShape.length - 1; d >= 0; d--) {
            tensorNumel *= oldShape[d];
            boolean chunkEnds = d == 0 || (oldShape[d - 1] != 1 && oldStrides[d - 1] != tensorNumel * chunkBase);
            if (chunkEnds) {
                while (viewD >= 0 && (viewNumel < tensorNumel || newShape[viewD] == 1)) {
                    newStrides[viewD] = viewNumel * chunkBase;
                    viewNumel *= newShape[viewD];
                    viewD--;
                }
                if (viewNumel != tensorNumel) return null;
                if (d > 0) {
                    chunkBase = oldStrides[d - 1];
                    tensorNumel = 1;
                    viewNumel = 1;
                }
            }
        }
        return viewD == -1 ? newStrides : null;
    }

    public static Tensor transpose(Tensor x, int dim0, int dim1) {
        int r = x.dim();
        int a = Shapes.dim("dim0", dim0, r), b = Shapes.dim("dim1", dim1, r);
        int[] perm = new int[r];
        for (int i = 0; i < r; i++) perm[i] = i;
        perm[a] = b;
        perm[b] = a;
        return permute(x, perm);
    }

    public static Tensor t(Tensor x) {
        if (x.dim() != 2) throw new IllegalArgumentException("t: expected a 2-d tensor, got shape " + Shapes.str(x.shape()));
        return transpose(x, 0, 1);
    }

    public static Tensor permute(Tensor x, int... dims) {
        int r = x.dim();
        if (dims.length != r)
            throw new IllegalArgumentException("dims: expected a permutation of " + r + " dims, got " + Arrays.toString(dims));
        int[] norm = new int[r];
        boolean[] seen = new boolean[r];
        for (int i = 0; i < r; i++) {
            norm[i] = Shapes.dim("dims", dims[i], r);
            if (seen[norm[i]]) throw new IllegalArgumentException("dims: expected a permutation, got " + Arrays.toString(dims));
            seen[norm[i]] = true;
        }
        int[] shape = x.shape(), newShape = new int[r];
        long[] strides = x.strides(), newStrides = new long[r];
        for (int i = 0; i < r; i++) {
            newShape[i] = shape[norm[i]];
            newStrides[i] = strides[norm[i]];
        }
        Tensor out = Tensor.of(x.storage(), newShape, newStrides, x.offset());
        return Recording.needed(x) ? Recording.record(new OpCall.Permute(x, norm), out) : out;
    }

    public static Tensor narrow(Tensor x, int dim, int start, int length) {
        Tensor out = narrowRaw(x, dim, start, length);
        int d = Shapes.dim("dim", dim, x.dim());
        return Recording.needed(x) ? Recording.record(new OpCall.Narrow(x, d, start, length), out) : out;
    }

    public static Tensor narrowRaw(Tensor x, int dim, int start, int length) {
        int d = Shapes.dim("dim", dim, x.dim());
        int size = x.size(d);
        if (start < 0 || length < 0 || (long) start + length > size)
            throw new IllegalArgumentException("narrow: start " + start + " and length " + length
                    + " must lie within dim " + d + " of size " + size + " (shape " + Shapes.str(x.shape()) + ")");
        int[] shape = x.shape();
        shape[d] = length;
        return Tensor.of(x.storage(), shape, x.strides(), length == 0 ? x.offset() : x.offset() + start * x.strides()[d]);
    }

    public static Tensor slice(Tensor x, int dim, int start, int end) {
        int d = Shapes.dim("dim", dim, x.dim());
        int size = x.size(d);
        int s = start < 0 ? Math.max(start + size, 0) : Math.min(start, size);
        int e = end < 0 ? Math.max(end + size, 0) : Math.min(end, size);
        return narrow(x, d, s, Math.max(e - s, 0));
    }

    public static Tensor select(Tensor x, int dim, int index) {
        int d = Shapes.dim("dim", dim, x.dim());
        int size = x.size(d);
        int i = index < 0 ? index + size : index;
        if (i < 0 || i >= size)
            throw new IllegalArgumentException("index: expected in [" + (-size) + ", " + (size - 1) + "] for dim " + d
                    + " of shape " + Shapes.str(x.shape()) + ", got " + index);
        return squeeze(narrow(x, d, i, 1), d);
    }

    public static Tensor expand(Tensor x, int... newShape) {
        Tensor out = expandRaw(x, newShape);
        if (Arrays.equals(out.shape(), x.shape())) return x;
        return Recording.needed(x) ? Recording.record(new OpCall.Expand(x), out) : out;
    }

    /** Broadcast view of x as newShape (sizes equal or 1 -> n, aligned right; -1 keeps the size). */
    public static Tensor expandRaw(Tensor x, int... newShape) {
        int[] shape = x.shape();
        long[] strides = x.strides();
        int r = newShape.length, off = r - shape.length;
        if (off < 0)
            throw new IllegalArgumentException("expand: target shape " + Shapes.str(newShape)
                    + " has fewer dims than the input " + Shapes.str(shape));
        int[] outShape = new int[r];
        long[] outStrides = new long[r];
        for (int i = 0; i < r; i++) {
            int target = newShape[i];
            if (i < off) {
                if (target < 0) throw new IllegalArgumentException("expand: -1 is not allowed for new leading dims, got " + Shapes.str(newShape));
                outShape[i] = target;
                outStrides[i] = 0;
            } else {
                int have = shape[i - off];
                if (target == -1 || target == have) {
                    outShape[i] = have;
                    outStrides[i] = strides[i - off];
                } else if (have == 1 && target >= 0) {
                    outShape[i] = target;
                    outStrides[i] = 0;
                } else {
                    throw new IllegalArgumentException("expand: input shape " + Shapes.str(shape) + " cannot expand to "
                            + Shapes.str(newShape) + " (dim " + i + ": " + have + " -> " + target + ")");
                }
            }
        }
        return Tensor.of(x.storage(), outShape, outStrides, x.offset());
    }

    public static Tensor unsqueeze(Tensor x, int dim) {
        int r = x.dim();
        int d = Shapes.dim("dim", dim, r + 1);
        int[] shape = x.shape();
        int[] out = new int[r + 1];
        for (int i = 0, j = 0; i <= r; i++) out[i] = i == d ? 1 : shape[j++];
        return view(x, out);
    }

    public static Tensor squeeze(Tensor x, int dim) {
        int d = Shapes.dim("dim", dim, x.dim());
        if (x.size(d) != 1) return x;
        int[] shape = x.shape();
        int[] out = new int[shape.length - 1];
        for (int i = 0, j = 0; i < shape.length; i++) if (i != d) out[j++] = shape[i];
        return view(x, out);
    }

    public static Tensor squeezeAll(Tensor x) {
        return view(x, Arrays.stream(x.shape()).filter(s -> s != 1).toArray());
    }

    /** A contiguous copy on the same device, same dtype. */
    public static Tensor copy(Tensor x) {
        Checks.live(x);
        Tensor out = Tensor.empty(x.dtype(), x.device(), x.shape());
        x.backend().copy(x, out);
        return Recording.needed(x) ? Recording.record(new OpCall.Reshape(x), out) : out;
    }
}
