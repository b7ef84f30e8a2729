package dev.flare.tensor.cuda;

import dev.flare.tensor.DType;
import org.junit.jupiter.api.Test;

import java.util.Set;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Which row-group layer norm kernel (threads per row G, 16-byte chunks per thread P) the launcher picks for a row
 * length: the smallest G with P <= 4, then G = 256 with 6 or 8, then none (the general kernel). No GPU needed.
 */
class LayerNormRowShapeTest {
    /** The (G, P) compiled in LayerNormKernels.cu (LN_TYPE), as "gG_pP". */
    static final Set<String> COMPILED = Set.of("g32_p1", "g32_p2", "g32_p3", "g32_p4", "g64_p3", "g64_p4",
            "g128_p3", "g128_p4", "g256_p3", "g256_p4", "g256_p6", "g256_p8");

    static String name(int[] shape) { return "g" + shape[0] + "_p" + shape[1]; }

    @Test
    void picksTheSmallestGroupWithAtMostFourChunks() {
        // BF16: 8 elements per chunk
        int[][] bf16 = {{1, 32, 1}, {256, 32, 1}, {257, 32, 2}, {768, 32, 3}, {1000, 32, 4}, {1024, 32, 4},
                {1025, 64, 3}, {2048, 64, 4}, {2049, 128, 3}, {3072, 128, 3}, {4096, 128, 4}, {4097, 256, 3},
                {8191, 256, 4}, {8192, 256, 4}, {8193, 256, 6}, {12288, 256, 6}, {12289, 256, 8}, {16384, 256, 8}};
        for (int[] c : bf16) {
            assertArrayEquals(new int[]{c[1], c[2]}, LayerNormKernels.rowShape(c[0], DType.BF16), "BF16 len " + c[0]);
            assertArrayEquals(new int[]{c[1], c[2]}, LayerNormKernels.rowShape(c[0], DType.F16), "F16 len " + c[0]);
        }
        // F32: 4 elements per chunk, so every threshold at half the length
        int[][] f32 = {{1, 32, 1}, {128, 32, 1}, {129, 32, 2}, {768, 64, 3}, {3072, 256, 3}, {4096, 256, 4},
                {6144, 256, 6}, {8192, 256, 8}};
        for (int[] c : f32)
            assertArrayEquals(new int[]{c[1], c[2]}, LayerNormKernels.rowShape(c[0], DType.F32), "F32 len " + c[0]);
    }

    @Test
    void rowsPastTwoThousandChunksTakeTheGeneralKernel() {
        assertNull(LayerNormKernels.rowShape(16385, DType.BF16));
        assertNull(LayerNormKernels.rowShape(16392, DType.F16));
        assertNull(LayerNormKernels.rowShape(8193, DType.F32));
        assertNull(LayerNormKernels.rowShape(1L << 31, DType.F32));
    }

    @Test
    void everyCompiledKernelIsReachedAndNoOther() {
        for (DType t : new DType[]{DType.F32, DType.BF16, DType.F16}) {
            Set<String> seen = new TreeSet<>();
            int v = 16 / t.byteSize();
            for (int len = 1; len <= 2048 * v; len++) {
                int[] s = LayerNormKernels.rowShape(len, t);
                assertNotNull(s, t + " len " + len);
                assertTrue((long) s[0] * s[1] * v >= len, t + " len " + len + " does not fit " + name(s));
                seen.add(name(s));
            }
            assertEquals(new TreeSet<>(COMPILED), seen, t.toString());
        }
    }
}
