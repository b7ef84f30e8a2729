package dev.flare.tensor.cuda;

import dev.flare.tensor.Tensor;

import java.util.Arrays;
import java.util.function.Consumer;

/**
 * The shared shape of several operands with their own strides and offsets (in elements), coalesced for a kernel:
 * size-1 dims dropped, and adjacent dims merged where every operand is contiguous across them (so a contiguous
 * tensor becomes one dim). Writes the {@code Geom<N>} struct of {@code flare_cuda.cuh}:
 * {@code rank, numel, sizes[8], strides[N][8], offsets[N]}, all 64-bit.
 *
 * <p>Kernels index with 32-bit arithmetic when the rank is at least 2, and know at most {@value #MAX_DIMS} dims;
 * {@link #forEachLaunch} splits anything larger into several launches (leading dims iterated here), so any
 * geometry works. Pure host code: unit-tested without a GPU.
 */
final class StridedGeometry {
    static final int MAX_DIMS = 8;
    /** A launch of rank >= 2 must have fewer elements than this (32-bit index arithmetic in the kernels). */
    static final long INDEX_LIMIT = 1L << 31;

    final int operands;
    final int rank;
    final long numel;
    final long[] sizes;
    final long[][] strides;
    final long[] offsets;

    private StridedGeometry(int operands, int rank, long numel, long[] sizes, long[][] strides, long[] offsets) {
        this.operands = operands;
        this.rank = rank;
        this.numel = numel;
        this.sizes = sizes;
        this.strides = strides;
        this.offsets = offsets;
    }

    /** The geometry of {@code tensors} (each of {@code shape}) over that shape. */
    static StridedGeometry of(int[] shape, Tensor... tensors) {
        long[][] st = new long[tensors.length][];
        long[] off = new long[tensors.length];
        for (int k = 0; k < tensors.length; k++) {
            if (!Arrays.equals(tensors[k].shape(), shape))
                throw new IllegalArgumentException("operand " + k + " has shape " + Arrays.toString(tensors[k].shape())
                        + ", expected " + Arrays.toString(shape));
            st[k] = tensors[k].strides();
            off[k] = tensors[k].offset();
        }
        long[] s = new long[shape.length];
        for (int d = 0; d < shape.length; d++) s[d] = shape[d];
        return of(s, st, off);
    }

    /** Coalesces a geometry given dim by dim (outermost first). */
    static StridedGeometry of(long[] shape, long[][] strides, long[] offsets) {
        int k = strides.length;
        long numel = 1;
        for (long s : shape) numel *= s;
        long[] sizes = new long[shape.length];
        long[][] st = new long[k][shape.length];
        int rank = 0;
        if (numel > 0) {
            for (int d = 0; d < shape.length; d++) {
                if (shape[d] == 1) continue;
                boolean merge = rank > 0;
                for (int i = 0; merge && i < k; i++) merge = st[i][rank - 1] == strides[i][d] * shape[d];
                if (merge) {
                    sizes[rank - 1] *= shape[d];
                    for (int i = 0; i < k; i++) st[i][rank - 1] = strides[i][d];
                } else {
                    sizes[rank] = shape[d];
                    for (int i = 0; i < k; i++) st[i][rank] = strides[i][d];
                    rank++;
                }
            }
        }
        long[][] stTrim = new long[k][];
        for (int i = 0; i < k; i++) stTrim[i] = Arrays.copyOf(st[i], rank);
        return new StridedGeometry(k, rank, numel, Arrays.copyOf(sizes, rank), stTrim, offsets.clone());
    }

    boolean isEmpty() { return numel == 0; }

    /** True when every operand is a single unit-stride run (possibly of one element). */
    boolean isFlat() {
        if (rank == 0) return true;
        if (rank > 1) return false;
        for (long[] s : strides) if (s[0] != 1) return false;
        return true;
    }

    /** True when operand k is one unit-stride run (the others may be anything). */
    boolean isFlat(int k) { return rank == 0 || (rank == 1 && strides[k][0] == 1); }

    /** Number of 64-bit words of the Geom struct for {@code n} operands. */
    static int structWords(int n) { return 2 + MAX_DIMS + n * MAX_DIMS + n; }

    /** Passes the Geom struct of each launch needed to cover the geometry (none when it is empty). */
    void forEachLaunch(Consumer<long[]> launch) {
        if (numel == 0) return;
        split(0, offsets.clone(), launch);
    }

    /** The number of launches {@link #forEachLaunch} makes (for tests). */
    int launchCount() {
        int[] n = new int[1];
        forEachLaunch(s -> n[0]++);
        return n[0];
    }

    private long numelFrom(int start) {
        long n = 1;
        for (int d = start; d < rank; d++) n *= sizes[d];
        return n;
    }

    private void split(int start, long[] offs, Consumer<long[]> launch) {
        int r = rank - start;
        long n = numelFrom(start);
        if (r <= MAX_DIMS && (r <= 1 || n < INDEX_LIMIT)) {
            launch.accept(struct(start, r > 0 ? sizes[start] : 1, offs, r, n));
            return;
        }
        long inner = numelFrom(start + 1);
        if (r > MAX_DIMS || inner >= INDEX_LIMIT) {
            // Iterate the leading dim here.
            for (long i = 0; i < sizes[start]; i++) {
                long[] o = new long[operands];
                for (int k = 0; k < operands; k++) o[k] = offs[k] + i * strides[k][start];
                split(start + 1, o, launch);
            }
            return;
        }
        // Fits the dim limit but has too many elements: chunk the leading dim.
        long chunk = Math.max(1, (INDEX_LIMIT - 1) / inner);
        for (long c = 0; c < sizes[start]; c += chunk) {
            long len = Math.min(chunk, sizes[start] - c);
            long[] o = new long[operands];
            for (int k = 0; k < operands; k++) o[k] = offs[k] + c * strides[k][start];
            launch.accept(struct(start, len, o, r, len * inner));
        }
    }

    /** The struct for dims [start, rank) with the size of dim `start` replaced by firstSize. */
    private long[] struct(int start, long firstSize, long[] offs, int r, long n) {
        int k = operands;
        long[] w = new long[structWords(k)];
        w[0] = r;
        w[1] = n;
        for (int d = 0; d < r; d++) {
            w[2 + d] = d == 0 ? firstSize : sizes[start + d];
            for (int i = 0; i < k; i++) w[2 + MAX_DIMS + i * MAX_DIMS + d] = strides[i][start + d];
        }
        for (int i = 0; i < k; i++) w[2 + MAX_DIMS + k * MAX_DIMS + i] = offs[i];
        return w;
    }

    /** The element offsets a kernel computes from a struct for linear index i (mirrors geom_offsets; for tests). */
    static long[] kernelOffsets(long[] struct, int operands, long i) {
        long[] off = new long[operands];
        int r = (int) struct[0];
        for (int k = 0; k < operands; k++) off[k] = struct[2 + MAX_DIMS + operands * MAX_DIMS + k];
        if (r <= 1) {
            for (int k = 0; k < operands; k++) off[k] += i * struct[2 + MAX_DIMS + k * MAX_DIMS];
            return off;
        }
        if (struct[1] >= INDEX_LIMIT) throw new IllegalStateException("rank " + r + " launch of " + struct[1] + " elements");
        long rem = i;
        for (int d = r - 1; d >= 0; d--) {
            long s = struct[2 + d];
            long idx = rem % s;
            rem /= s;
            for (int k = 0; k < operands; k++) off[k] += idx * struct[2 + MAX_DIMS + k * MAX_DIMS + d];
        }
        return off;
    }

    /**
     * The {@code Rows<N>} struct of {@code flare_cuda.cuh} ({@code rank, rows, sizes[8], strides[N][8], offsets[N],
     * len, inner[N]}) for operands that share the row dims {@code rowShape} (their own strides for those dims,
     * their offsets), rows of {@code len} elements with stride {@code inner[k]} along the row. Returns null when
     * the coalesced row dims do not fit one launch (more than 8 dims, or 2^31 rows or more with rank >= 2); the
     * caller then makes contiguous copies with the row dim last.
     */
    static long[] rowsStruct(int[] rowShape, long[][] strides, long[] offsets, long len, long[] inner) {
        long[] shape = new long[rowShape.length];
        for (int d = 0; d < shape.length; d++) shape[d] = rowShape[d];
        StridedGeometry g = of(shape, strides, offsets);
        if (g.rank > MAX_DIMS || (g.rank >= 2 && g.numel >= INDEX_LIMIT)) return null;
        int k = strides.length;
        long[] w = new long[2 + MAX_DIMS + k * MAX_DIMS + k + 1 + k];
        w[0] = g.rank;
        w[1] = g.numel;
        for (int d = 0; d < g.rank; d++) {
            w[2 + d] = g.sizes[d];
            for (int i = 0; i < k; i++) w[2 + MAX_DIMS + i * MAX_DIMS + d] = g.strides[i][d];
        }
        int o = 2 + MAX_DIMS + k * MAX_DIMS;
        for (int i = 0; i < k; i++) w[o + i] = offsets[i];
        w[o + k] = len;
        for (int i = 0; i < k; i++) w[o + k + 1 + i] = inner[i];
        return w;
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("StridedGeometry(numel=" + numel + ", sizes=" + Arrays.toString(sizes));
        for (int k = 0; k < operands; k++)
            sb.append(", op").append(k).append(" strides=").append(Arrays.toString(strides[k])).append(" offset=").append(offsets[k]);
        return sb.append(')').toString();
    }
}
