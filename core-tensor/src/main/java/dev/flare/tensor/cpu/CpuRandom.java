package dev.flare.tensor.cpu;

import dev.flare.tensor.DType;
import dev.flare.tensor.HalfFloats;
import dev.flare.tensor.Tensor;
import dev.flare.tensor.random.PhiloxStream;

/** Philox fills on the host, following docs/random.md exactly (the CUDA kernels reproduce it). */
final class CpuRandom {
    private CpuRandom() {}

    static void fillUniform(Tensor dst, long seed, long offset, double lo, double hi) {
        fill(dst, seed, offset, lo, hi, false);
    }

    static void fillNormal(Tensor dst, long seed, long offset, double mean, double std) {
        fill(dst, seed, offset, mean, std, true);
    }

    private static void fill(Tensor dst, long seed, long offset, double a, double b, boolean normal) {
        CpuStorage s = (CpuStorage) dst.storage();
        int n = Math.toIntExact(dst.numel()), at = Math.toIntExact(dst.offset());
        if (!dst.isContiguous()) throw new IllegalArgumentException("dst: random fills need a contiguous tensor");
        DType t = dst.dtype();
        if (t == DType.F64) {
            if (normal) PhiloxStream.fillNormal(s.doubles(), at, n, seed, offset, a, b);
            else PhiloxStream.fillUniform(s.doubles(), at, n, seed, offset, a, b);
            return;
        }
        float[] values = t == DType.F32 ? s.floats() : new float[n];
        int to = t == DType.F32 ? at : 0;
        if (normal) PhiloxStream.fillNormal(values, to, n, seed, offset, (float) a, (float) b);
        else PhiloxStream.fillUniform(values, to, n, seed, offset, (float) a, (float) b);
        if (t == DType.BF16) HalfFloats.toBf16(values, 0, s.shorts(), at, n);
        else if (t == DType.F16) HalfFloats.toF16(values, 0, s.shorts(), at, n);
        else if (t != DType.F32) throw new IllegalArgumentException("dst: random fills need a floating-point dtype, got " + t);
    }
}
