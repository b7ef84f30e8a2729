package dev.flare.tensor.cpu;

import dev.flare.tensor.DType;
import dev.flare.tensor.Tensor;

/**
 * Batched matmul on the host: maps each batch index to its A/B/C offsets (batch dims may be broadcast with
 * stride 0 and have any layout), then runs the GEMM. BF16/F16 operands are widened to F32 first.
 *
 * <p>Threads: CpuGemm splits its work over its own pool, so the batch goes to it in one call whenever the
 * offsets step evenly (contiguous or broadcast batch dims: the usual case). Otherwise the matrices go one
 * call each: from this thread when each is big enough for CpuGemm to split it, else spread over CpuThreads
 * (each call then stays on its thread; splitting both ways would run more threads than cores).
 */
final class CpuMatmul {
    private CpuMatmul() {}

    static void matmul(Tensor a, Tensor b, Tensor out) {
        if (a.dtype().isHalf()) {
            // F32 copies for this call only: released here, not when the caller's scope closes (a BF16 model's forward
            // would otherwise hold an F32 copy of every weight, the LM head's included, until the step ended)
            Tensor wa = widen(a), wb = widen(b), c = Tensor.empty(DType.F32, out.device(), out.shape());
            try {
                matmul(wa, wb, c);
                CpuElementwise.copy(c, out);
            } finally {
                wa.release();
                wb.release();
                c.release();
            }
            return;
        }
        int r = out.dim();
        int m = out.size(r - 2), n = out.size(r - 1), k = a.size(r - 1);
        int[] shape = out.shape();
        int batch = 1;
        for (int d = 0; d < r - 2; d++) batch *= shape[d];
        if (batch == 0) return;
        long[] as = a.strides(), bs = b.strides(), cs = out.strides();
        long[] aOff = new long[batch], bOff = new long[batch], cOff = new long[batch];
        int[] idx = new int[Math.max(r - 2, 0)];
        for (int i = 0; i < batch; i++) {
            long ao = a.offset(), bo = b.offset(), co = out.offset();
            for (int d = 0; d < r - 2; d++) {
                ao += idx[d] * as[d];
                bo += idx[d] * bs[d];
                co += idx[d] * cs[d];
            }
            aOff[i] = ao;
            bOff[i] = bo;
            cOff[i] = co;
            for (int d = r - 3; d >= 0; d--) {
                if (++idx[d] < shape[d]) break;
                idx[d] = 0;
            }
        }
        long ars = as[r - 2], acs = as[r - 1], brs = bs[r - 2], bcs = bs[r - 1], crs = cs[r - 2], ccs = cs[r - 1];
        long aStep = batch > 1 ? aOff[1] - aOff[0] : 0, bStep = batch > 1 ? bOff[1] - bOff[0] : 0;
        long cStep = batch > 1 ? cOff[1] - cOff[0] : 0;
        boolean even = batch == 1 || cStep != 0; // C batch stride 0 would mean a sum over the batch to CpuGemm
        for (int i = 2; i < batch && even; i++) {
            even = aOff[i] - aOff[i - 1] == aStep && bOff[i] - bOff[i - 1] == bStep && cOff[i] - cOff[i - 1] == cStep;
        }
        boolean gemmSplitsEach = (long) m * n * k >= CpuGemm.PAR_MIN;
        if (a.dtype() == DType.F32) {
            float[] av = ((CpuStorage) a.storage()).floats(), bv = ((CpuStorage) b.storage()).floats(), cv = ((CpuStorage) out.storage()).floats();
            if (even) {
                CpuGemm.sgemm(batch, m, n, k, av, aOff[0], aStep, ars, acs, bv, bOff[0], bStep, brs, bcs,
                        cv, cOff[0], cStep, crs, ccs, false);
            } else if (gemmSplitsEach) {
                for (int i = 0; i < batch; i++)
                    CpuGemm.sgemm(1, m, n, k, av, aOff[i], 0, ars, acs, bv, bOff[i], 0, brs, bcs, cv, cOff[i], 0, crs, ccs, false);
            } else {
                CpuThreads.parallelFor(batch, (long) m * n * k, (from, to) -> {
                    for (int i = from; i < to; i++)
                        CpuGemm.sgemm(1, m, n, k, av, aOff[i], 0, ars, acs, bv, bOff[i], 0, brs, bcs, cv, cOff[i], 0, crs, ccs, false);
                });
            }
        } else if (a.dtype() == DType.F64) {
            double[] av = ((CpuStorage) a.storage()).doubles(), bv = ((CpuStorage) b.storage()).doubles(), cv = ((CpuStorage) out.storage()).doubles();
            if (even) {
                CpuGemm.dgemm(batch, m, n, k, av, aOff[0], aStep, ars, acs, bv, bOff[0], bStep, brs, bcs,
                        cv, cOff[0], cStep, crs, ccs, false);
            } else if (gemmSplitsEach) {
                for (int i = 0; i < batch; i++)
                    CpuGemm.dgemm(1, m, n, k, av, aOff[i], 0, ars, acs, bv, bOff[i], 0, brs, bcs, cv, cOff[i], 0, crs, ccs, false);
            } else {
                CpuThreads.parallelFor(batch, (long) m * n * k, (from, to) -> {
                    for (int i = from; i < to; i++)
                        CpuGemm.dgemm(1, m, n, k, av, aOff[i], 0, ars, acs, bv, bOff[i], 0, brs, bcs, cv, cOff[i], 0, crs, ccs, false);
                });
            }
        } else {
            throw new IllegalArgumentException("matmul: unsupported dtype " + a.dtype());
        }
    }

    private static Tensor widen(Tensor t) {
        Tensor f = Tensor.empty(DType.F32, t.device(), t.shape());
        CpuElementwise.copy(t, f);
        return f;
    }
}
