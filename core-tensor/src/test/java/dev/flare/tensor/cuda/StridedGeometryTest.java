package dev.flare.tensor.cuda;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** Host-side geometry: coalescing, the Geom struct, and splitting into launches. No GPU needed. */
class StridedGeometryTest {
    /** Naive offsets of every element (row-major over shape) for each operand. */
    static long[][] naive(long[] shape, long[][] strides, long[] offsets) {
        long n = 1;
        for (long s : shape) n *= s;
        long[][] out = new long[(int) n][strides.length];
        long[] idx = new long[shape.length];
        for (int i = 0; i < n; i++) {
            for (int k = 0; k < strides.length; k++) {
                long o = offsets[k];
                for (int d = 0; d < shape.length; d++) o += idx[d] * strides[k][d];
                out[i][k] = o;
            }
            for (int d = shape.length - 1; d >= 0; d--) {
                if (++idx[d] < shape[d]) break;
                idx[d] = 0;
            }
        }
        return out;
    }

    /** What the kernels compute over all launches, as a multiset of offset tuples. */
    static Map<String, Integer> launched(StridedGeometry g) {
        Map<String, Integer> seen = new HashMap<>();
        g.forEachLaunch(st -> {
            assertEquals(StridedGeometry.structWords(g.operands), st.length);
            assertTrue(st[0] <= StridedGeometry.MAX_DIMS);
            for (long i = 0; i < st[1]; i++)
                seen.merge(Arrays.toString(StridedGeometry.kernelOffsets(st, g.operands, i)), 1, Integer::sum);
        });
        return seen;
    }

    @Test
    void contiguousCoalescesToOneDim() {
        StridedGeometry g = StridedGeometry.of(new long[]{4, 5, 6}, new long[][]{{30, 6, 1}, {30, 6, 1}}, new long[]{0, 7});
        assertEquals(1, g.rank);
        assertEquals(120, g.numel);
        assertTrue(g.isFlat());
        List<long[]> l = new ArrayList<>();
        g.forEachLaunch(l::add);
        assertEquals(1, l.size());
        assertArrayEquals(new long[]{0, 7}, StridedGeometry.kernelOffsets(l.get(0), 2, 0));
        assertArrayEquals(new long[]{119, 126}, StridedGeometry.kernelOffsets(l.get(0), 2, 119));
    }

    @Test
    void broadcastAndTransposedDoNotMerge() {
        // a (3, 4) contiguous, b broadcast row (stride 0 on dim 0), out transposed view.
        StridedGeometry g = StridedGeometry.of(new long[]{3, 4}, new long[][]{{4, 1}, {0, 1}, {1, 3}}, new long[]{0, 0, 0});
        assertEquals(2, g.rank);
        assertFalse(g.isFlat());
        assertTrue(g.isFlat(0) == false);
    }

    @Test
    void emptyAndScalar() {
        StridedGeometry e = StridedGeometry.of(new long[]{3, 0, 2}, new long[][]{{0, 2, 1}}, new long[]{0});
        assertTrue(e.isEmpty());
        assertEquals(0, e.launchCount());
        StridedGeometry s = StridedGeometry.of(new long[]{1, 1}, new long[][]{{5, 9}}, new long[]{3});
        assertEquals(0, s.rank);
        assertTrue(s.isFlat());
        assertEquals(Map.of("[3]", 1), launched(s));
        StridedGeometry z = StridedGeometry.of(new long[]{}, new long[][]{{}}, new long[]{11});
        assertEquals(Map.of("[11]", 1), launched(z));
    }

    @Test
    void randomLayoutsMatchNaiveIndexing() {
        Random rnd = new Random(42);
        for (int trial = 0; trial < 300; trial++) {
            int rank = rnd.nextInt(6);
            int ops = 1 + rnd.nextInt(4);
            long[] shape = new long[rank];
            for (int d = 0; d < rank; d++) shape[d] = 1 + rnd.nextInt(4);
            long[][] strides = new long[ops][rank];
            long[] offsets = new long[ops];
            for (int k = 0; k < ops; k++) {
                // Random permutation of a contiguous layout, with some broadcast dims and padding.
                int[] perm = shuffled(rank, rnd);
                long s = 1 + rnd.nextInt(2);
                for (int p = rank - 1; p >= 0; p--) {
                    int d = perm[p];
                    strides[k][d] = rnd.nextInt(5) == 0 ? 0 : s;
                    s *= shape[d] + rnd.nextInt(2);
                }
                offsets[k] = rnd.nextInt(10);
            }
            StridedGeometry g = StridedGeometry.of(shape, strides, offsets);
            Map<String, Integer> expect = new HashMap<>();
            for (long[] o : naive(shape, strides, offsets)) expect.merge(Arrays.toString(o), 1, Integer::sum);
            assertEquals(expect, launched(g), () -> "shape " + Arrays.toString(shape) + " strides " + Arrays.deepToString(strides));
        }
    }

    @Test
    void moreThanEightDimsAreSplitIntoLaunches() {
        int rank = 11;
        long[] shape = new long[rank];
        long[][] strides = new long[2][rank];
        Arrays.fill(shape, 2);
        // Operand 0: every dim padded (no merging). Operand 1: reversed dims.
        long s = 1;
        for (int d = rank - 1; d >= 0; d--) {
            strides[0][d] = s;
            s *= 3;
        }
        s = 1;
        for (int d = 0; d < rank; d++) {
            strides[1][d] = s;
            s *= 2;
        }
        StridedGeometry g = StridedGeometry.of(shape, strides, new long[]{1, 2});
        assertEquals(11, g.rank);
        assertEquals(8, g.launchCount(), "three leading dims iterated on the host");
        Map<String, Integer> expect = new HashMap<>();
        for (long[] o : naive(shape, strides, new long[]{1, 2})) expect.merge(Arrays.toString(o), 1, Integer::sum);
        assertEquals(expect, launched(g));
    }

    @Test
    void hugeGeometriesAreChunkedBelowTwoToThe31() {
        // (3000, 1_000_000) with a padded row stride: rank 2, 3e9 elements.
        long[] shape = {3000, 1_000_000};
        StridedGeometry g = StridedGeometry.of(shape, new long[][]{{1_000_064, 1}}, new long[]{0});
        assertEquals(2, g.rank);
        long[] total = {0};
        long[] nextRowStart = {0};
        g.forEachLaunch(st -> {
            assertEquals(2, st[0]);
            assertTrue(st[1] < StridedGeometry.INDEX_LIMIT, "launch of " + st[1]);
            long rows = st[2];
            long offset = st[2 + StridedGeometry.MAX_DIMS + StridedGeometry.MAX_DIMS];
            assertEquals(nextRowStart[0] * 1_000_064, offset, "chunks are consecutive");
            nextRowStart[0] += rows;
            total[0] += st[1];
            // spot-check the last element of the chunk
            long[] last = StridedGeometry.kernelOffsets(st, 1, st[1] - 1);
            assertEquals(offset + (rows - 1) * 1_000_064 + 999_999, last[0]);
        });
        assertEquals(3_000_000_000L, total[0]);
        // Rank 1 needs no chunking whatever the size.
        StridedGeometry flat = StridedGeometry.of(new long[]{5_000_000_000L}, new long[][]{{1}}, new long[]{0});
        assertEquals(1, flat.launchCount());
    }

    @Test
    void rowsStructLayout() {
        // x (2, 3, 5) rows along dim 1 -> row dims (2, 5) with strides (15, 1), inner 5.
        long[] w = StridedGeometry.rowsStruct(new int[]{2, 5}, new long[][]{{15, 1}, {1, 10}}, new long[]{4, 0}, 3, new long[]{5, 2});
        int m = StridedGeometry.MAX_DIMS;
        assertEquals(2 + m + 2 * m + 2 + 1 + 2, w.length);
        assertEquals(2, w[0]);
        assertEquals(10, w[1]);
        assertEquals(2, w[2]);
        assertEquals(5, w[3]);
        assertEquals(15, w[2 + m]);
        assertEquals(1, w[2 + m + 1]);
        assertEquals(1, w[2 + 2 * m]);
        assertEquals(10, w[2 + 2 * m + 1]);
        assertEquals(4, w[2 + 3 * m]);
        assertEquals(0, w[2 + 3 * m + 1]);
        assertEquals(3, w[2 + 3 * m + 2]);
        assertEquals(5, w[2 + 3 * m + 3]);
        assertEquals(2, w[2 + 3 * m + 4]);
        // Contiguous rows coalesce to one dim.
        long[] c = StridedGeometry.rowsStruct(new int[]{4, 6}, new long[][]{{42, 7}}, new long[]{0}, 7, new long[]{1});
        assertEquals(1, c[0]);
        assertEquals(24, c[1]);
    }

    private static int[] shuffled(int n, Random rnd) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) p[i] = i;
        for (int i = n - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1);
            int t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        return p;
    }
}
