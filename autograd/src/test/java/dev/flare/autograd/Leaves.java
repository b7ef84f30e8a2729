package dev.flare.autograd;

import dev.flare.tensor.Tensor;

import java.util.Random;

/** Random F64 leaf tensors for gradient checks; the seed is fresh per test class run and printed on failure. */
final class Leaves {
    final long seed = new Random().nextLong();
    private final Random rnd = new Random(seed);

    Tensor leaf(int... shape) {
        return values(shape).requiresGrad(true);
    }

    Tensor values(int... shape) {
        long n = 1;
        for (int s : shape) n *= s;
        double[] v = new double[(int) n];
        for (int i = 0; i < v.length; i++) v[i] = rnd.nextGaussian();
        return Tensor.fromArray(v, shape.length == 0 ? new int[]{1} : shape).reshape(shape);
    }

    /** Values in [lo, hi), for ops with a restricted domain (log, sqrt, pow). */
    Tensor positiveLeaf(double lo, double hi, int... shape) {
        long n = 1;
        for (int s : shape) n *= s;
        double[] v = new double[(int) n];
        for (int i = 0; i < v.length; i++) v[i] = lo + (hi - lo) * rnd.nextDouble();
        return Tensor.fromArray(v, shape).requiresGrad(true);
    }

    /** A non-contiguous leaf: the transpose of a random (cols, rows) tensor. */
    Tensor transposedLeaf(int rows, int cols) {
        return values(cols, rows).t().requiresGrad(true);
    }

    Tensor ids(int bound, int... shape) {
        long n = 1;
        for (int s : shape) n *= s;
        long[] v = new long[(int) n];
        for (int i = 0; i < v.length; i++) v[i] = rnd.nextInt(bound);
        return Tensor.fromArray(v, shape);
    }

    int size(int lo, int hi) { return lo + rnd.nextInt(hi - lo + 1); }

    String why() { return "seed " + seed; }
}
