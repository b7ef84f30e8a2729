package dev.flare.tensor.cpu;

import dev.flare.tensor.HalfFloats;
import dev.flare.tensor.DType;
import dev.flare.tensor.Tensor;

/**
 * CPU kernels for the neural-network ops: softmax / log-softmax, layer norm, GELU backward, embedding and
 * cross-entropy, forward and backward. The op layer has validated and allocated everything (see
 * {@link dev.flare.tensor.Backend}); these only compute.
 *
 * <p>Layout: every row-wise kernel works on "rows" (the reduced dim moved last) with unit step inside a row.
 * An F32 (or F64) input whose reduced dim has stride 1 is read in place, whatever its other strides; any other
 * input (strided along the row, BF16/F16) is first gathered into a contiguous float[] (double[] for F64) temp.
 * Outputs are written in place when they are F32/F64 and contiguous in row order, else through a temp that is
 * scattered (and converted) at the end. Math is done in float for F32/BF16/F16, with sums accumulated in
 * double; F64 inputs are computed in double throughout. Rows are spread over {@link CpuThreads}; results do not
 * depend on the thread count (no cross-thread reductions, sums in fixed order).
 *
 * <p>Temps are plain Java arrays (never storages), so nothing is registered with an open MemoryScope.
 */
final class CpuNN {
    private CpuNN() {}

    /**
     * Use the Vector API row primitives ({@link NNVector}) for float rows. On whenever jdk.incubator.vector is
     * resolved (every Flare launch adds it); the scalar loops remain as the fallback. Package-private and mutable
     * only so that tests can run the scalar path too.
     */
    static boolean vector = vectorAvailable();

    private static boolean vectorAvailable() {
        try {
            return NNVector.S.length() > 0;
        } catch (Throwable e) {            // NoClassDefFoundError without --add-modules jdk.incubator.vector
            return false;
        }
    }

    private static final double GELU_K = 0.7978845608028654;   // sqrt(2 / pi)
    private static final double GELU_A = 0.044715;

    // ================================================================================================
    // softmax / log-softmax
    // ================================================================================================

    static void softmax(Tensor x, int dim, boolean log, Tensor out) {
        if (x.numel() == 0) return;
        Tensor xl = dimLast(x, dim), ol = dimLast(out, dim);
        int c = x.size(dim), rows = rowCount(xl.shape());
        if (x.dtype() == DType.F64) {
            DRows xr = drows(xl);
            DOut o = dout(ol);
            CpuThreads.parallelFor(rows, 12L * c, (r0, r1) -> {
                for (int r = r0; r < r1; r++) softmaxRow(xr.a, xr.at(r), o.a, o.off + r * c, c, log);
            });
            o.finish();
        } else {
            FRows xr = frows(xl);
            FOut o = fout(ol);
            CpuThreads.parallelFor(rows, 12L * c, (r0, r1) -> {
                for (int r = r0; r < r1; r++) softmaxRow(xr.a, xr.at(r), o.a, o.off + r * c, c, log);
            });
            o.finish();
        }
    }

    private static void softmaxRow(float[] x, int xo, float[] y, int yo, int c, boolean log) {
        if (vector) {
            float m = NNVector.max(x, xo, c);
            if (log) {
                NNVector.subtract(x, xo, m, (float) Math.log(NNVector.expSum(x, xo, m, null, 0, c)), y, yo, c);
            } else {
                double s = NNVector.expSum(x, xo, m, y, yo, c);
                NNVector.scale(y, yo, (float) (1.0 / s), y, yo, c);
            }
            return;
        }
        float m = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < c; i++) { float v = x[xo + i]; if (v > m || v != v) m = v; }
        double s = 0;
        if (log) {
            for (int i = 0; i < c; i++) s += Math.exp(x[xo + i] - m);
            float ls = (float) Math.log(s);
            for (int i = 0; i < c; i++) y[yo + i] = (x[xo + i] - m) - ls;
        } else {
            for (int i = 0; i < c; i++) {
                float e = (float) Math.exp(x[xo + i] - m);
                y[yo + i] = e;
                s += e;
            }
            float inv = (float) (1.0 / s);
            for (int i = 0; i < c; i++) y[yo + i] *= inv;
        }
    }

    private static void softmaxRow(double[] x, int xo, double[] y, int yo, int c, boolean log) {
        double m = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < c; i++) { double v = x[xo + i]; if (v > m || v != v) m = v; }
        double s = 0;
        if (log) {
            for (int i = 0; i < c; i++) s += Math.exp(x[xo + i] - m);
            double ls = Math.log(s);
            for (int i = 0; i < c; i++) y[yo + i] = (x[xo + i] - m) - ls;
        } else {
            for (int i = 0; i < c; i++) {
                double e = Math.exp(x[xo + i] - m);
                y[yo + i] = e;
                s += e;
            }
            double inv = 1.0 / s;
            for (int i = 0; i < c; i++) y[yo + i] *= inv;
        }
    }

    static void softmaxBackward(Tensor y, Tensor dy, int dim, boolean log, Tensor dx) {
        if (y.numel() == 0) return;
        Tensor yl = dimLast(y, dim), gl = dimLast(dy, dim), ol = dimLast(dx, dim);
        int c = y.size(dim), rows = rowCount(yl.shape());
        if (y.dtype() == DType.F64) {
            DRows yr = drows(yl), gr = drows(gl);
            DOut o = dout(ol);
            CpuThreads.parallelFor(rows, (log ? 12L : 4L) * c, (r0, r1) -> {
                for (int r = r0; r < r1; r++) {
                    double[] ya = yr.a, ga = gr.a, oa = o.a;
                    int yo = yr.at(r), go = gr.at(r), oo = o.off + r * c;
                    double s = 0;
                    if (log) {
                        for (int i = 0; i < c; i++) s += ga[go + i];
                        for (int i = 0; i < c; i++) oa[oo + i] = ga[go + i] - Math.exp(ya[yo + i]) * s;
                    } else {
                        for (int i = 0; i < c; i++) s += ga[go + i] * ya[yo + i];
                        for (int i = 0; i < c; i++) oa[oo + i] = ya[yo + i] * (ga[go + i] - s);
                    }
                }
            });
            o.finish();
        } else {
            FRows yr = frows(yl), gr = frows(gl);
            FOut o = fout(ol);
            CpuThreads.parallelFor(rows, (log ? 12L : 4L) * c, (r0, r1) -> {
                for (int r = r0; r < r1; r++) {
                    float[] ya = yr.a, ga = gr.a, oa = o.a;
                    int yo = yr.at(r), go = gr.at(r), oo = o.off + r * c;
                    if (vector) {
                        if (log) NNVector.logSoftmaxGrad(ya, yo, ga, go, (float) NNVector.sum(ga, go, null, 0, c), oa, oo, c);
                        else NNVector.softmaxGrad(ya, yo, ga, go, (float) NNVector.sum(ga, go, ya, yo, c), oa, oo, c);
                        continue;
                    }
                    double s = 0;
                    if (log) {
                        for (int i = 0; i < c; i++) s += ga[go + i];
                        float sf = (float) s;
                        for (int i = 0; i < c; i++) oa[oo + i] = ga[go + i] - (float) Math.exp(ya[yo + i]) * sf;
                    } else {
                        for (int i = 0; i < c; i++) s += ga[go + i] * ya[yo + i];
                        float sf = (float) s;
                        for (int i = 0; i < c; i++) oa[oo + i] = ya[yo + i] * (ga[go + i] - sf);
                    }
                }
            });
            o.finish();
        }
    }

    // ================================================================================================
    // layer norm (last dim)
    // ================================================================================================

    static void layerNorm(Tensor x, Tensor w, Tensor b, double eps, Tensor out, Tensor mean, Tensor rstd) {
        int c = x.size(-1), rows = rowCount(x.shape());
        if (rows == 0) return;
        if (x.dtype() == DType.F64) {
            DRows xr = drows(x), wr = w == null ? null : dvec(w), br = b == null ? null : dvec(b);
            DOut o = dout(out), mo = dout(mean), ro = dout(rstd);
            CpuThreads.parallelFor(rows, 6L * c, (r0, r1) -> {
                double[] xa = xr.a, oa = o.a;
                for (int r = r0; r < r1; r++) {
                    int xo = xr.at(r), oo = o.off + r * c;
                    double s = 0;
                    for (int i = 0; i < c; i++) s += xa[xo + i];
                    double mu = s / c, v = 0;
                    for (int i = 0; i < c; i++) { double d = xa[xo + i] - mu; v += d * d; }
                    double rs = 1.0 / Math.sqrt(v / c + eps);
                    mo.a[mo.off + r] = mu;
                    ro.a[ro.off + r] = rs;
                    for (int i = 0; i < c; i++) {
                        double y = (xa[xo + i] - mu) * rs;
                        if (wr != null) y *= wr.a[wr.at(i)];
                        if (br != null) y += br.a[br.at(i)];
                        oa[oo + i] = y;
                    }
                }
            });
            o.finish(); mo.finish(); ro.finish();
        } else {
            FRows xr = frows(x);
            float[] wa = w == null ? null : fcontig(w), ba = b == null ? null : fcontig(b);
            FOut o = fout(out), mo = fout(mean), ro = fout(rstd);
            CpuThreads.parallelFor(rows, 6L * c, (r0, r1) -> {
                float[] xa = xr.a, oa = o.a;
                for (int r = r0; r < r1; r++) {
                    int xo = xr.at(r), oo = o.off + r * c;
                    double s = 0;
                    for (int i = 0; i < c; i++) s += xa[xo + i];
                    double mu = s / c, v = 0;
                    for (int i = 0; i < c; i++) { double d = xa[xo + i] - mu; v += d * d; }
                    float muf = (float) mu, rs = (float) (1.0 / Math.sqrt(v / c + eps));
                    mo.a[mo.off + r] = muf;
                    ro.a[ro.off + r] = rs;
                    if (wa != null && ba != null) {
                        for (int i = 0; i < c; i++) oa[oo + i] = (xa[xo + i] - muf) * rs * wa[i] + ba[i];
                    } else if (wa != null) {
                        for (int i = 0; i < c; i++) oa[oo + i] = (xa[xo + i] - muf) * rs * wa[i];
                    } else if (ba != null) {
                        for (int i = 0; i < c; i++) oa[oo + i] = (xa[xo + i] - muf) * rs + ba[i];
                    } else {
                        for (int i = 0; i < c; i++) oa[oo + i] = (xa[xo + i] - muf) * rs;
                    }
                }
            });
            o.finish(); mo.finish(); ro.finish();
        }
    }

    static void layerNormBackward(Tensor dy, Tensor x, Tensor w, Tensor mean, Tensor rstd, Tensor dx, Tensor dw, Tensor db) {
        int c = x.size(-1), rows = rowCount(x.shape());
        if (x.dtype() == DType.F64) {
            DRows gr = drows(dy), xr = drows(x), wr = w == null ? null : dvec(w);
            DRows mr = dvec(mean), rr = dvec(rstd);
            if (dx != null && rows > 0 && c > 0) {
                DOut o = dout(dx);
                CpuThreads.parallelFor(rows, 8L * c, (r0, r1) -> {
                    double[] ga = gr.a, xa = xr.a, oa = o.a;
                    for (int r = r0; r < r1; r++) {
                        int go = gr.at(r), xo = xr.at(r), oo = o.off + r * c;
                        double mu = mr.a[mr.at(r)], rs = rr.a[rr.at(r)];
                        double sg = 0, sgx = 0;
                        for (int i = 0; i < c; i++) {
                            double g = ga[go + i] * (wr == null ? 1 : wr.a[wr.at(i)]);
                            sg += g;
                            sgx += g * (xa[xo + i] - mu) * rs;
                        }
                        double a = sg / c, bb = sgx / c;
                        for (int i = 0; i < c; i++) {
                            double g = ga[go + i] * (wr == null ? 1 : wr.a[wr.at(i)]);
                            oa[oo + i] = rs * (g - a - (xa[xo + i] - mu) * rs * bb);
                        }
                    }
                });
                o.finish();
            }
            if ((dw != null || db != null) && c > 0) {
                DOut wo = dw == null ? null : dout(dw), bo = db == null ? null : dout(db);
                // Partitioned by column: each column sums its rows in order 0..rows-1 (deterministic, no races).
                CpuThreads.parallelFor(c, 4L * rows, (c0, c1) -> {
                    int n = c1 - c0;
                    double[] aw = new double[n], ab = new double[n];
                    double[] ga = gr.a, xa = xr.a;
                    for (int r = 0; r < rows; r++) {
                        int go = gr.at(r) + c0, xo = xr.at(r) + c0;
                        double mu = mr.a[mr.at(r)], rs = rr.a[rr.at(r)];
                        for (int i = 0; i < n; i++) {
                            double g = ga[go + i];
                            aw[i] += g * (xa[xo + i] - mu) * rs;
                            ab[i] += g;
                        }
                    }
                    for (int i = 0; i < n; i++) {
                        if (wo != null) wo.a[wo.off + c0 + i] = aw[i];
                        if (bo != null) bo.a[bo.off + c0 + i] = ab[i];
                    }
                });
                if (wo != null) wo.finish();
                if (bo != null) bo.finish();
            }
        } else {
            FRows gr = frows(dy), xr = frows(x);
            float[] wa = w == null ? null : fcontig(w);
            FRows mr = fvec(mean), rr = fvec(rstd);
            if (dx != null && rows > 0 && c > 0) {
                FOut o = fout(dx);
                CpuThreads.parallelFor(rows, 8L * c, (r0, r1) -> {
                    float[] ga = gr.a, xa = xr.a, oa = o.a;
                    for (int r = r0; r < r1; r++) {
                        int go = gr.at(r), xo = xr.at(r), oo = o.off + r * c;
                        float mu = mr.a[mr.at(r)], rs = rr.a[rr.at(r)];
                        double sg = 0, sgx = 0;
                        if (wa != null) {
                            for (int i = 0; i < c; i++) {
                                float g = ga[go + i] * wa[i];
                                sg += g;
                                sgx += g * ((xa[xo + i] - mu) * rs);
                            }
                        } else {
                            for (int i = 0; i < c; i++) {
                                float g = ga[go + i];
                                sg += g;
                                sgx += g * ((xa[xo + i] - mu) * rs);
                            }
                        }
                        float a = (float) (sg / c), bb = (float) (sgx / c);
                        if (wa != null) {
                            for (int i = 0; i < c; i++)
                                oa[oo + i] = rs * (ga[go + i] * wa[i] - a - (xa[xo + i] - mu) * rs * bb);
                        } else {
                            for (int i = 0; i < c; i++)
                                oa[oo + i] = rs * (ga[go + i] - a - (xa[xo + i] - mu) * rs * bb);
                        }
                    }
                });
                o.finish();
            }
            if ((dw != null || db != null) && c > 0) {
                FOut wo = dw == null ? null : fout(dw), bo = db == null ? null : fout(db);
                CpuThreads.parallelFor(c, 4L * rows, (c0, c1) -> {
                    int n = c1 - c0;
                    double[] aw = new double[n], ab = new double[n];
                    float[] ga = gr.a, xa = xr.a;
                    for (int r = 0; r < rows; r++) {
                        int go = gr.at(r) + c0, xo = xr.at(r) + c0;
                        float mu = mr.a[mr.at(r)], rs = rr.a[rr.at(r)];
                        for (int i = 0; i < n; i++) {
                            float g = ga[go + i];
                            aw[i] += g * ((xa[xo + i] - mu) * rs);
                            ab[i] += g;
                        }
                    }
                    for (int i = 0; i < n; i++) {
                        if (wo != null) wo.a[wo.off + c0 + i] = (float) aw[i];
                        if (bo != null) bo.a[bo.off + c0 + i] = (float) ab[i];
                    }
                });
                if (wo != null) wo.finish();
                if (bo != null) bo.finish();
            }
        }
    }

    // ================================================================================================
    // GELU (tanh form) backward
    // ================================================================================================

    static void geluBackward(Tensor x, Tensor dy, Tensor dx) {
        if (x.numel() == 0) return;
        DType dt = x.dtype();
        Object xa = array(x), ga = array(dy), oa = array(dx);
        if (dt == DType.F32 && vector && x.isContiguous() && dy.isContiguous() && dx.isContiguous()) {
            // One flat run: split it in chunks over the pool (StridedLoop only splits across runs).
            int n = Math.toIntExact(x.numel()), chunk = 8192, xo = (int) x.offset(), go = (int) dy.offset(), oo = (int) dx.offset();
            CpuThreads.parallelFor((n + chunk - 1) / chunk, 16L * chunk, (c0, c1) -> {
                for (int c = c0; c < c1; c++) {
                    int from = c * chunk, len = Math.min(chunk, n - from);
                    NNVector.geluGrad((float[]) xa, xo + from, (float[]) ga, go + from, (float[]) oa, oo + from, len);
                }
            });
            return;
        }
        StridedLoop.forEach(x.shape(), 24, (o, s, n) -> {
            int xi = (int) o[0], gi = (int) o[1], oi = (int) o[2];
            int xs = (int) s[0], gs = (int) s[1], os = (int) s[2];
            switch (dt) {
                case F32 -> {
                    float[] xf = (float[]) xa, gf = (float[]) ga, of = (float[]) oa;
                    if (vector && xs == 1 && gs == 1 && os == 1) {
                        NNVector.geluGrad(xf, xi, gf, gi, of, oi, n);
                        return;
                    }
                    for (int k = 0; k < n; k++, xi += xs, gi += gs, oi += os) of[oi] = gf[gi] * geluGradF(xf[xi]);
                }
                case F64 -> {
                    double[] xf = (double[]) xa, gf = (double[]) ga, of = (double[]) oa;
                    for (int k = 0; k < n; k++, xi += xs, gi += gs, oi += os) of[oi] = gf[gi] * geluGrad(xf[xi]);
                }
                case BF16 -> {
                    short[] xf = (short[]) xa, gf = (short[]) ga, of = (short[]) oa;
                    for (int k = 0; k < n; k++, xi += xs, gi += gs, oi += os)
                        of[oi] = HalfFloats.floatToBf16(HalfFloats.bf16ToFloat(gf[gi]) * geluGradF(HalfFloats.bf16ToFloat(xf[xi])));
                }
                case F16 -> {
                    short[] xf = (short[]) xa, gf = (short[]) ga, of = (short[]) oa;
                    for (int k = 0; k < n; k++, xi += xs, gi += gs, oi += os)
                        of[oi] = HalfFloats.floatToF16(HalfFloats.f16ToFloat(gf[gi]) * geluGradF(HalfFloats.f16ToFloat(xf[xi])));
                }
                default -> throw unsupported("geluBackward", dt);
            }
        }, x, dy, dx);
    }

    /** d/dx of 0.5 x (1 + tanh(k (x + a x^3))). */
    private static double geluGrad(double x) {
        // With e = exp(-2|u|), q = 1 / (1 + e): 1 - tanh(u)^2 = 4 e q^2, 1 + tanh(u) = 2q (u >= 0) or 2eq (u < 0).
        // No cancellation in the negative tail, and one exp instead of Math.tanh (about 2x faster).
        double x2 = x * x;
        double u = GELU_K * (x + GELU_A * x2 * x);
        double e = Math.exp(-2 * Math.abs(u)), q = 1 / (1 + e), eq = e * q;
        return (u < 0 ? eq : q) + 2 * x * eq * q * GELU_K * (1 + 3 * GELU_A * x2);
    }

    private static float geluGradF(float x) { return vector ? NNVector.geluGrad(x) : (float) geluGrad(x); }

    // ================================================================================================
    // embedding
    // ================================================================================================

    static void embedding(Tensor weight, Tensor ids, Tensor out) {
        long[] idx = indices(ids);
        int n = idx.length, d = weight.size(1);
        if (n == 0 || d == 0) return;
        Object wa = array(weight), oa = array(out);
        long ws0 = weight.stride(0), wo = weight.offset();
        int ws1 = (int) weight.stride(1), oo = (int) out.offset();
        CpuThreads.parallelFor(n, d, (i0, i1) -> {
            for (int i = i0; i < i1; i++) {
                int src = (int) (wo + idx[i] * ws0), dst = oo + i * d;
                if (ws1 == 1 || d == 1) System.arraycopy(wa, src, oa, dst, d);
                else copyStrided(wa, src, ws1, oa, dst, d);
            }
        });
    }

    private static void copyStrided(Object src, int so, int ss, Object dst, int dOff, int n) {
        switch (src) {
            case float[] a -> { float[] b = (float[]) dst; for (int i = 0; i < n; i++, so += ss) b[dOff + i] = a[so]; }
            case double[] a -> { double[] b = (double[]) dst; for (int i = 0; i < n; i++, so += ss) b[dOff + i] = a[so]; }
            case short[] a -> { short[] b = (short[]) dst; for (int i = 0; i < n; i++, so += ss) b[dOff + i] = a[so]; }
            default -> throw new IllegalArgumentException("embedding: unsupported weight array " + src.getClass().getSimpleName());
        }
    }

    /**
     * dWeight[ids[i], :] += dOut[i, :]. Positions are grouped by id (a stable counting sort) and the threads split
     * the distinct ids, so each row of dWeight is owned by one thread and sums its positions in index order, in
     * double, rounding once: the result is deterministic and independent of the thread count.
     */
    static void embeddingBackward(Tensor dOut, Tensor ids, Tensor dWeight) {
        long[] idx = indices(ids);
        int n = idx.length, v = dWeight.size(0), d = dWeight.size(1);
        if (n == 0 || d == 0) return;
        int[] start = new int[v + 1];
        for (long id : idx) start[(int) id + 1]++;
        int distinct = 0;
        for (int i = 0; i < v; i++) {
            if (start[i + 1] > 0) distinct++;
            start[i + 1] += start[i];
        }
        int[] order = new int[n], next = java.util.Arrays.copyOf(start, v);
        for (int i = 0; i < n; i++) order[next[(int) idx[i]]++] = i;
        int[] uniq = new int[distinct];
        for (int i = 0, u = 0; i < v; i++) if (start[i + 1] > start[i]) uniq[u++] = i;

        DType dt = dWeight.dtype();
        Object wa = array(dWeight);
        long ws0 = dWeight.stride(0), wOff = dWeight.offset();
        int ws1 = (int) dWeight.stride(1);
        boolean dbl = dOut.dtype() == DType.F64;
        DRows gd = dbl ? drows(dOut) : null;
        FRows gf = dbl ? null : frows(dOut);
        CpuThreads.parallelFor(distinct, 2L * d * Math.max(1, n / distinct), (u0, u1) -> {
            double[] acc = new double[d];
            for (int u = u0; u < u1; u++) {
                int row = uniq[u];
                int base = (int) (wOff + row * ws0);
                for (int j = 0, p = base; j < d; j++, p += ws1) acc[j] = load(wa, dt, p);
                for (int q = start[row]; q < start[row + 1]; q++) {
                    int i = order[q];
                    if (dbl) {
                        double[] a = gd.a;
                        int o = gd.at(i);
                        for (int j = 0; j < d; j++) acc[j] += a[o + j];
                    } else {
                        float[] a = gf.a;
                        int o = gf.at(i);
                        for (int j = 0; j < d; j++) acc[j] += a[o + j];
                    }
                }
                for (int j = 0, p = base; j < d; j++, p += ws1) store(wa, dt, p, acc[j]);
            }
        });
    }

    // ================================================================================================
    // cross-entropy over (N, C)
    // ================================================================================================

    static void crossEntropy(Tensor logits, Tensor targets, long ignoreIndex, Tensor loss, Tensor lse) {
        int n = logits.size(0), c = logits.size(1);
        if (n == 0) return;
        long[] t = indices(targets);
        if (logits.dtype() == DType.F64) {
            DRows xr = drows(logits);
            DOut lo = dout(loss), so = dout(lse);
            CpuThreads.parallelFor(n, 10L * c, (r0, r1) -> {
                double[] xa = xr.a;
                for (int r = r0; r < r1; r++) {
                    int xo = xr.at(r);
                    double m = Double.NEGATIVE_INFINITY;
                    for (int i = 0; i < c; i++) { double v = xa[xo + i]; if (v > m || v != v) m = v; }
                    double s = 0;
                    for (int i = 0; i < c; i++) s += Math.exp(xa[xo + i] - m);
                    double l = m + Math.log(s);
                    so.a[so.off + r] = l;
                    lo.a[lo.off + r] = t[r] == ignoreIndex ? 0 : l - xa[xo + (int) t[r]];
                }
            });
            lo.finish(); so.finish();
        } else {
            FRows xr = frows(logits);
            FOut lo = fout(loss), so = fout(lse);
            CpuThreads.parallelFor(n, 10L * c, (r0, r1) -> {
                float[] xa = xr.a;
                for (int r = r0; r < r1; r++) {
                    int xo = xr.at(r);
                    double l;
                    if (vector) {
                        float m = NNVector.max(xa, xo, c);
                        l = m + Math.log(NNVector.expSum(xa, xo, m, null, 0, c));
                    } else {
                        float m = Float.NEGATIVE_INFINITY;
                        for (int i = 0; i < c; i++) { float v = xa[xo + i]; if (v > m || v != v) m = v; }
                        double s = 0;
                        for (int i = 0; i < c; i++) s += Math.exp(xa[xo + i] - m);
                        l = m + Math.log(s);
                    }
                    so.a[so.off + r] = (float) l;
                    lo.a[lo.off + r] = t[r] == ignoreIndex ? 0 : (float) (l - xa[xo + (int) t[r]]);
                }
            });
            lo.finish(); so.finish();
        }
    }

    static void crossEntropyBackward(Tensor logits, Tensor targets, long ignoreIndex, Tensor lse, Tensor dLoss, Tensor dLogits) {
        int n = logits.size(0), c = logits.size(1);
        if (n == 0 || c == 0) return;
        long[] t = indices(targets);
        if (logits.dtype() == DType.F64) {
            DRows xr = drows(logits), lr = dvec(lse), gr = dvec(dLoss);
            DOut o = dout(dLogits);
            CpuThreads.parallelFor(n, 10L * c, (r0, r1) -> {
                double[] xa = xr.a, oa = o.a;
                for (int r = r0; r < r1; r++) {
                    int xo = xr.at(r), oo = o.off + r * c;
                    if (t[r] == ignoreIndex) {
                        java.util.Arrays.fill(oa, oo, oo + c, 0.0);
                        continue;
                    }
                    double l = lr.a[lr.at(r)], g = gr.a[gr.at(r)];
                    for (int i = 0; i < c; i++) oa[oo + i] = g * Math.exp(xa[xo + i] - l);
                    int ti = (int) t[r];
                    oa[oo + ti] = g * (Math.exp(xa[xo + ti] - l) - 1);
                }
            });
            o.finish();
        } else {
            FRows xr = frows(logits), lr = fvec(lse), gr = fvec(dLoss);
            FOut o = fout(dLogits);
            CpuThreads.parallelFor(n, 10L * c, (r0, r1) -> {
                float[] xa = xr.a, oa = o.a;
                for (int r = r0; r < r1; r++) {
                    int xo = xr.at(r), oo = o.off + r * c;
                    if (t[r] == ignoreIndex) {
                        java.util.Arrays.fill(oa, oo, oo + c, 0f);
                        continue;
                    }
                    float l = lr.a[lr.at(r)], g = gr.a[gr.at(r)];
                    int ti = (int) t[r];
                    if (vector) {
                        NNVector.scaledExp(xa, xo, l, g, oa, oo, c);
                        oa[oo + ti] = g * (NNVector.exp(xa[xo + ti] - l) - 1f);
                    } else {
                        for (int i = 0; i < c; i++) oa[oo + i] = g * (float) Math.exp(xa[xo + i] - l);
                        oa[oo + ti] = g * ((float) Math.exp(xa[xo + ti] - l) - 1f);
                    }
                }
            });
            o.finish();
        }
    }

    // ================================================================================================
    // layout helpers
    // ================================================================================================

    /** Rows of a float array: row r starts at {@link #at}(r); elements within a row have unit step. */
    static final class FRows {
        final float[] a;
        final int[] bases;
        final long off, step;
        FRows(float[] a, int[] bases, long off, long step) { this.a = a; this.bases = bases; this.off = off; this.step = step; }
        int at(int r) { return bases != null ? bases[r] : (int) (off + r * step); }
    }

    static final class DRows {
        final double[] a;
        final int[] bases;
        final long off, step;
        DRows(double[] a, int[] bases, long off, long step) { this.a = a; this.bases = bases; this.off = off; this.step = step; }
        int at(int r) { return bases != null ? bases[r] : (int) (off + r * step); }
    }

    /** A contiguous output region: the target's own storage, or a temp scattered into the target by finish(). */
    static final class FOut {
        final float[] a;
        final int off;
        final Tensor target;
        FOut(float[] a, int off, Tensor target) { this.a = a; this.off = off; this.target = target; }
        void finish() { if (target != null) scatter(a, null, target); }
    }

    static final class DOut {
        final double[] a;
        final int off;
        final Tensor target;
        DOut(double[] a, int off, Tensor target) { this.a = a; this.off = off; this.target = target; }
        void finish() { if (target != null) scatter(null, a, target); }
    }

    /** A view of t with {@code dim} moved last (the other dims keep their order). */
    static Tensor dimLast(Tensor t, int dim) {
        int r = t.dim();
        if (dim == r - 1) return t;
        int[] s = t.shape();
        long[] st = t.strides();
        int[] ns = new int[r];
        long[] nst = new long[r];
        for (int i = 0, j = 0; i < r; i++) {
            if (i == dim) continue;
            ns[j] = s[i];
            nst[j++] = st[i];
        }
        ns[r - 1] = s[dim];
        nst[r - 1] = st[dim];
        return Tensor.of(t.storage(), ns, nst, t.offset());
    }

    /** The number of rows: the product of all dims but the last (1 for a 1-d tensor). */
    static int rowCount(int[] shape) {
        long n = 1;
        for (int i = 0; i < shape.length - 1; i++) n *= shape[i];
        return Math.toIntExact(n);
    }

    /** The single row step when the outer dims (all but the last) walk rows at a uniform step, else -1. */
    private static long uniformRowStep(int[] shape, long[] strides) {
        long step = -1, expect = -1;
        for (int d = shape.length - 2; d >= 0; d--) {
            if (shape[d] == 1) continue;
            if (step < 0) step = strides[d];
            else if (strides[d] != expect) return -1;
            expect = strides[d] * shape[d];
        }
        return step < 0 ? 0 : step;
    }

    /** The start offset of every row (row-major over all dims but the last). */
    static int[] rowBases(int[] shape, long[] strides, long offset) {
        int r = shape.length, rows = rowCount(shape);
        int[] b = new int[rows];
        int[] idx = new int[Math.max(r - 1, 0)];
        long o = offset;
        for (int i = 0; i < rows; i++) {
            b[i] = (int) o;
            for (int d = r - 2; d >= 0; d--) {
                o += strides[d];
                if (++idx[d] < shape[d]) break;
                o -= strides[d] * shape[d];
                idx[d] = 0;
            }
        }
        return b;
    }

    /** Rows along the last dim of t: in place when F32 with unit inner stride, else a contiguous float temp. */
    static FRows frows(Tensor t) {
        int[] shape = t.shape();
        int r = shape.length;
        int c = r == 0 ? 1 : shape[r - 1];
        if (r > 0 && t.dtype() == DType.F32 && (c <= 1 || t.stride(r - 1) == 1)) {
            float[] a = floats(t);
            long[] st = t.strides();
            long step = uniformRowStep(shape, st);
            return step >= 0 ? new FRows(a, null, t.offset(), step) : new FRows(a, rowBases(shape, st, t.offset()), 0, 0);
        }
        return new FRows(gatherF(t), null, 0, c);
    }

    static DRows drows(Tensor t) {
        int[] shape = t.shape();
        int r = shape.length;
        int c = r == 0 ? 1 : shape[r - 1];
        if (r > 0 && t.dtype() == DType.F64 && (c <= 1 || t.stride(r - 1) == 1)) {
            double[] a = ((CpuStorage) t.storage()).doubles();
            long[] st = t.strides();
            long step = uniformRowStep(shape, st);
            return step >= 0 ? new DRows(a, null, t.offset(), step) : new DRows(a, rowBases(shape, st, t.offset()), 0, 0);
        }
        return new DRows(gatherD(t), null, 0, c);
    }

    /** Element r of a tensor read in row-major order, as rows of one element (stride-0 broadcasts stay in place). */
    static FRows fvec(Tensor t) {
        if (t.dtype() == DType.F32) {
            if (t.isContiguous()) return new FRows(floats(t), null, t.offset(), 1);
            if (t.dim() == 1) return new FRows(floats(t), null, t.offset(), t.stride(0));
        }
        return new FRows(gatherF(t), null, 0, 1);
    }

    static DRows dvec(Tensor t) {
        if (t.dtype() == DType.F64) {
            double[] a = ((CpuStorage) t.storage()).doubles();
            if (t.isContiguous()) return new DRows(a, null, t.offset(), 1);
            if (t.dim() == 1) return new DRows(a, null, t.offset(), t.stride(0));
        }
        return new DRows(gatherD(t), null, 0, 1);
    }

    /** t's elements as a fresh or shared contiguous float[] starting at 0 (small vectors: weight, bias). */
    private static float[] fcontig(Tensor t) {
        if (t.dtype() == DType.F32 && t.isContiguous() && t.offset() == 0 && floats(t).length == t.numel()) return floats(t);
        return gatherF(t);
    }

    static FOut fout(Tensor t) {
        if (t.dtype() == DType.F32 && t.isContiguous()) return new FOut(floats(t), (int) t.offset(), null);
        return new FOut(new float[Math.toIntExact(t.numel())], 0, t);
    }

    static DOut dout(Tensor t) {
        if (t.dtype() == DType.F64 && t.isContiguous())
            return new DOut(((CpuStorage) t.storage()).doubles(), (int) t.offset(), null);
        return new DOut(new double[Math.toIntExact(t.numel())], 0, t);
    }

    /** t's elements in row-major order as floats (converted from F32/F64/BF16/F16). */
    static float[] gatherF(Tensor t) {
        float[] dst = new float[Math.toIntExact(t.numel())];
        transfer(t, dst, null, true);
        return dst;
    }

    static double[] gatherD(Tensor t) {
        double[] dst = new double[Math.toIntExact(t.numel())];
        transfer(t, null, dst, true);
        return dst;
    }

    /** Writes row-major values (one of f / d non-null) into dst (any strides), converting to dst's dtype. */
    static void scatter(float[] f, double[] d, Tensor dst) { transfer(dst, f, d, false); }

    /** Gathers t into (or scatters from) a row-major temp, row by row along t's last dim, over the worker pool. */
    private static void transfer(Tensor t, float[] f, double[] d, boolean gather) {
        if (t.numel() == 0) return;
        int[] shape = t.shape();
        long[] st = t.strides();
        if (shape.length == 0) {
            shape = new int[]{1};
            st = new long[]{1};
        }
        int r = shape.length, c = shape[r - 1];
        int s = (int) st[r - 1];
        int[] bases = rowBases(shape, st, t.offset());
        Object arr = array(t);
        DType dt = t.dtype();
        CpuThreads.parallelFor(bases.length, 2L * c, (r0, r1) -> {
            for (int row = r0; row < r1; row++) {
                int p = bases[row], q = row * c;
                for (int i = 0; i < c; i++, p += s, q++) {
                    if (gather) {
                        if (f != null) f[q] = (float) load(arr, dt, p);
                        else d[q] = load(arr, dt, p);
                    } else {
                        store(arr, dt, p, f != null ? f[q] : d[q]);
                    }
                }
            }
        });
    }

    private static double load(Object arr, DType dt, int p) {
        return switch (dt) {
            case F32 -> ((float[]) arr)[p];
            case F64 -> ((double[]) arr)[p];
            case BF16 -> HalfFloats.bf16ToFloat(((short[]) arr)[p]);
            case F16 -> HalfFloats.f16ToFloat(((short[]) arr)[p]);
            default -> throw unsupported("load", dt);
        };
    }

    /** Stores v, rounded once to dt (F32 rounding first for the 16-bit types, as the kernels compute in float). */
    private static void store(Object arr, DType dt, int p, double v) {
        switch (dt) {
            case F32 -> ((float[]) arr)[p] = (float) v;
            case F64 -> ((double[]) arr)[p] = v;
            case BF16 -> ((short[]) arr)[p] = HalfFloats.floatToBf16((float) v);
            case F16 -> ((short[]) arr)[p] = HalfFloats.floatToF16((float) v);
            default -> throw unsupported("store", dt);
        }
    }

    /** I32/I64 indices of any shape and strides, flattened in row-major order. */
    static long[] indices(Tensor ids) {
        long[] out = new long[Math.toIntExact(ids.numel())];
        if (out.length == 0) return out;
        int[] shape = ids.shape();
        long[] st = ids.strides();
        if (shape.length == 0) {
            shape = new int[]{1};
            st = new long[]{1};
        }
        int r = shape.length, c = shape[r - 1];
        int s = (int) st[r - 1];
        int[] bases = rowBases(shape, st, ids.offset());
        Object arr = array(ids);
        for (int row = 0, q = 0; row < bases.length; row++) {
            int p = bases[row];
            switch (arr) {
                case int[] a -> { for (int i = 0; i < c; i++, p += s) out[q++] = a[p]; }
                case long[] a -> { for (int i = 0; i < c; i++, p += s) out[q++] = a[p]; }
                default -> throw unsupported("indices", ids.dtype());
            }
        }
        return out;
    }

    private static Object array(Tensor t) { return ((CpuStorage) t.storage()).array(); }

    private static float[] floats(Tensor t) { return ((CpuStorage) t.storage()).floats(); }

    private static IllegalArgumentException unsupported(String what, DType dt) {
        return new IllegalArgumentException(what + ": unsupported dtype " + dt + " on the CPU NN kernels");
    }
}
