package dev.flare.tensor.ops;

import dev.flare.tensor.DType;
import dev.flare.tensor.Device;
import dev.flare.tensor.HostArrays;
import dev.flare.tensor.Shapes;
import dev.flare.tensor.Tensor;
import dev.flare.tensor.cpu.CpuStorage;
import dev.flare.tensor.random.Generator;
import dev.flare.tensor.random.PhiloxStream;

/** Factories: constants, ranges, arrays and Philox random numbers. */
public final class Creation {
    private Creation() {}

    public static Tensor full(double value, DType dtype, Device device, int... shape) {
        Tensor t = Tensor.empty(dtype, device, shape);
        t.backend().fill(t, value);
        return t;
    }

    public static Tensor arange(long start, long end, long step, DType dtype, Device device) {
        if (step == 0) throw new IllegalArgumentException("step: expected non-zero, got 0");
        long n = Math.max(0, Math.ceilDiv(end - start, step));
        long[] values = new long[HostArrays.checkedSize("arange", n)];
        for (int i = 0; i < values.length; i++) values[i] = start + i * step;
        Tensor t = fromArray(values, DType.I64, values.length);
        if (dtype != DType.I64) t = Elementwise.cast(t, dtype);
        return t.to(device);
    }

    /** Wraps a copy of {@code data} (a Java array matching dtype's host type) as a CPU tensor of shape. */
    public static Tensor fromArray(Object data, DType dtype, int... shape) {
        int length = HostArrays.length(data);
        int[] s = shape.length == 0 ? new int[]{length} : shape;
        Shapes.checkShape("shape", s);
        if (Shapes.numel(s) != length)
            throw new IllegalArgumentException("data: shape " + Shapes.str(s) + " needs " + Shapes.numel(s)
                    + " elements, got an array of " + length);
        Object copy = HostArrays.allocate(dtype, length);
        System.arraycopy(data, 0, copy, 0, length);
        return Tensor.of(new CpuStorage(dtype, copy), s, Shapes.contiguousStrides(s), 0);
    }

    public static Tensor fromBooleans(boolean[] data, int... shape) {
        byte[] bytes = new byte[data.length];
        for (int i = 0; i < data.length; i++) bytes[i] = (byte) (data[i] ? 1 : 0);
        return fromArray(bytes, DType.BOOL, shape);
    }

    public static Tensor uniform(Generator gen, double lo, double hi, DType dtype, Device device, int... shape) {
        checkRandom(gen, dtype);
        if (!(lo < hi)) throw new IllegalArgumentException("range: expected lo < hi, got [" + lo + ", " + hi + ")");
        Tensor t = Tensor.empty(dtype, device, shape);
        long offset = gen.reserve(blocks(dtype, t.numel()));
        t.backend().fillUniform(t, gen.seed(), offset, lo, hi);
        return t;
    }

    public static Tensor normal(Generator gen, double mean, double std, DType dtype, Device device, int... shape) {
        checkRandom(gen, dtype);
        if (!(std >= 0)) throw new IllegalArgumentException("std: expected >= 0, got " + std);
        Tensor t = Tensor.empty(dtype, device, shape);
        long offset = gen.reserve(blocks(dtype, t.numel()));
        t.backend().fillNormal(t, gen.seed(), offset, mean, std);
        return t;
    }

    /** Philox blocks a fill consumes: 4 F32-family numbers or 2 F64 numbers per 128-bit block. */
    private static long blocks(DType dtype, long numel) {
        return dtype == DType.F64 ? PhiloxStream.blocksForDoubles(numel) : PhiloxStream.blocksForFloats(numel);
    }

    private static void checkRandom(Generator gen, DType dtype) {
        if (gen == null) throw new IllegalArgumentException("gen: expected a Generator, got null");
        if (!dtype.isFloatingPoint())
            throw new IllegalArgumentException("dtype: random numbers need a floating-point dtype, got " + dtype);
    }
}
