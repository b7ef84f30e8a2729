package dev.flare.tensor.cuda;

import dev.flare.tensor.DType;
import dev.flare.tensor.Tensor;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import static dev.flare.tensor.cuda.CudaTestSupport.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * Philox fills on CUDA against the test-side reference of docs/random.md: uniforms bit for bit, normals within a
 * couple of ulps (log and sincospi may round differently in the last bit on the GPU).
 */
@Tag("cuda")
class CudaRandomTest {
    static final long[] SEEDS = {42, 0, 0xDEAD_BEEF_CAFE_F00DL, -1};
    static final long[] OFFSETS = {0, 123, 0xFFFF_FFFFL, Long.MAX_VALUE, -2};
    static final int[] SIZES = {1, 7, 4097, 1_000_003};

    @Test
    void goldenVectorsSeed42() {
        CudaBackend b = gpu();
        Tensor u = output(b, DType.F32, 8), z = output(b, DType.F32, 8);
        b.fillUniform(u, 42, 0, 0, 1);
        b.fillNormal(z, 42, 0, 0, 1);
        int[] uniform = {0x3f1ceaf0, 0x3eefea92, 0x3d95fa80, 0x3eae8566, 0x3f7cdb21, 0x3ea774d8, 0x3f038f5a, 0x3ee89c0c};
        int[] normal = {0xbf785e5a, 0x3e46acec, 0xbf9e28cd, 0x3ff6433e, 0xbd95e014, 0x3e0e79fe, 0xbf8da732, 0x3ea7430b};
        float[] hu = new float[8], hz = new float[8];
        u.storage().copyToHost(0, hu, 0, 8);
        z.storage().copyToHost(0, hz, 0, 8);
        for (int i = 0; i < 8; i++) {
            assertEquals(uniform[i], Float.floatToRawIntBits(hu[i]), "uniform " + i);
            assertTrue(Math.abs(Float.floatToRawIntBits(hz[i]) - normal[i]) <= 2, "normal " + i + ": " + hz[i]);
        }
        Tensor u64 = output(b, DType.F64, 4);
        b.fillUniform(u64, 42, 0, 0, 1);
        double[] hd = new double[4];
        u64.storage().copyToHost(0, hd, 0, 4);
        long[] expect = {0x3fe39d5e0a6efea9L, 0x3fb2bf50ad5742b0L, 0x3fef9b6424ea774dL, 0x3fe071eb4dce89c0L};
        for (int i = 0; i < 4; i++) assertEquals(expect[i], Double.doubleToRawLongBits(hd[i]), "f64 uniform " + i);
    }

    @Test
    void uniformF32AndHalvesBitExact() {
        CudaBackend b = gpu();
        for (long seed : SEEDS)
            for (long offset : OFFSETS)
                for (int n : SIZES) {
                    if (n > 5000 && offset != 123) continue;
                    float lo = -2f, hi = 3f;
                    Tensor f = output(b, DType.F32, n), h = output(b, DType.BF16, n), g = output(b, DType.F16, n);
                    b.fillUniform(f, seed, offset, lo, hi);
                    b.fillUniform(h, seed, offset, lo, hi);
                    b.fillUniform(g, seed, offset, lo, hi);
                    float[] hf = new float[n];
                    short[] hh = new short[n], hg = new short[n];
                    f.storage().copyToHost(0, hf, 0, n);
                    h.storage().copyToHost(0, hh, 0, n);
                    g.storage().copyToHost(0, hg, 0, n);
                    for (int i = 0; i < n; i++) {
                        float e = PhiloxRef.uniformF(seed, offset, i, lo, hi);
                        if (Float.floatToRawIntBits(e) != Float.floatToRawIntBits(hf[i]))
                            fail("uniform F32 seed " + seed + " offset " + offset + " i " + i + ": " + e + " vs " + hf[i]);
                        assertEquals(HostConvert.floatToBf16(e), hh[i], "uniform BF16 i " + i);
                        assertEquals(HostConvert.floatToF16(e), hg[i], "uniform F16 i " + i);
                        assertTrue(hf[i] >= lo && hf[i] < hi);
                    }
                    f.release();
                    h.release();
                    g.release();
                }
    }

    @Test
    void uniformStaysBelowHi() {
        CudaBackend b = gpu();
        int n = 1 << 20;
        Tensor f = output(b, DType.F32, n);
        b.fillUniform(f, 7, 0, 1, 2);          // 1 + u can round up to 2: must be clamped below
        float[] hf = new float[n];
        f.storage().copyToHost(0, hf, 0, n);
        for (int i = 0; i < n; i++) {
            assertTrue(hf[i] >= 1f && hf[i] < 2f, "element " + i + " = " + hf[i]);
            assertEquals(Float.floatToRawIntBits(PhiloxRef.uniformF(7, 0, i, 1f, 2f)), Float.floatToRawIntBits(hf[i]));
        }
    }

    @Test
    void uniformF64BitExact() {
        CudaBackend b = gpu();
        for (long seed : SEEDS)
            for (long offset : OFFSETS)
                for (int n : new int[]{1, 7, 4097}) {
                    Tensor f = output(b, DType.F64, n);
                    b.fillUniform(f, seed, offset, -0.5, 0.25);
                    double[] hd = new double[n];
                    f.storage().copyToHost(0, hd, 0, n);
                    for (int i = 0; i < n; i++)
                        assertEquals(Double.doubleToRawLongBits(PhiloxRef.uniformD(seed, offset, i, -0.5, 0.25)),
                                Double.doubleToRawLongBits(hd[i]), "F64 uniform seed " + seed + " offset " + offset + " i " + i);
                }
    }

    static long ulps(float a, float b) {
        int x = Float.floatToRawIntBits(a), y = Float.floatToRawIntBits(b);
        if ((x < 0) != (y < 0)) return Math.abs((long) (x & 0x7FFFFFFF)) + Math.abs((long) (y & 0x7FFFFFFF));
        return Math.abs((long) x - y);
    }

    @Test
    void normalWithinTwoUlps() {
        CudaBackend b = gpu();
        int exact = 0, total = 0;
        for (long seed : SEEDS)
            for (long offset : OFFSETS)
                for (int n : SIZES) {
                    if (n > 5000 && offset != 123) continue;
                    float mean = 0.5f, std = 2f;
                    Tensor f = output(b, DType.F32, n), h = output(b, DType.BF16, n);
                    b.fillNormal(f, seed, offset, mean, std);
                    b.fillNormal(h, seed, offset, mean, std);
                    float[] hf = new float[n];
                    short[] hh = new short[n];
                    f.storage().copyToHost(0, hf, 0, n);
                    h.storage().copyToHost(0, hh, 0, n);
                    for (int i = 0; i < n; i++) {
                        float e = PhiloxRef.normalF(seed, offset, i, mean, std);
                        // The normal value is mean + std * z: compare z's ulps (scaled into the value's).
                        float z = PhiloxRef.normalF(seed, offset, i, 0f, 1f);
                        long d = ulps(e, hf[i]);
                        boolean ok = d <= 2 || Math.abs(e - hf[i]) <= 2 * std * Math.ulp(z) + Math.ulp(e);
                        if (!ok) fail("normal F32 seed " + seed + " offset " + offset + " i " + i + ": " + e + " vs " + hf[i]);
                        if (d == 0) exact++;
                        total++;
                        assertEquals(HostConvert.floatToBf16(hf[i]), hh[i], "normal BF16 is the F32 value rounded, i " + i);
                    }
                    f.release();
                    h.release();
                }
        System.out.printf("normal F32: %d of %d values bit-identical to the CPU mapping%n", exact, total);
        assertTrue(exact > total * 0.99, "nearly all normals should be bit-identical");
    }

    @Test
    void normalF64WithinFewUlps() {
        CudaBackend b = gpu();
        for (long seed : SEEDS)
            for (long offset : OFFSETS) {
                int n = 4097;
                Tensor f = output(b, DType.F64, n);
                b.fillNormal(f, seed, offset, -1, 3);
                double[] hd = new double[n];
                f.storage().copyToHost(0, hd, 0, n);
                for (int i = 0; i < n; i++) {
                    double e = PhiloxRef.normalD(seed, offset, i, -1, 3);
                    double z = PhiloxRef.normalD(seed, offset, i, 0, 1);
                    assertTrue(Math.abs(e - hd[i]) <= 3 * 8 * Math.ulp(Math.max(Math.abs(z), 1e-300)) + 2 * Math.ulp(e),
                            "F64 normal seed " + seed + " offset " + offset + " i " + i + ": " + e + " vs " + hd[i]);
                }
            }
    }
}
