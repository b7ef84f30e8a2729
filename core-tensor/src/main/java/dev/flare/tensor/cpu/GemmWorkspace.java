package dev.flare.tensor.cpu;

/**
 * Per-thread GEMM scratch space, kept across calls so that a training step's many GEMMs allocate nothing:
 * the packed A block and B panels, the tile for clipped write-back of edge tiles, the row claims.
 */
final class GemmWorkspace {
    private static final ThreadLocal<GemmWorkspace> LOCAL = ThreadLocal.withInitial(GemmWorkspace::new);

    static GemmWorkspace get() {
        return LOCAL.get();
    }

    private int[] claims = new int[0];
    private float[] packAF32 = new float[0], packBF32 = new float[0];
    private double[] packAF64 = new double[0], packBF64 = new double[0];
    final float[] tileF32 = new float[GemmKernel.MAX_MR * GemmKernelF32.NR_];
    final double[] tileF64 = new double[GemmKernel.MAX_MR * GemmKernelF64.NR_];

    /** Room for {row0, row1} pairs of the blocks of rows this thread claimed. */
    int[] claims(int len) {
        if (claims.length < len) {
            claims = new int[len];
        }
        return claims;
    }

    float[] packAF32(int len) {
        if (packAF32.length < len) {
            packAF32 = new float[len];
        }
        return packAF32;
    }

    float[] packBF32(int len) {
        if (packBF32.length < len) {
            packBF32 = new float[len];
        }
        return packBF32;
    }

    double[] packAF64(int len) {
        if (packAF64.length < len) {
            packAF64 = new double[len];
        }
        return packAF64;
    }

    double[] packBF64(int len) {
        if (packBF64.length < len) {
            packBF64 = new double[len];
        }
        return packBF64;
    }
}
