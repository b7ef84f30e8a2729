package dev.flare.tensor.ops;

import dev.flare.tensor.DType;
import dev.flare.tensor.Device;
import dev.flare.tensor.HostArrays;
import dev.flare.tensor.Shapes;
import dev.flare.tensor.Tensor;
import dev.flare.tensor.cpu.CpuStorage;

/** Moving elements between tensors and Java arrays, and between devices. */
public final class HostData {
    private HostData() {}

    /** A contiguous CPU tensor holding x's elements converted to dtype (never recorded by autograd). */
    public static Tensor toCpu(Tensor x, DType dtype) {
        Checks.live(x);
        Tensor src = x;
        if (!x.device().isCpu()) {
            Tensor dense = x.isContiguous() && x.offset() == 0 && x.numel() == x.storage().numel() ? x : rawCopy(x);
            Object host = HostArrays.allocate(x.dtype(), HostArrays.checkedSize("to(cpu)", x.numel()));
            try {
                dense.storage().copyToHost(dense.offset(), host, 0, (int) x.numel());   // returns once the copy is done
            } finally {
                if (dense != x) dense.release();
            }
            src = Tensor.of(new CpuStorage(x.dtype(), host), x.shape(), Shapes.contiguousStrides(x.shape()), 0);
        }
        if (src.dtype() == dtype && src.isContiguous()) return src;
        Tensor out = Tensor.empty(dtype, Device.CPU, x.shape());
        out.backend().copy(src, out);
        if (src != x) src.release();      // temporaries go now, not when the caller's scope closes
        return out;
    }

    private static Tensor rawCopy(Tensor x) {
        Tensor out = Tensor.empty(x.dtype(), x.device(), x.shape());
        x.backend().copy(x, out);
        return out;
    }

    /** A fresh host array of x's elements as dtype (never the tensor's own array). */
    private static Object hostArray(Tensor x, DType dtype) {
        Tensor c = toCpu(x, dtype);
        int n = (int) c.numel();
        Object copy = HostArrays.allocate(dtype, n);
        System.arraycopy(((CpuStorage) c.storage()).array(), (int) c.offset(), copy, 0, n);
        if (c != x) c.release();          // a contiguous or converted copy made for this call only
        return copy;
    }

    public static float[] toFloatArray(Tensor x) { return (float[]) hostArray(x, DType.F32); }
    public static double[] toDoubleArray(Tensor x) { return (double[]) hostArray(x, DType.F64); }
    public static long[] toLongArray(Tensor x) { return (long[]) hostArray(x, DType.I64); }
    public static int[] toIntArray(Tensor x) { return (int[]) hostArray(x, DType.I32); }

    public static double item(Tensor x) {
        if (x.numel() != 1)
            throw new IllegalArgumentException("item: expected a tensor with one element, got shape " + Shapes.str(x.shape()));
        return toDoubleArray(x)[0];
    }

    public static double get(Tensor x, int... index) {
        int[] shape = x.shape();
        if (index.length != shape.length)
            throw new IllegalArgumentException("index: expected " + shape.length + " indices for shape " + Shapes.str(shape)
                    + ", got " + index.length);
        Tensor t = x;
        for (int d = index.length - 1; d >= 0; d--) {
            if (index[d] < 0 || index[d] >= shape[d])
                throw new IllegalArgumentException("index: " + index[d] + " is out of range for dim " + d + " of size " + shape[d]);
            t = ViewOps.narrowRaw(t, d, index[d], 1);
        }
        return toDoubleArray(t)[0];
    }

    public static Tensor toDevice(Tensor x, Device device) {
        if (x.device().equals(device)) return x;
        Checks.live(x);
        Tensor out;
        if (device.isCpu()) {
            out = toCpu(x, x.dtype());                 // from a GPU: always a new contiguous CPU tensor
        } else {
            Tensor src = x.device().isCpu() ? x : toCpu(x, x.dtype());
            Tensor dense = src.isContiguous() && src.offset() == 0 && src.numel() == src.storage().numel() ? src : rawCopy(src);
            out = Tensor.empty(x.dtype(), device, x.shape());
            out.storage().copyFromHost(((CpuStorage) dense.storage()).array(), 0, 0, (int) x.numel());
            if (dense != src) dense.release();
            if (src != x) src.release();
        }
        return Recording.needed(x) ? Recording.record(new OpCall.ToDevice(x, device), out) : out;
    }

    /** "tensor(shape=[2, 3], F32, cpu) [[...]]", eliding the middle of large tensors. */
    public static String format(Tensor x) {
        StringBuilder sb = new StringBuilder("tensor(shape=").append(Shapes.str(x.shape())).append(", ")
                .append(x.dtype()).append(", ").append(x.device());
        if (x.requiresGrad()) sb.append(", requiresGrad");
        sb.append(')');
        if (x.storage().isReleased()) return sb.append(" <released>").toString();
        double[] v = toDoubleArray(x);
        sb.append(' ');
        int[] shape = x.shape();
        formatDim(sb, v, shape, 0, 0, x.dtype().isFloatingPoint());
        return sb.toString();
    }

    private static int formatDim(StringBuilder sb, double[] v, int[] shape, int dim, int pos, boolean fp) {
        if (dim == shape.length) {
            sb.append(fp ? String.format("%.4g", v[pos]) : String.valueOf((long) v[pos]));
            return pos + 1;
        }
        sb.append('[');
        int n = shape[dim];
        long inner = 1;
        for (int d = dim + 1; d < shape.length; d++) inner *= shape[d];
        for (int i = 0; i < n; i++) {
            if (n > 8 && i == 3) {
                sb.append("..., ");
                pos += (int) ((n - 6) * inner);
                i = n - 3;
            }
            pos = formatDim(sb, v, shape, dim + 1, pos, fp);
            if (i < n - 1) sb.append(", ");
        }
        sb.append(']');
        return pos;
    }
}
