package dev.flare.autograd;

import dev.flare.tensor.DType;
import dev.flare.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/**
 * crossEntropy over the first {@code classes} columns of wider logits (a padded vocabulary) gives the loss and
 * gradient of the call on the narrow view, the gradient already in the full width with zeros in the extra columns;
 * bad class counts and targets beyond them are refused.
 */
class CrossEntropyOverFirstClassesTest {
    private final long seed = new Random().nextLong();
    private final Random random = new Random(seed);

    @Test
    void equalsTheCallOnTheNarrowView() {
        for (DType dtype : new DType[]{DType.F64, DType.F32, DType.BF16})
            for (int rep = 0; rep < 3; rep++) {
                int rows = 1 + random.nextInt(20), classes = 2 + random.nextInt(90), width = classes + random.nextInt(40);
                double[] x = new double[2 * rows * width];
                for (int i = 0; i < x.length; i++) x[i] = 3 * random.nextGaussian();
                long[] t = new long[2 * rows];
                for (int i = 0; i < t.length; i++) t[i] = random.nextInt(5) == 0 ? -100 : random.nextInt(classes);
                Tensor targets = Tensor.fromArray(t, 2, rows);
                Tensor values = Tensor.fromArray(x, 2, rows, width).to(dtype);
                String where = dtype + ", 2 x " + rows + " x " + classes + " of " + width + ", seed " + seed;

                Tensor viaView = values.detach().requiresGrad(true);
                Tensor viewLoss = Tensor.crossEntropy(viaView.narrow(2, 0, classes), targets, -100);
                viewLoss.backward();
                Tensor padded = values.detach().requiresGrad(true);
                Tensor paddedLoss = Tensor.crossEntropy(padded, targets, -100, classes);
                paddedLoss.backward();

                assertEquals(viewLoss.item(), paddedLoss.item(), 0.0, "loss: " + where);
                assertArrayEquals(new int[]{2, rows, width}, padded.grad().shape(), where);
                assertArrayEquals(viaView.grad().to(DType.F64).toDoubleArray(), padded.grad().to(DType.F64).toDoubleArray(), 0.0,
                        "gradient: " + where);
                if (classes < width) {
                    double[] extra = padded.grad().narrow(2, classes, width - classes).to(DType.F64).contiguous().toDoubleArray();
                    for (double e : extra) assertEquals(0.0, e, "extra columns' gradient: " + where);
                }
            }
    }

    @Test
    void refusesClassCountsOutsideTheWidthAndTargetsBeyondThem() {
        Tensor logits = Tensor.zeros(3, 10);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Tensor.crossEntropy(logits, Tensor.fromArray(new long[]{0, 1, 2}, 3), -100, 11));
        assertTrue(e.getMessage().contains("classes must be in [0, 10] (logits' last dim), got 11"), e.getMessage());
        IndexOutOfBoundsException range = assertThrows(IndexOutOfBoundsException.class,
                () -> Tensor.crossEntropy(logits, Tensor.fromArray(new long[]{0, 8, 2}, 3), -100, 8));
        assertTrue(range.getMessage().contains("targets"), range.getMessage());
    }
}
