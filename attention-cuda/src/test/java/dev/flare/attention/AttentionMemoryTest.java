package dev.flare.attention;

import dev.flare.tensor.DType;
import dev.flare.tensor.Device;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * FLASH_CPU's memory grows with S, not S²: doubling S about doubles what forward + backward allocate (its F32
 * copies of q, k, v, o and the gradients), and stays far below the score matrix. MATH, which builds S x S scores, must show
 * the quadratic growth to the same probe, so a probe that measured nothing could not pass.
 */
class AttentionMemoryTest {
    private static final int B = 1, H = 1, D = 32;

    /**
     * S = 2048 and 4096, each the pass with the fewest heap bytes of four: until C2 has compiled the Vector API code,
     * its interpreted and C1 fallbacks box every vector (a first pass allocated 500-600 MiB at S = 2048 against 5 MiB
     * warm), and on a busy CI machine the second pass was not always warm yet (80 and 312 MiB, a false 3.9x).
     */
    private static AttentionMemoryProbe.Result[] atTwoLengths(AttentionBackend backend) {
        AttentionMemoryProbe.Result[] r = new AttentionMemoryProbe.Result[2];
        for (int pass = 0; pass < 4; pass++)
            for (int i = 0; i < 2; i++) {
                var now = AttentionMemoryProbe.measure(Device.CPU, backend, DType.F32, B, H, 2048 << i, D);
                if (r[i] == null || now.heapBytes() < r[i].heapBytes()) r[i] = now;
            }
        return r;
    }

    private static String seen(AttentionMemoryProbe.Result[] r) {
        return "S=2048: " + r[0] + "; S=4096: " + r[1] + "; score matrix at 4096: " + r[1].scoreMatrixBytes() + " B";
    }

    @Test
    void flashCpuAllocatesLinearlyInSequenceLength() {
        AttentionMemoryProbe.Result[] r = atTwoLengths(AttentionBackend.FLASH_CPU);
        double heapGrowth = (double) r[1].heapBytes() / r[0].heapBytes();
        // linear data (copies of q, k, v, o, gradients) plus a small GEMM job object per tile product, whose count
        // grows with the tiles (S² / 4096): 2.2x seen, against 4x for anything holding S x S
        assertTrue(r[0].heapBytes() > 0 && heapGrowth < 3.0, "doubling S should about double FLASH_CPU's allocations: " + seen(r));
        assertTrue(r[1].heapBytes() < r[1].scoreMatrixBytes() / 2, "FLASH_CPU allocated on the order of the score matrix: " + seen(r));
        assertTrue(r[1].backwardExtraBytes() < r[1].scoreMatrixBytes() / 8, "FLASH_CPU tensor storage beyond results: " + seen(r));
    }

    @Test
    void probeSeesTheQuadraticMemoryOfTheMathBackend() {
        AttentionMemoryProbe.Result[] r = atTwoLengths(AttentionBackend.MATH);
        double heapGrowth = (double) r[1].heapBytes() / r[0].heapBytes();
        assertTrue(heapGrowth > 3.3 && r[1].backwardExtraBytes() >= r[1].scoreMatrixBytes(),
                "MATH holds S x S scores, so its allocations should grow about 4x when S doubles: " + seen(r));
    }
}
