package dev.flare.tensor.cpu;

import java.util.concurrent.atomic.AtomicIntegerArray;

/** The cache-blocked GEMM loop nest over packed panels (see {@link CpuGemm} for the design). */
final class GemmBlocked {
    private GemmBlocked() {}

    /**
     * How the rows of C are shared out between the threads of a call, separately for every (batch item,
     * column block). Dynamic: in the first KC pass over a column block the threads claim blocks of rows
     * from a shared counter (guided self-scheduling: blocks shrink as the rows run out, so a thread slowed
     * down by other load just takes fewer), and every later pass reuses the claims, so no block of C is ever
     * updated by two threads and no barrier is needed. Static (used when C is reduced over the batch, where
     * the same rows must stay with the same thread for every batch item): thread t owns the t-th of
     * {@code parts} contiguous ranges.
     */
    static final class RowSplit {
        final int parts;
        final boolean dynamic;
        final int columnBlocks;
        /** Per (batch item, column block): the first row not yet claimed. */
        final AtomicIntegerArray next;

        RowSplit(GemmJob j, int parts, boolean dynamic) {
            this.parts = parts;
            this.dynamic = dynamic;
            this.columnBlocks = (j.N + j.kernel.NC - 1) / j.kernel.NC;
            this.next = dynamic ? new AtomicIntegerArray(j.batch * columnBlocks) : null;
        }
    }

    /**
     * C[0:M, n0:n1] of batch item bi, all of it, or (with a split) the rows of it that the split gives
     * thread t.
     */
    static void run(GemmJob j, int bi, boolean accumulate, int n0, int n1, RowSplit split, int t,
                    GemmWorkspace ws) {
        final GemmKernel kd = j.kernel;
        final int MR = kd.MR, NR = kd.NR, MC = kd.MC, NC = kd.NC, KC = CpuGemm.KC;
        final int M = j.M, N = n1 - n0, K = j.K;
        final int aBase = j.aOff + bi * j.aBS;
        final int bBase = j.bOff + bi * j.bBS + n0 * j.bCS;
        final int cBase = j.cOff + bi * j.cBS + n0 * j.cCS;
        final boolean dynamic = split != null && split.dynamic;
        int lo = 0, hi = M;
        if (split != null && !dynamic) {
            int mPanels = (M + MR - 1) / MR;
            lo = Math.min(M, (int) ((long) mPanels * t / split.parts) * MR);
            hi = Math.min(M, (int) ((long) mPanels * (t + 1) / split.parts) * MR);
        }
        final Object ap = kd.bufferA(ws, Math.min(MC, CpuGemm.roundUp(M, MR)) * Math.min(KC, K));
        final Object bp = kd.bufferB(ws, CpuGemm.roundUp(Math.min(NC, N), NR) * Math.min(KC, K));
        int[] claims = ws.claims((M + MR - 1) / MR * 2 + 2);
        for (int jc = 0, jb = 0; jc < N; jc += NC, jb++) {
            final int nc = Math.min(NC, N - jc);
            final int nPanels = (nc + NR - 1) / NR;
            int nClaims = 0;
            for (int pc = 0; pc < K; pc += KC) {
                final int kc = Math.min(KC, K - pc);
                final boolean first = pc == 0;
                if (!first && nClaims == 0) {
                    break; // no rows of this column block for this thread
                }
                final boolean overwrite = first && !accumulate;
                boolean bPacked = false;
                int cursor = lo;
                for (int ci = 0; ; ci++) {
                    // Next block of rows [r0, r1): claimed in the first pass, remembered for the others.
                    int r0, r1 = 0;
                    if (!first) {
                        if (ci >= nClaims) {
                            break;
                        }
                        r0 = claims[2 * ci];
                        r1 = claims[2 * ci + 1];
                    } else if (!dynamic) {
                        if (cursor >= hi) {
                            break;
                        }
                        r0 = cursor;
                        r1 = Math.min(hi, cursor + MC);
                        cursor = r1;
                    } else {
                        int idx = bi * split.columnBlocks + jb;
                        do {
                            r0 = split.next.get(idx);
                            if (r0 >= M) {
                                break;
                            }
                            int rows = (M - r0 + 2 * split.parts - 1) / (2 * split.parts);
                            r1 = Math.min(M, r0 + CpuGemm.roundUp(Math.clamp(rows, CpuGemm.MIN_ROWS, MC), MR));
                        } while (!split.next.compareAndSet(idx, r0, r1));
                        if (r0 >= M) {
                            break;
                        }
                    }
                    if (first) {
                        claims[2 * ci] = r0;
                        claims[2 * ci + 1] = r1;
                        nClaims++;
                    }
                    if (!bPacked) {
                        // This thread's own copy of the KC x NC block of B, as NR-wide panels.
                        for (int q = 0; q < nPanels; q++) {
                            int n = jc + q * NR;
                            kd.packB(j.b, bBase + pc * j.bRS + n * j.bCS, j.bRS, j.bCS, kc, Math.min(NR, N - n),
                                    bp, q * NR * kc);
                        }
                        bPacked = true;
                    }
                    final int mPanels = (r1 - r0 + MR - 1) / MR;
                    for (int i = 0; i < mPanels; i++) {
                        int m = r0 + i * MR;
                        kd.packA(j.a, aBase + m * j.aRS + pc * j.aCS, j.aRS, j.aCS, kc, Math.min(MR, r1 - m),
                                ap, i * MR * kc);
                    }
                    for (int q = 0; q < nPanels; q++) {
                        int n = jc + q * NR;
                        int nr = Math.min(NR, N - n);
                        for (int i = 0; i < mPanels; i++) {
                            int m = r0 + i * MR;
                            kd.microKernel(kc, ap, i * MR * kc, bp, q * NR * kc, j.c, cBase + m * j.cRS + n * j.cCS,
                                    j.cRS, j.cCS, Math.min(MR, r1 - m), nr, overwrite, ws);
                        }
                    }
                }
            }
        }
    }
}
