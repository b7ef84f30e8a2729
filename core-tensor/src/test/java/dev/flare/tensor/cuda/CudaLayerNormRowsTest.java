package dev.flare.tensor.cuda;

import dev.flare.tensor.DType;
import dev.flare.tensor.Device;
import dev.flare.tensor.HostArrays;
import dev.flare.tensor.Shapes;
import dev.flare.tensor.Storage;
import dev.flare.tensor.Tensor;
import dev.flare.tensor.cpu.CpuBackend;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentSkipListSet;

import static dev.flare.tensor.cuda.CudaTestSupport.*;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The row-group layer norm kernels (forward, backward dx, and the dWeight/dBias stages after them) against the CPU
 * backend on the same random inputs: row lengths at both ends of every (G, P) the launcher picks plus a few odd
 * ones, the vector index map (aligned, whole 16-byte chunks) and the scalar one (odd length or unaligned rows),
 * F32/BF16/F16, weight and bias each present or null (aligned or not), row counts that leave the last groups of a
 * block idle, and grids capped to 2 blocks so that each block takes several passes (next-row prefetch, alternating
 * reduction scratch). Ends by checking that every compiled kernel ran. A fresh seed per run, printed;
 * {@code -Dflare.test.seed=N} replays it.
 */
@Tag("cuda")
class CudaLayerNormRowsTest {
    private static final DType[] TYPES = {DType.F32, DType.BF16, DType.F16};
    /** Lengths asked for by name: tiny, GPT-2 widths, one past a group size, odd, the largest BF16 P = 6. */
    private static final int[] NAMED = {1, 7, 33, 768, 1000, 3072, 4097, 8191, 12288};

    private static long seed() { return Long.getLong("flare.test.seed", System.nanoTime()); }

    private static String replay(long seed) { return "seed " + seed + " (replay with -Dflare.test.seed=" + seed + ")"; }

    /** Per (G, P) picked for t: its shortest and longest row, and one less than the longest; plus NAMED and two too long. */
    static Set<Integer> lengths(DType t) {
        int v = 16 / t.byteSize(), longest = 2048 * v;
        TreeMap<String, int[]> ranges = new TreeMap<>();
        for (int len = 1; len <= longest; len++) {
            int[] s = LayerNormKernels.rowShape(len, t);
            ranges.merge(s[0] + "/" + s[1], new int[]{len, len}, (a, b) -> new int[]{Math.min(a[0], b[0]), Math.max(a[1], b[1])});
        }
        Set<Integer> out = new TreeSet<>();
        for (int[] r : ranges.values()) {
            out.add(r[0]);
            out.add(r[1]);
            if (r[1] - 1 >= r[0]) out.add(r[1] - 1);
        }
        for (int n : NAMED) out.add(n);
        out.add(longest + 1);
        out.add(longest + v);
        return out;
    }

    @Test
    void rowGroupKernelsMatchTheCpu() {
        CudaBackend gpu = gpu();
        long seed = seed();
        System.out.println("CudaLayerNormRowsTest " + replay(seed));
        Random rnd = new Random(seed);
        Set<String> ran = new ConcurrentSkipListSet<>();
        LayerNormKernels.launchesForTests = ran::add;
        try {
            for (DType t : TYPES)
                for (int len : lengths(t)) {
                    // not a multiple of the 8, 4 or 2 rows per block; fewer for long rows (CPU time)
                    int rows = len <= 2048 ? 61 : 13;
                    int combo = 0;
                    for (Layout l : new Layout[]{Layout.CONTIGUOUS, Layout.OFFSET})
                        for (boolean hasW : new boolean[]{true, false})
                            for (boolean hasB : new boolean[]{true, false}) {
                                Layout pl = combo++ % 2 == 0 ? Layout.CONTIGUOUS : Layout.OFFSET;
                                check(gpu, rnd, seed, t, rows, len, l, hasW, hasB, pl, 0);
                            }
                    for (Layout l : new Layout[]{Layout.CONTIGUOUS, Layout.OFFSET})
                        check(gpu, rnd, seed, t, rows, len, l, true, true, Layout.OFFSET, 2);
                }
            // Many rows on the full grid: blocks take several passes at their real occupancy.
            for (DType t : TYPES)
                for (int len : new int[]{64, 63})
                    check(gpu, rnd, seed, t, 50_001, len, Layout.CONTIGUOUS, true, true, Layout.CONTIGUOUS, 0);
        } finally {
            LayerNormKernels.launchesForTests = null;
        }
        Set<String> expected = new TreeSet<>();
        for (DType t : TYPES)
            for (String gp : LayerNormRowShapeTest.COMPILED)
                for (String map : new String[]{"_v", "_s"})
                    for (String dir : new String[]{"layernorm_fwd_rows_", "layernorm_bwd_dx_rows_"})
                        expected.add(dir + ElementwiseKernels.suffix(t) + "_" + gp + map);
        expected.removeAll(ran);
        assertEquals(Set.of(), expected, "row-group kernels that never ran, " + replay(seed));
    }

    /** One case on both backends: forward, backward with w (dx, dw, db) or without (dx). */
    private static void check(CudaBackend gpu, Random rnd, long seed, DType t, int rows, int len, Layout layout,
                              boolean hasW, boolean hasB, Layout paramLayout, int maxGrid) {
        CpuBackend cpu = CpuBackend.INSTANCE;
        double eps = 1e-5;
        double[] xv = random(rnd, t, rows * len, -3, 5), dyv = random(rnd, t, rows * len, -1, 1);
        double[] wv = random(rnd, t, len, 0.5, 1.5), bv = random(rnd, t, len, -1, 1);
        String what = "layerNorm " + t + " " + rows + "x" + len + " " + layout + (hasW ? " w" : "") + (hasB ? " b" : "")
                + " " + paramLayout + (maxGrid > 0 ? " grid<=" + maxGrid : "") + ", " + replay(seed);

        Tensor cx = host(cpu, t, xv, rows, len), cdy = host(cpu, t, dyv, rows, len);
        Tensor cw = hasW ? host(cpu, t, wv, len) : null, cb = hasB ? host(cpu, t, bv, len) : null;
        Tensor cy = onCpu(t, rows, len), cmu = onCpu(DType.F32, rows), crs = onCpu(DType.F32, rows);
        cpu.layerNorm(cx, cw, cb, eps, cy, cmu, crs);
        Tensor cdx = onCpu(t, rows, len), cdw = hasW ? onCpu(t, len) : null, cdb = hasW ? onCpu(t, len) : null;
        cpu.layerNormBackward(cdy, cx, cw, cmu, crs, cdx, cdw, cdb);

        Tensor x = tensor(gpu, t, xv, new int[]{rows, len}, layout), dy = tensor(gpu, t, dyv, new int[]{rows, len}, layout);
        Tensor w = hasW ? tensor(gpu, t, wv, new int[]{len}, paramLayout) : null;
        Tensor b = hasB ? tensor(gpu, t, bv, new int[]{len}, paramLayout) : null;
        Tensor y = output(gpu, t, rows, len), mu = output(gpu, DType.F32, rows), rs = output(gpu, DType.F32, rows);
        // the backward from the CPU's statistics, so that it is checked on its own
        Tensor cpuMu = tensor(gpu, DType.F32, values(cmu), rows), cpuRs = tensor(gpu, DType.F32, values(crs), rows);
        Tensor dx = output(gpu, t, rows, len), dw = hasW ? output(gpu, t, len) : null, db = hasW ? output(gpu, t, len) : null;
        LayerNormKernels.maxGridForTests = maxGrid;
        try {
            gpu.layerNorm(x, w, b, eps, y, mu, rs);
            gpu.layerNormBackward(dy, x, w, cpuMu, cpuRs, dx, dw, db);
        } finally {
            LayerNormKernels.maxGridForTests = 0;
        }
        assertClose(what + " y", values(cy), values(y), CudaNNTest.rt(t) * 4, CudaNNTest.at(t) * 8);
        assertClose(what + " mean", values(cmu), values(mu), 1e-4, 1e-5);
        assertClose(what + " rstd", values(crs), values(rs), 1e-4, 1e-5);
        assertClose(what + " dx", values(cdx), values(dx), CudaNNTest.rt(t) * 10, CudaNNTest.at(t) * 50);
        if (hasW) {
            double scale = Math.sqrt(rows);
            assertClose(what + " dWeight", values(cdw), values(dw), CudaNNTest.rt(t) * 10, CudaNNTest.at(t) * 50 * scale);
            assertClose(what + " dBias", values(cdb), values(db), CudaNNTest.rt(t) * 10, CudaNNTest.at(t) * 50 * scale);
        }
        for (Tensor d : new Tensor[]{x, dy, w, b, y, mu, rs, cpuMu, cpuRs, dx, dw, db}) if (d != null) d.release();
    }

    private static Tensor onCpu(DType t, int... shape) { return Tensor.empty(t, Device.CPU, shape); }

    /** A contiguous CPU tensor holding values (already representable in t). */
    private static Tensor host(CpuBackend cpu, DType t, double[] values, int... shape) {
        int n = (int) Shapes.numel(shape);
        Storage st = cpu.allocate(t, n);
        Object a = HostArrays.allocate(t, n);
        for (int i = 0; i < n; i++) set(t, a, i, values[i]);
        st.copyFromHost(a, 0, 0, n);
        return Tensor.of(st, shape, Shapes.contiguousStrides(shape), 0);
    }
}
