package dev.flare.autograd;

import dev.flare.tensor.DType;
import dev.flare.tensor.Tensor;
import dev.flare.tensor.cpu.CpuStorage;

import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.function.Function;

/**
 * Checks analytic gradients against central finite differences in F64. The output is reduced to a scalar
 * with random weights (so every output element matters), then every element of every input that requires
 * grad is nudged by ±eps.
 */
public final class GradCheck {
    private GradCheck() {}

    /** Tolerances: |analytic - numeric| <= atol + rtol * |numeric| for every element. */
    public record Tolerance(double eps, double atol, double rtol) {
        public static final Tolerance DEFAULT = new Tolerance(1e-6, 1e-7, 1e-5);
    }

    /** Thrown when a gradient disagrees; the message names the input, the element and both values. */
    public static final class GradCheckError extends AssertionError {
        GradCheckError(String message) { super(message); }
    }

    public static void check(Function<List<Tensor>, Tensor> f, List<Tensor> inputs) {
        check(f, inputs, Tolerance.DEFAULT, new Random().nextLong());
    }

    public static void check(Function<List<Tensor>, Tensor> f, List<Tensor> inputs, Tolerance tol, long seed) {
        for (int i = 0; i < inputs.size(); i++) {
            Tensor t = inputs.get(i);
            if (t == null) continue;
            if (t.dtype() != DType.F64 || !t.device().isCpu())
                throw new IllegalArgumentException("inputs[" + i + "]: expected an F64 CPU tensor, got " + t.dtype() + " on " + t.device());
            long[] st = t.strides();
            int[] sh = t.shape();
            for (int d = 0; d < sh.length; d++)
                if (st[d] == 0 && sh[d] > 1)
                    throw new IllegalArgumentException("inputs[" + i + "]: expanded (stride 0) inputs alias elements; pass the base tensor");
            if (t.requiresGrad()) t.setGrad(null);
        }
        Tensor out = f.apply(inputs);
        if (out.dtype() != DType.F64)
            throw new IllegalArgumentException("f: expected an F64 output, got " + out.dtype());
        Random rnd = new Random(seed);
        double[] w = new double[(int) out.numel()];
        for (int i = 0; i < w.length; i++) w[i] = rnd.nextGaussian();
        Tensor wt = Tensor.fromArray(w, w.length).reshape(out.shape());
        out.mul(wt).sum().backward();

        for (int i = 0; i < inputs.size(); i++) {
            Tensor t = inputs.get(i);
            if (t == null || !t.requiresGrad()) continue;
            Tensor grad = t.grad();
            double[] analytic = grad == null ? new double[(int) t.numel()] : grad.toDoubleArray();
            double[] data = ((CpuStorage) t.storage()).doubles();
            int[] shape = t.shape();
            long[] strides = t.strides();
            int[] idx = new int[shape.length];
            for (int e = 0; e < t.numel(); e++) {
                long p = t.offset();
                for (int d = 0; d < shape.length; d++) p += idx[d] * strides[d];
                int pos = Math.toIntExact(p);
                double orig = data[pos];
                data[pos] = orig + tol.eps();
                double plus = value(f, inputs, wt);
                data[pos] = orig - tol.eps();
                double minus = value(f, inputs, wt);
                data[pos] = orig;
                double numeric = (plus - minus) / (2 * tol.eps());
                double err = Math.abs(analytic[e] - numeric);
                if (!(err <= tol.atol() + tol.rtol() * Math.abs(numeric)))
                    throw new GradCheckError("gradient of inputs[" + i + "] (shape " + Arrays.toString(shape) + ") at "
                            + Arrays.toString(idx) + ": analytic " + analytic[e] + " vs numeric " + numeric
                            + " (error " + err + ", seed " + seed + ")");
                for (int d = shape.length - 1; d >= 0; d--) {
                    if (++idx[d] < shape[d]) break;
                    idx[d] = 0;
                }
            }
        }
    }

    private static double value(Function<List<Tensor>, Tensor> f, List<Tensor> inputs, Tensor w) {
        try (NoGrad ignored = NoGrad.enter()) {
            return f.apply(inputs).mul(w).sum().item();
        }
    }
}
