package dev.flare.tensor;

import dev.flare.tensor.random.Generator;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/**
 * matmulAddBias on the CPU (the Backend default) is matmul then add, bit for bit, over random shapes with leading
 * dims, a transposed x, no bias, and the empty cases (no rows, K = 0: the bias alone).
 */
class MatmulAddBiasTest {
    private final long seed = new Random().nextLong();
    private final Random rnd = new Random(seed);
    private final Generator gen = new Generator(seed);

    private Tensor randn(int... shape) { return Tensor.randn(gen, DType.F32, Device.CPU, shape); }

    @Test
    void equalsMatmulThenAdd() {
        for (int rep = 0; rep < 6; rep++) {
            int b = 1 + rnd.nextInt(3), m = rnd.nextInt(20), k = rnd.nextInt(20), n = 1 + rnd.nextInt(20);
            Tensor x = rnd.nextBoolean() ? randn(b, m, k) : randn(b, k, m).transpose(1, 2);
            Tensor w = randn(k, n), bias = randn(n);
            String why = "b=" + b + " m=" + m + " k=" + k + " n=" + n + " seed " + seed;
            assertArrayEquals(x.matmul(w).add(bias).toFloatArray(), x.matmulAddBias(w, bias).toFloatArray(), why);
            assertArrayEquals(x.matmul(w).toFloatArray(), x.matmulAddBias(w, null).toFloatArray(), why + " no bias");
            assertArrayEquals(new int[]{b, m, n}, x.matmulAddBias(w, bias).shape(), why);
        }
    }
}
