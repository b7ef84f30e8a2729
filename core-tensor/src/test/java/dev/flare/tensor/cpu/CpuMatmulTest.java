package dev.flare.tensor.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.flare.tensor.DType;
import dev.flare.tensor.Device;
import dev.flare.tensor.TestSeeds;
import dev.flare.tensor.Tensor;
import dev.flare.tensor.random.Generator;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * CpuMatmul's three ways to hand a batch to CpuGemm (one call when the batch offsets step evenly; one call
 * per matrix from this thread, or spread over CpuThreads, when they do not), against NaiveGemm per matrix.
 */
class CpuMatmulTest {
    private final long seed = TestSeeds.fresh();
    private final Generator gen = new Generator(seed);

    /** a @ b against NaiveGemm on contiguous copies of the operands broadcast to the output's batch shape. */
    private void check(String what, Tensor a, Tensor b) {
        Tensor out = a.matmul(b);
        int[] os = out.shape();
        int r = os.length, m = os[r - 2], n = os[r - 1], k = a.shape()[a.dim() - 1];
        int[] aShape = os.clone(), bShape = os.clone();
        aShape[r - 1] = k;
        bShape[r - 2] = k;
        double[] av = a.expand(aShape).contiguous().toDoubleArray(), bv = b.expand(bShape).contiguous().toDoubleArray();
        int batch = (int) (av.length / ((long) m * k));
        double[] want = new double[batch * m * n], bound = new double[want.length];
        NaiveGemm.dgemm(batch, m, n, k, av, 0, (long) m * k, k, 1, bv, 0, (long) k * n, n, 1,
                want, 0, (long) m * n, n, 1, false);
        NaiveGemm.dgemm(batch, m, n, k, abs(av), 0, (long) m * k, k, 1, abs(bv), 0, (long) k * n, n, 1,
                bound, 0, (long) m * n, n, 1, false);
        double[] got = out.contiguous().toDoubleArray();
        assertEquals(want.length, got.length, what);
        double eps = a.dtype() == DType.F32 ? 0x1p-23 : 0x1p-52;
        for (int i = 0; i < want.length; i++) {
            double tol = (k + 2) * eps * bound[i];
            if (!(Math.abs(got[i] - want[i]) <= tol)) {
                fail(what + " " + a.dtype() + " out " + Arrays.toString(os) + " at flat index " + i + ": got " + got[i]
                        + ", expected " + want[i] + " within " + tol + "; " + TestSeeds.describe(seed));
            }
        }
    }

    @Test
    void halfPrecisionMatmulLeavesOnlyItsOutputAllocated() {
        for (DType t : new DType[]{DType.BF16, DType.F16}) {
            Tensor a = randn(t, 3, 40, 24), b = randn(t, 24, 56);
            Tensor want = a.to(DType.F32).matmul(b.to(DType.F32)).to(t);
            try (dev.flare.tensor.MemoryScope ignored = dev.flare.tensor.MemoryScope.open()) {
                long before = CpuMemory.stats().allocatedBytes();
                Tensor out = a.matmul(b);
                long grew = CpuMemory.stats().allocatedBytes() - before;   // at most: a collection may uncount other garbage
                assertTrue(grew <= out.numel() * 2, t + ": the F32 copies of a, b and the result must be released inside"
                        + " the call; the count grew by " + grew + " bytes for a " + out.numel() * 2 + "-byte result");
                assertEquals(Arrays.toString(want.toFloatArray()), Arrays.toString(out.toFloatArray()), t + ", " + TestSeeds.describe(seed));
            }
        }
    }

    private static double[] abs(double[] v) {
        double[] r = new double[v.length];
        for (int i = 0; i < v.length; i++) r[i] = Math.abs(v[i]);
        return r;
    }

    private Tensor randn(DType t, int... shape) {
        return Tensor.randn(gen, t, Device.CPU, shape);
    }

    @Test
    void evenBatchesGoInOneCall() {
        for (DType t : new DType[] {DType.F32, DType.F64}) {
            check("contiguous batch", randn(t, 4, 5, 6), randn(t, 4, 6, 7));
            check("broadcast weight", randn(t, 3, 33, 40), randn(t, 40, 17));
            check("transposed operands", randn(t, 2, 3, 9, 8).transpose(2, 3), randn(t, 2, 3, 10, 9).transpose(2, 3));
            check("large, threaded", randn(t, 2, 150, 140), randn(t, 140, 130));
        }
    }

    @Test
    void batchedLeftTimes2dRightIsOneGemmOverAllRows() {
        for (DType t : new DType[] {DType.F32, DType.F64}) {
            check("4-d left", randn(t, 2, 3, 5, 6), randn(t, 6, 7));
            check("left needing a copy to flatten", randn(t, 33, 3, 40).transpose(0, 1), randn(t, 40, 17));
            check("expanded left batch", randn(t, 1, 5, 6).expand(4, 5, 6), randn(t, 6, 7));
            check("transposed right", randn(t, 3, 9, 8), randn(t, 5, 8).transpose(0, 1));
            assertEquals(Arrays.toString(new int[] {0, 5, 7}), Arrays.toString(randn(t, 0, 5, 6).matmul(randn(t, 6, 7)).shape()));
            Tensor a = randn(t, 3, 5, 6), v = randn(t, 6);
            Tensor got = a.matmul(v), want = a.matmul(v.unsqueeze(1)).squeeze(-1);
            assertEquals(Arrays.toString(new int[] {3, 5}), Arrays.toString(got.shape()));
            assertEquals(Arrays.toString(want.toDoubleArray()), Arrays.toString(got.toDoubleArray()), TestSeeds.describe(seed));
        }
    }

    @Test
    void unevenBatchesGoOneMatrixAtATime() {
        for (DType t : new DType[] {DType.F32, DType.F64}) {
            // a's batch (2, 1) broadcast to (2, 3): offsets 0, 0, 0, mk, mk, mk
            check("broadcast inner batch dim", randn(t, 2, 1, 5, 6).expand(2, 3, 5, 6), randn(t, 2, 3, 6, 7));
            check("permuted batch dims", randn(t, 3, 4, 7, 5).permute(1, 0, 2, 3), randn(t, 4, 3, 5, 6));
            // each matrix large enough for CpuGemm to split it over threads
            check("large matrices", randn(t, 2, 1, 130, 129).expand(2, 2, 130, 129), randn(t, 2, 2, 129, 131));
        }
    }
}
