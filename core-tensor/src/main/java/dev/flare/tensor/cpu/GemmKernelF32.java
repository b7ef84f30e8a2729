package dev.flare.tensor.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * F32 packing and the 8 x 2W and 4 x 2W micro-kernels (W = lanes of the preferred vector: 16 with AVX-512,
 * 8 with AVX2; the height by {@link GemmKernel#defaultRows}), see {@link GemmKernel} for the packed layouts.
 *
 * <p>TWIN: {@link GemmKernelF64} is this file with float -> double, Float -> Double, F32 -> F64 and the
 * literal 0f -> 0d; only this class comment differs. Change both together (GemmKernelTwinsTest checks).
 * They are copies, not one generic class, because Java generics do not reach primitive arrays and the
 * Vector API's loads and stores are per element type.
 */
final class GemmKernelF32 extends GemmKernel {
    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int W = S.length();
    static final int NR_ = 2 * W;
    /** The two micro-tile heights (tests run both); INSTANCE is the one for this machine's vector registers. */
    static final GemmKernelF32 ROWS_8 = new GemmKernelF32(8), ROWS_4 = new GemmKernelF32(4);
    static final GemmKernelF32 INSTANCE = defaultRows(S.vectorBitSize()) == 8 ? ROWS_8 : ROWS_4;

    private GemmKernelF32(int rows) {
        super(rows, NR_);
    }

    @Override
    Object bufferA(GemmWorkspace ws, int len) {
        return ws.packAF32(len);
    }

    @Override
    Object bufferB(GemmWorkspace ws, int len) {
        return ws.packBF32(len);
    }

    @Override
    void packA(Object src, int off, int rs, int cs, int kc, int mr, Object dst, int ao) {
        float[] a = (float[]) src, ap = (float[]) dst;
        if (mr == MR) {
            if (rs == 1) {
                // A stored column-major (a transposed view): each step's MR values are adjacent.
                for (int p = 0, s = off, d = ao; p < kc; p++, s += cs, d += MR) {
                    for (int r = 0; r < MR; r++) {
                        ap[d + r] = a[s + r];
                    }
                }
            } else {
                // Row by row, so that the reads of A are sequential when it is row-major.
                for (int r = 0; r < MR; r++) {
                    for (int p = 0, s = off + r * rs, d = ao + r; p < kc; p++, s += cs, d += MR) {
                        ap[d] = a[s];
                    }
                }
            }
            return;
        }
        for (int p = 0, d = ao; p < kc; p++, d += MR) {
            int s = off + p * cs;
            for (int r = 0; r < MR; r++) {
                ap[d + r] = r < mr ? a[s + r * rs] : 0f;
            }
        }
    }

    @Override
    void packB(Object src, int off, int rs, int cs, int kc, int nr, Object dst, int bo) {
        float[] b = (float[]) src, bp = (float[]) dst;
        if (nr == NR_ && cs == 1) {
            // B row-major: each step's NR values are two vector loads.
            for (int p = 0, s = off, d = bo; p < kc; p++, s += rs, d += NR_) {
                FloatVector.fromArray(S, b, s).intoArray(bp, d);
                FloatVector.fromArray(S, b, s + W).intoArray(bp, d + W);
            }
            return;
        }
        if (nr == NR_) {
            // Column by column, so that the reads of B are sequential when it is column-major.
            for (int n = 0; n < NR_; n++) {
                for (int p = 0, s = off + n * cs, d = bo + n; p < kc; p++, s += rs, d += NR_) {
                    bp[d] = b[s];
                }
            }
            return;
        }
        for (int p = 0, d = bo; p < kc; p++, d += NR_) {
            int s = off + p * rs;
            for (int n = 0; n < NR_; n++) {
                bp[d + n] = n < nr ? b[s + n * cs] : 0f;
            }
        }
    }

    @Override
    void microKernel(int kc, Object ap, int ao, Object bp, int bo, Object c, int ci, int crs, int ccs,
                     int mr, int nr, boolean overwrite, GemmWorkspace ws) {
        if (MR == 8) {
            microKernel8x2W(kc, (float[]) ap, ao, (float[]) bp, bo, (float[]) c, ci, crs, ccs, mr, nr, overwrite,
                    ws.tileF32);
        } else {
            microKernel4x2W(kc, (float[]) ap, ao, (float[]) bp, bo, (float[]) c, ci, crs, ccs, mr, nr, overwrite,
                    ws.tileF32);
        }
    }

    /**
     * 8 x 2W register tile, for machines with 32 vector registers (AVX-512, AArch64): per step of K, two
     * vectors of B and eight broadcasts of A feed sixteen FMAs into sixteen accumulators. Full tiles with
     * unit column stride go straight to C; others (edges, strided C) go through tile and
     * {@link #storeClippedTile}.
     */
    static void microKernel8x2W(int kc, float[] ap, int ao, float[] bp, int bo, float[] c, int ci, int crs,
                                int ccs, int mr, int nr, boolean overwrite, float[] tile) {
        FloatVector c00 = FloatVector.zero(S), c01 = FloatVector.zero(S);
        FloatVector c10 = FloatVector.zero(S), c11 = FloatVector.zero(S);
        FloatVector c20 = FloatVector.zero(S), c21 = FloatVector.zero(S);
        FloatVector c30 = FloatVector.zero(S), c31 = FloatVector.zero(S);
        FloatVector c40 = FloatVector.zero(S), c41 = FloatVector.zero(S);
        FloatVector c50 = FloatVector.zero(S), c51 = FloatVector.zero(S);
        FloatVector c60 = FloatVector.zero(S), c61 = FloatVector.zero(S);
        FloatVector c70 = FloatVector.zero(S), c71 = FloatVector.zero(S);
        int a = ao, b = bo;
        for (int p = 0; p < kc; p++) {
            FloatVector b0 = FloatVector.fromArray(S, bp, b);
            FloatVector b1 = FloatVector.fromArray(S, bp, b + W);
            FloatVector a0 = FloatVector.broadcast(S, ap[a]);
            c00 = a0.fma(b0, c00); c01 = a0.fma(b1, c01);
            FloatVector a1 = FloatVector.broadcast(S, ap[a + 1]);
            c10 = a1.fma(b0, c10); c11 = a1.fma(b1, c11);
            FloatVector a2 = FloatVector.broadcast(S, ap[a + 2]);
            c20 = a2.fma(b0, c20); c21 = a2.fma(b1, c21);
            FloatVector a3 = FloatVector.broadcast(S, ap[a + 3]);
            c30 = a3.fma(b0, c30); c31 = a3.fma(b1, c31);
            FloatVector a4 = FloatVector.broadcast(S, ap[a + 4]);
            c40 = a4.fma(b0, c40); c41 = a4.fma(b1, c41);
            FloatVector a5 = FloatVector.broadcast(S, ap[a + 5]);
            c50 = a5.fma(b0, c50); c51 = a5.fma(b1, c51);
            FloatVector a6 = FloatVector.broadcast(S, ap[a + 6]);
            c60 = a6.fma(b0, c60); c61 = a6.fma(b1, c61);
            FloatVector a7 = FloatVector.broadcast(S, ap[a + 7]);
            c70 = a7.fma(b0, c70); c71 = a7.fma(b1, c71);
            a += 8;
            b += NR_;
        }
        if (mr == 8 && nr == NR_ && ccs == 1) {
            int r = ci;
            if (overwrite) {
                c00.intoArray(c, r); c01.intoArray(c, r + W); r += crs;
                c10.intoArray(c, r); c11.intoArray(c, r + W); r += crs;
                c20.intoArray(c, r); c21.intoArray(c, r + W); r += crs;
                c30.intoArray(c, r); c31.intoArray(c, r + W); r += crs;
                c40.intoArray(c, r); c41.intoArray(c, r + W); r += crs;
                c50.intoArray(c, r); c51.intoArray(c, r + W); r += crs;
                c60.intoArray(c, r); c61.intoArray(c, r + W); r += crs;
                c70.intoArray(c, r); c71.intoArray(c, r + W);
            } else {
                c00.add(FloatVector.fromArray(S, c, r)).intoArray(c, r);
                c01.add(FloatVector.fromArray(S, c, r + W)).intoArray(c, r + W);
                r += crs;
                c10.add(FloatVector.fromArray(S, c, r)).intoArray(c, r);
                c11.add(FloatVector.fromArray(S, c, r + W)).intoArray(c, r + W);
                r += crs;
                c20.add(FloatVector.fromArray(S, c, r)).intoArray(c, r);
                c21.add(FloatVector.fromArray(S, c, r + W)).intoArray(c, r + W);
                r += crs;
                c30.add(FloatVector.fromArray(S, c, r)).intoArray(c, r);
                c31.add(FloatVector.fromArray(S, c, r + W)).intoArray(c, r + W);
                r += crs;
                c40.add(FloatVector.fromArray(S, c, r)).intoArray(c, r);
                c41.add(FloatVector.fromArray(S, c, r + W)).intoArray(c, r + W);
                r += crs;
                c50.add(FloatVector.fromArray(S, c, r)).intoArray(c, r);
                c51.add(FloatVector.fromArray(S, c, r + W)).intoArray(c, r + W);
                r += crs;
                c60.add(FloatVector.fromArray(S, c, r)).intoArray(c, r);
                c61.add(FloatVector.fromArray(S, c, r + W)).intoArray(c, r + W);
                r += crs;
                c70.add(FloatVector.fromArray(S, c, r)).intoArray(c, r);
                c71.add(FloatVector.fromArray(S, c, r + W)).intoArray(c, r + W);
            }
        } else {
            c00.intoArray(tile, 0); c01.intoArray(tile, W);
            c10.intoArray(tile, 2 * W); c11.intoArray(tile, 3 * W);
            c20.intoArray(tile, 4 * W); c21.intoArray(tile, 5 * W);
            c30.intoArray(tile, 6 * W); c31.intoArray(tile, 7 * W);
            c40.intoArray(tile, 8 * W); c41.intoArray(tile, 9 * W);
            c50.intoArray(tile, 10 * W); c51.intoArray(tile, 11 * W);
            c60.intoArray(tile, 12 * W); c61.intoArray(tile, 13 * W);
            c70.intoArray(tile, 14 * W); c71.intoArray(tile, 15 * W);
            storeClippedTile(tile, c, ci, crs, ccs, mr, nr, overwrite);
        }
    }

    /**
     * 4 x 2W register tile, for machines with 16 vector registers (AVX2): eight accumulators, two vectors
     * of B and four broadcasts of A, no spills. The 8 x 2W tile's nineteen live vectors do not fit in
     * sixteen; C2 kept five accumulators on the stack, and each spilled accumulator puts a store and a
     * reload on its FMA chain every step of K (a 6 x 2W tile still spilled one). On an AMD Zen 3 (AVX2),
     * single precision, one thread ran at about 40 GFLOP/s with 8 x 2W, 31 with 6 x 2W and 66-78 with this
     * one, against OpenBLAS's 79-84 (docs/benchmarks.md). Otherwise as {@link #microKernel8x2W}.
     */
    static void microKernel4x2W(int kc, float[] ap, int ao, float[] bp, int bo, float[] c, int ci, int crs,
                                int ccs, int mr, int nr, boolean overwrite, float[] tile) {
        FloatVector c00 = FloatVector.zero(S), c01 = FloatVector.zero(S);
        FloatVector c10 = FloatVector.zero(S), c11 = FloatVector.zero(S);
        FloatVector c20 = FloatVector.zero(S), c21 = FloatVector.zero(S);
        FloatVector c30 = FloatVector.zero(S), c31 = FloatVector.zero(S);
        int a = ao, b = bo;
        for (int p = 0; p < kc; p++) {
            FloatVector b0 = FloatVector.fromArray(S, bp, b);
            FloatVector b1 = FloatVector.fromArray(S, bp, b + W);
            FloatVector a0 = FloatVector.broadcast(S, ap[a]);
            c00 = a0.fma(b0, c00); c01 = a0.fma(b1, c01);
            FloatVector a1 = FloatVector.broadcast(S, ap[a + 1]);
            c10 = a1.fma(b0, c10); c11 = a1.fma(b1, c11);
            FloatVector a2 = FloatVector.broadcast(S, ap[a + 2]);
            c20 = a2.fma(b0, c20); c21 = a2.fma(b1, c21);
            FloatVector a3 = FloatVector.broadcast(S, ap[a + 3]);
            c30 = a3.fma(b0, c30); c31 = a3.fma(b1, c31);
            a += 4;
            b += NR_;
        }
        if (mr == 4 && nr == NR_ && ccs == 1) {
            int r = ci;
            if (overwrite) {
                c00.intoArray(c, r); c01.intoArray(c, r + W); r += crs;
                c10.intoArray(c, r); c11.intoArray(c, r + W); r += crs;
                c20.intoArray(c, r); c21.intoArray(c, r + W); r += crs;
                c30.intoArray(c, r); c31.intoArray(c, r + W);
            } else {
                c00.add(FloatVector.fromArray(S, c, r)).intoArray(c, r);
                c01.add(FloatVector.fromArray(S, c, r + W)).intoArray(c, r + W);
                r += crs;
                c10.add(FloatVector.fromArray(S, c, r)).intoArray(c, r);
                c11.add(FloatVector.fromArray(S, c, r + W)).intoArray(c, r + W);
                r += crs;
                c20.add(FloatVector.fromArray(S, c, r)).intoArray(c, r);
                c21.add(FloatVector.fromArray(S, c, r + W)).intoArray(c, r + W);
                r += crs;
                c30.add(FloatVector.fromArray(S, c, r)).intoArray(c, r);
                c31.add(FloatVector.fromArray(S, c, r + W)).intoArray(c, r + W);
            }
        } else {
            c00.intoArray(tile, 0); c01.intoArray(tile, W);
            c10.intoArray(tile, 2 * W); c11.intoArray(tile, 3 * W);
            c20.intoArray(tile, 4 * W); c21.intoArray(tile, 5 * W);
            c30.intoArray(tile, 6 * W); c31.intoArray(tile, 7 * W);
            storeClippedTile(tile, c, ci, crs, ccs, mr, nr, overwrite);
        }
    }

    /** Writes (or adds) the top-left mr x nr of an MR x NR row-major tile into C. */
    static void storeClippedTile(float[] tile, float[] c, int ci, int crs, int ccs, int mr, int nr,
                                 boolean overwrite) {
        for (int r = 0; r < mr; r++) {
            int t = r * NR_, o = ci + r * crs;
            if (overwrite) {
                for (int n = 0; n < nr; n++, o += ccs) {
                    c[o] = tile[t + n];
                }
            } else {
                for (int n = 0; n < nr; n++, o += ccs) {
                    c[o] += tile[t + n];
                }
            }
        }
    }

    @Override
    void zero(Object dst, int off, int rs, int cs, int M, int N) {
        float[] c = (float[]) dst;
        for (int m = 0; m < M; m++) {
            for (int n = 0, o = off + m * rs; n < N; n++, o += cs) {
                c[o] = 0f;
            }
        }
    }

    @Override
    void tinyLoop(GemmJob j, int bi, boolean accumulate) {
        float[] a = (float[]) j.a, b = (float[]) j.b, c = (float[]) j.c;
        int aBase = j.aOff + bi * j.aBS, bBase = j.bOff + bi * j.bBS, cBase = j.cOff + bi * j.cBS;
        for (int m = 0; m < j.M; m++) {
            for (int n = 0; n < j.N; n++) {
                float s = 0f;
                for (int k = 0, ai = aBase + m * j.aRS, bk = bBase + n * j.bCS; k < j.K;
                     k++, ai += j.aCS, bk += j.bRS) {
                    s += a[ai] * b[bk];
                }
                int o = cBase + m * j.cRS + n * j.cCS;
                c[o] = accumulate ? c[o] + s : s;
            }
        }
    }
}
