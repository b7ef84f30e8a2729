package dev.flare.tensor.cpu;

/**
 * The element-type specific half of the GEMM: packing, the MR x NR micro-kernel, and the plain loops for
 * tiny and K = 0 problems. Arrays travel as Object (float[] or double[]) so that one loop nest
 * ({@link GemmBlocked}) drives both types; its call sites see only the two implementations
 * {@link GemmKernelF32} and {@link GemmKernelF64} (twins), which the JIT can inline (bimorphic calls).
 *
 * <p>Packed layouts. A panel of A: MR rows by kc steps of K, stored k-major (the MR values of step p at
 * {@code p*MR}), rows past the edge of A zero. A panel of B: kc steps by NR columns, stored k-major (the
 * NR values of step p at {@code p*NR}), columns past the edge of B zero.
 */
abstract class GemmKernel {
    /** The tallest micro-tile: the size of the workspace's tile for edge write-back is MAX_MR x NR. */
    static final int MAX_MR = 8;

    /** Micro-tile height and width; blocking sizes rounded to multiples of them. */
    final int MR, NR, MC, NC;

    /**
     * Micro-tile height for vectors of vectorBits bits: 4 rows (8 accumulators, 14 vectors live in the
     * inner loop) on x86 without AVX-512, whose 16 vector registers cannot hold the 8-row tile (C2 spilled
     * it there, see {@link GemmKernelF32#microKernel4x2W}); 8 rows (16 accumulators, 19 vectors) with
     * AVX-512 or on AArch64 (32 registers), and on other architectures (not measured).
     * {@code -Dflare.cpu.gemm.mr=4|8} overrides.
     */
    static int defaultRows(int vectorBits) {
        String forced = System.getProperty("flare.cpu.gemm.mr");
        if (forced != null) {
            if (!forced.equals("4") && !forced.equals("8")) {
                throw new IllegalArgumentException("flare.cpu.gemm.mr: expected 4 or 8, got '" + forced + "'");
            }
            return Integer.parseInt(forced);
        }
        String arch = System.getProperty("os.arch", "");
        boolean x86 = arch.equals("amd64") || arch.equals("x86_64");
        return !x86 || vectorBits >= 512 ? 8 : 4;
    }

    GemmKernel(int mr, int nr) {
        MR = mr;
        NR = nr;
        MC = CpuGemm.roundUp(CpuGemm.MC, mr);
        NC = CpuGemm.roundUp(CpuGemm.NC, nr);
    }

    /** This thread's buffer for packed A blocks, at least len elements. */
    abstract Object bufferA(GemmWorkspace ws, int len);

    /** This thread's buffer for packed B panels, at least len elements. */
    abstract Object bufferB(GemmWorkspace ws, int len);

    /** Packs mr (<= MR) rows by kc steps of A, from a[off + r*rs + p*cs], into one A panel at ap[ao]. */
    abstract void packA(Object a, int off, int rs, int cs, int kc, int mr, Object ap, int ao);

    /** Packs kc steps by nr (<= NR) columns of B, from b[off + p*rs + n*cs], into one B panel at bp[bo]. */
    abstract void packB(Object b, int off, int rs, int cs, int kc, int nr, Object bp, int bo);

    /**
     * C tile (mr x nr, at c[ci + r*crs + n*ccs]) = (overwrite ? 0 : C tile) + A panel x B panel over kc
     * steps.
     */
    abstract void microKernel(int kc, Object ap, int ao, Object bp, int bo, Object c, int ci, int crs, int ccs,
                              int mr, int nr, boolean overwrite, GemmWorkspace ws);

    /** Sets an M x N strided block of C to zero (K = 0 without accumulate). */
    abstract void zero(Object c, int off, int rs, int cs, int M, int N);

    /** Batch item bi of a problem too small to pay for packing: a dot product per element of C. */
    abstract void tinyLoop(GemmJob j, int bi, boolean accumulate);
}
