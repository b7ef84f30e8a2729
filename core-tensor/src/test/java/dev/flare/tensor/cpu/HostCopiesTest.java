package dev.flare.tensor.cpu;

import dev.flare.tensor.DType;
import dev.flare.tensor.Device;
import dev.flare.tensor.MemoryScope;
import dev.flare.tensor.TestSeeds;
import dev.flare.tensor.Tensor;
import dev.flare.tensor.random.Generator;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Reading a tensor into a Java array (toFloatArray, toDoubleArray, item) returns the right elements of views and of
 * other dtypes, and leaves none of the contiguous or converted copies it made allocated in the caller's scope.
 */
class HostCopiesTest {
    private final long seed = TestSeeds.fresh();

    @Test
    void arraysOfViewsAndOtherDtypesLeaveNoTemporaries() {
        Generator gen = new Generator(seed);
        for (DType t : new DType[]{DType.F32, DType.BF16, DType.F64}) {
            Tensor x = Tensor.randn(gen, t, Device.CPU, 6, 40, 24);
            Tensor view = x.transpose(0, 2).narrow(1, 3, 30);                    // strided, offset
            double[] want = new double[view.numel() > 0 ? (int) view.numel() : 0];
            int i = 0;
            for (int a = 0; a < 24; a++)
                for (int b = 0; b < 30; b++)
                    for (int c = 0; c < 6; c++) want[i++] = x.get(c, b + 3, a);
            try (MemoryScope ignored = MemoryScope.open()) {
                long before = CpuMemory.stats().allocatedBytes();
                float[] f = view.toFloatArray();
                double[] d = view.toDoubleArray();
                double one = view.narrow(0, 5, 1).narrow(1, 7, 1).narrow(2, 2, 1).item();
                long grew = CpuMemory.stats().allocatedBytes() - before;     // at most: a collection may uncount garbage
                assertTrue(grew <= 0, t + ": the copies made to read the view must be released; " + grew + " bytes remain");
                for (int k = 0; k < want.length; k++) {
                    assertEquals(want[k], d[k], 0, t + " at " + k + ", " + TestSeeds.describe(seed));
                    assertEquals((float) want[k], f[k], 0, t + " at " + k + ", " + TestSeeds.describe(seed));
                }
                assertEquals(x.get(2, 10, 5), one, 0);
            }
        }
    }
}
