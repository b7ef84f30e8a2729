package dev.flare.autograd;

import dev.flare.tensor.DType;
import dev.flare.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/**
 * crossEntropy on BF16/F16 logits (as GPT passes them, a narrowed view whose rows are further apart than their
 * length) gives the loss and the gradient of casting the logits to F32 first: the same F32 loss, and the F32
 * gradient rounded once to the logits' dtype, which is what the cast's backward does. So GPT needs no cast.
 */
class HalfPrecisionCrossEntropyTest {
    private final long seed = new Random().nextLong();
    private final Random random = new Random(seed);

    @Test
    void halfPrecisionLogitsGiveTheLossAndGradientOfCastingToF32First() {
        for (DType dtype : new DType[]{DType.BF16, DType.F16})
            for (int classes : new int[]{65, 100, 1000}) check(dtype, classes);
    }

    private void check(DType dtype, int classes) {
        int rows = 1 + random.nextInt(24), stored = classes + 1 + random.nextInt(64);
        double[] x = new double[rows * stored];
        for (int i = 0; i < x.length; i++) x[i] = 3 * random.nextGaussian();
        long[] t = new long[rows];
        for (int i = 0; i < rows; i++) t[i] = random.nextInt(4) == 0 ? -100 : random.nextInt(classes);
        Tensor targets = Tensor.fromArray(t, rows);
        Tensor half = Tensor.fromArray(x, rows, stored).to(dtype);
        String where = dtype + ", " + rows + " x " + classes + " of " + stored + ", seed " + seed;

        Tensor direct = half.detach().requiresGrad(true);
        Tensor directLoss = Tensor.crossEntropy(direct.narrow(1, 0, classes), targets, -100);
        directLoss.backward();
        Tensor viaF32 = half.detach().requiresGrad(true);
        Tensor castLoss = Tensor.crossEntropy(viaF32.narrow(1, 0, classes).to(DType.F32), targets, -100);
        castLoss.backward();

        assertEquals(DType.F32, directLoss.dtype(), where);
        assertEquals(Float.floatToIntBits((float) castLoss.item()), Float.floatToIntBits((float) directLoss.item()),
                "loss " + directLoss.item() + " vs cast-then-F32 " + castLoss.item() + ", " + where);
        assertEquals(dtype, direct.grad().dtype(), where);
        float[] got = direct.grad().toFloatArray(), want = viaF32.grad().toFloatArray();
        for (int i = 0; i < got.length; i++)
            assertEquals(want[i], got[i], 0f, "gradient element " + i + ", " + where);
    }
}
