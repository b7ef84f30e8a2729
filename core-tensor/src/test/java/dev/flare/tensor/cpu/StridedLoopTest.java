package dev.flare.tensor.cpu;

import dev.flare.tensor.Tensor;
import dev.flare.tensor.TestTensors;
import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicIntegerArray;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** StridedLoop visits every element of every operand exactly once, in run pieces, for any layout and size. */
class StridedLoopTest {
    private final TestTensors r = new TestTensors();

    @Test
    void everyElementIsVisitedOnceWithMatchingOffsets() {
        for (int trial = 0; trial < 60; trial++) {
            int[] shape = trial % 10 == 0 ? new int[]{r.nextInt(1, 3), r.nextInt(20_000, 70_000)} : r.shape(4, 9, 0.05);
            int n = (int) TestTensors.numel(shape);
            double[] ids = new double[n];
            for (int i = 0; i < n; i++) ids[i] = i;
            Tensor a = r.tensor(ids, shape, dev.flare.tensor.DType.F64);
            Tensor b = r.tensor(ids, shape, dev.flare.tensor.DType.F64);
            double[] av = (double[]) TestTensors.raw(a), bv = (double[]) TestTensors.raw(b);
            AtomicIntegerArray seen = new AtomicIntegerArray(n);
            StridedLoop.forEach(shape, 1, (off, st, len) -> {
                for (int i = 0; i < len; i++) {
                    int id = (int) av[(int) (off[0] + i * st[0])];
                    assertEquals(id, (int) bv[(int) (off[1] + i * st[1])], r.at("operands stay in step"));
                    seen.incrementAndGet(id);
                }
            }, a, b);
            for (int i = 0; i < n; i++) assertEquals(1, seen.get(i), r.at("element " + i + " of " + java.util.Arrays.toString(shape) + " visits"));
        }
    }

    @Test
    void aLargeContiguousRunIsSplitAcrossThreadsWhenThereAreSeveral() {
        int pieces = StridedLoop.pieces(1, 1 << 20, 1);
        assertEquals(CpuThreads.threads() > 1 ? CpuThreads.threads() : 1, pieces, r.at("pieces for one long run"));
        assertEquals(1, StridedLoop.pieces(1, 1000, 1), r.at("small work is not split"));
        assertTrue(StridedLoop.pieces(CpuThreads.threads(), 1 << 20, 1) == 1, r.at("enough runs are not split"));
    }
}
