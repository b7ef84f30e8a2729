package dev.flare.tensor.random;

import java.util.Objects;
import java.util.stream.IntStream;

/**
 * Flare's documented, stateless mapping from {@code (seed, offset, element index)} to random
 * numbers, built on {@link Philox4x32} (see {@code docs/random.md}; the CUDA kernels reproduce it).
 *
 * <p><b>Key and counter.</b> The key is {@code k0 = (int) seed, k1 = (int) (seed >>> 32)}. A fill
 * starts at generator {@code offset}, counted in 128-bit blocks; block {@code b} (an unsigned
 * 64-bit value, wrapping) is the Philox counter {@code (c0 = (int) b, c1 = (int) (b >>> 32), 0, 0)}.
 * Write {@code W(b, j)} for output word {@code j} of that block.
 *
 * <p><b>F32 uniform</b>, element {@code i}: {@code w = W(offset + i/4, i%4)},
 * {@code u = (w >>> 8) * 2^-24} (exact, in [0, 1)), value {@code lo + u * (hi - lo)} in float
 * arithmetic without fused multiply-add; if {@code lo < hi} and that rounds to {@code >= hi} the
 * value is replaced by the largest float below {@code hi}.
 *
 * <p><b>F32 normal</b>, Box–Muller on pairs: elements {@code 2j, 2j+1} use block
 * {@code offset + j/2}, words {@code a = W(.., 2(j%2))}, {@code b = W(.., 2(j%2)+1)}:
 * {@code u1 = ((a >>> 8) + 1) * 2^-24} in (0, 1], {@code u2 = (b >>> 8) * 2^-24},
 * {@code r = sqrt(-2 * log(u1))}, {@code z0 = r * cospi(2 u2)}, {@code z1 = r * sinpi(2 u2)},
 * each step rounded to float; value {@code mean + std * z}. Element {@code i} therefore lies in
 * block {@code offset + i/4}, like the uniform.
 *
 * <p><b>F64</b> uses two words per number: {@code bits53 = ((W(.., 2h) << 32 | W(.., 2h+1)) >>> 11)}
 * (words as unsigned), so element {@code i} of a uniform lies in block {@code offset + i/2}, half
 * {@code h = i%2}, and {@code u = bits53 * 2^-53}. F64 normals take element pair {@code (2q, 2q+1)}
 * from block {@code offset + q}: {@code u1 = (bits53(h=0) + 1) * 2^-53}, {@code u2 = bits53(h=1) * 2^-53}.
 *
 * <p>Transcendentals use {@link StrictMath}, so CPU results are bit-identical on every JVM.
 * Uniforms are exact functions of the Philox words (CUDA matches bit for bit); normals involve
 * {@code log}, {@code sinpi}, {@code cospi}, whose last-ulp rounding may differ on the GPU.
 *
 * <p>Fills of at least {@value #PARALLEL_THRESHOLD} elements are split over the common
 * fork-join pool; since blocks are independent, the result does not depend on the split.
 */
public final class PhiloxStream {

    /** F32 numbers (uniform or normal) drawn per 128-bit block. */
    public static final int FLOATS_PER_BLOCK = 4;
    /** F64 numbers (uniform or normal) drawn per 128-bit block. */
    public static final int DOUBLES_PER_BLOCK = 2;
    /** Fills at least this long run on several threads. */
    public static final int PARALLEL_THRESHOLD = 1 << 16;

    private static final long MASK32 = 0xFFFF_FFFFL;

    private PhiloxStream() {}

    // ---------------------------------------------------------------- block accounting

    /** Blocks a fill of {@code n} F32 elements (uniform or normal) consumes: {@code ceil(n / 4)}. */
    public static long blocksForFloats(long n) {
        requireNonNegative(n);
        return (n + 3) >>> 2;
    }

    /** Blocks a fill of {@code n} F64 elements (uniform or normal) consumes: {@code ceil(n / 2)}. */
    public static long blocksForDoubles(long n) {
        requireNonNegative(n);
        return (n + 1) >>> 1;
    }

    // ---------------------------------------------------------------- word -> unit interval

    /** The F32 uniform of one Philox word: {@code (word >>> 8) * 2^-24}, exact, in [0, 1). */
    public static float unitFloat(int word) {
        return (word >>> 8) * 0x1.0p-24f;
    }

    /**
     * The F64 uniform of two Philox words: {@code ((hi << 32 | lo) >>> 11) * 2^-53} with both words
     * unsigned; exact, in [0, 1).
     */
    public static double unitDouble(int hiWord, int loWord) {
        return bits53(hiWord, loWord) * 0x1.0p-53;
    }

    private static long bits53(int hiWord, int loWord) {
        return (((long) hiWord << 32) | (loWord & MASK32)) >>> 11;
    }

    // ---------------------------------------------------------------- random access

    /** Element {@code index} of a [0, 1) F32 uniform fill of the given seed and offset. */
    public static float uniformFloat(long seed, long offset, long index) {
        requireNonNegative(index);
        return unitFloat(word(seed, offset + (index >>> 2), (int) (index & 3)));
    }

    /** Element {@code index} of a [0, 1) F64 uniform fill of the given seed and offset. */
    public static double uniformDouble(long seed, long offset, long index) {
        requireNonNegative(index);
        long block = offset + (index >>> 1);
        int h = (int) (index & 1) * 2;
        return unitDouble(word(seed, block, h), word(seed, block, h + 1));
    }

    /** Element {@code index} of a standard (mean 0, std 1) F32 normal fill. */
    public static float normalFloat(long seed, long offset, long index) {
        requireNonNegative(index);
        long block = offset + (index >>> 2);
        int pairWord = (int) (index & 2);
        int a = word(seed, block, pairWord), b = word(seed, block, pairWord + 1);
        float r = radiusF(a);
        float t = twoU2F(b);
        return (index & 1) == 0 ? r * (float) cosPi(t) : r * (float) sinPi(t);
    }

    /** Element {@code index} of a standard (mean 0, std 1) F64 normal fill. */
    public static double normalDouble(long seed, long offset, long index) {
        requireNonNegative(index);
        long block = offset + (index >>> 1);
        double r = radiusD(word(seed, block, 0), word(seed, block, 1));
        double t = twoU2D(word(seed, block, 2), word(seed, block, 3));
        return (index & 1) == 0 ? r * cosPi(t) : r * sinPi(t);
    }

    private static int word(long seed, long block, int which) {
        return Philox4x32.word(block, 0L, seed, which);
    }

    // ---------------------------------------------------------------- fills with explicit offset

    /**
     * Fills {@code dst[dstOff .. dstOff+n)} with uniforms in [lo, hi); consumes
     * {@link #blocksForFloats}{@code (n)} blocks starting at {@code offset}.
     *
     * @throws IllegalArgumentException unless {@code lo <= hi} and {@code hi - lo} is finite
     */
    public static void fillUniform(float[] dst, int dstOff, int n, long seed, long offset, float lo, float hi) {
        Objects.checkFromIndexSize(dstOff, n, dst.length);
        if (!(lo <= hi) || !Float.isFinite(hi - lo)) {
            throw new IllegalArgumentException("need lo <= hi with finite hi - lo: [" + lo + ", " + hi + ")");
        }
        run(n, FLOATS_PER_BLOCK, (from, to) -> uniformF32(dst, dstOff, from, to, seed, offset, lo, hi));
    }

    /** F64 version of {@link #fillUniform(float[], int, int, long, long, float, float)}; consumes {@link #blocksForDoubles}{@code (n)}. */
    public static void fillUniform(double[] dst, int dstOff, int n, long seed, long offset, double lo, double hi) {
        Objects.checkFromIndexSize(dstOff, n, dst.length);
        if (!(lo <= hi) || !Double.isFinite(hi - lo)) {
            throw new IllegalArgumentException("need lo <= hi with finite hi - lo: [" + lo + ", " + hi + ")");
        }
        run(n, DOUBLES_PER_BLOCK, (from, to) -> uniformF64(dst, dstOff, from, to, seed, offset, lo, hi));
    }

    /**
     * Fills {@code dst[dstOff .. dstOff+n)} with normals {@code mean + std * z}; consumes
     * {@link #blocksForFloats}{@code (n)} blocks starting at {@code offset}.
     */
    public static void fillNormal(float[] dst, int dstOff, int n, long seed, long offset, float mean, float std) {
        Objects.checkFromIndexSize(dstOff, n, dst.length);
        run(n, FLOATS_PER_BLOCK, (from, to) -> normalF32(dst, dstOff, from, to, seed, offset, mean, std));
    }

    /** F64 version of {@link #fillNormal(float[], int, int, long, long, float, float)}; consumes {@link #blocksForDoubles}{@code (n)}. */
    public static void fillNormal(double[] dst, int dstOff, int n, long seed, long offset, double mean, double std) {
        Objects.checkFromIndexSize(dstOff, n, dst.length);
        run(n, DOUBLES_PER_BLOCK, (from, to) -> normalF64(dst, dstOff, from, to, seed, offset, mean, std));
    }

    // ---------------------------------------------------------------- fills drawing from a Generator

    /** Reserves {@link #blocksForFloats}{@code (n)} blocks of {@code gen} and fills; returns the starting offset. */
    public static long fillUniform(float[] dst, int dstOff, int n, Generator gen, float lo, float hi) {
        Objects.checkFromIndexSize(dstOff, n, dst.length);
        long offset = gen.reserve(blocksForFloats(n));
        fillUniform(dst, dstOff, n, gen.seed(), offset, lo, hi);
        return offset;
    }

    /** Reserves {@link #blocksForDoubles}{@code (n)} blocks of {@code gen} and fills; returns the starting offset. */
    public static long fillUniform(double[] dst, int dstOff, int n, Generator gen, double lo, double hi) {
        Objects.checkFromIndexSize(dstOff, n, dst.length);
        long offset = gen.reserve(blocksForDoubles(n));
        fillUniform(dst, dstOff, n, gen.seed(), offset, lo, hi);
        return offset;
    }

    /** Reserves {@link #blocksForFloats}{@code (n)} blocks of {@code gen} and fills; returns the starting offset. */
    public static long fillNormal(float[] dst, int dstOff, int n, Generator gen, float mean, float std) {
        Objects.checkFromIndexSize(dstOff, n, dst.length);
        long offset = gen.reserve(blocksForFloats(n));
        fillNormal(dst, dstOff, n, gen.seed(), offset, mean, std);
        return offset;
    }

    /** Reserves {@link #blocksForDoubles}{@code (n)} blocks of {@code gen} and fills; returns the starting offset. */
    public static long fillNormal(double[] dst, int dstOff, int n, Generator gen, double mean, double std) {
        Objects.checkFromIndexSize(dstOff, n, dst.length);
        long offset = gen.reserve(blocksForDoubles(n));
        fillNormal(dst, dstOff, n, gen.seed(), offset, mean, std);
        return offset;
    }

    // ---------------------------------------------------------------- scalar transforms (the spec)

    /** {@code lo + u * (hi - lo)} in float, kept below {@code hi} when {@code lo < hi}. */
    static float scaleUniform(float u, float lo, float hi) {
        float v = lo + u * (hi - lo);
        return v >= hi && lo < hi ? Math.nextDown(hi) : v;
    }

    /** {@code lo + u * (hi - lo)} in double, kept below {@code hi} when {@code lo < hi}. */
    static double scaleUniform(double u, double lo, double hi) {
        double v = lo + u * (hi - lo);
        return v >= hi && lo < hi ? Math.nextDown(hi) : v;
    }

    /** Box–Muller radius in float: {@code sqrt(-2 * log(u1))}, {@code u1 = ((a >>> 8) + 1) * 2^-24}. */
    static float radiusF(int a) {
        float u1 = ((a >>> 8) + 1) * 0x1.0p-24f;
        float l = (float) StrictMath.log(u1);
        return (float) Math.sqrt(-2f * l); // float sqrt via double is correctly rounded
    }

    /** {@code 2 * u2} in float (exact), {@code u2 = (b >>> 8) * 2^-24}; in [0, 2). */
    static float twoU2F(int b) {
        return 2f * unitFloat(b);
    }

    static double radiusD(int w0, int w1) {
        double u1 = (bits53(w0, w1) + 1) * 0x1.0p-53;
        return Math.sqrt(-2.0 * StrictMath.log(u1));
    }

    static double twoU2D(int w2, int w3) {
        return 2.0 * unitDouble(w2, w3);
    }

    /**
     * {@code sin(pi * t)} for {@code t} in [0, 2), with exact argument reduction (valid for the
     * dyadic {@code t} used here), exact zeros at 0 and 1 and exact +-1 at 0.5 and 1.5.
     */
    static double sinPi(double t) {
        double sign = 1.0;
        if (t >= 1.0) {
            t -= 1.0;
            sign = -1.0;
        }
        if (t > 0.5) {
            t = 1.0 - t;
        }
        double v = t <= 0.25 ? StrictMath.sin(Math.PI * t) : StrictMath.cos(Math.PI * (0.5 - t));
        return v == 0.0 ? 0.0 : sign * v;
    }

    /** {@code cos(pi * t) = sin(pi * (t + 1/2))} for {@code t} in [0, 2). */
    static double cosPi(double t) {
        return sinPi(t >= 1.5 ? t - 1.5 : t + 0.5);
    }

    // ---------------------------------------------------------------- kernels over [from, to), from block-aligned

    private static void uniformF32(float[] dst, int dstOff, int from, int to, long seed, long offset, float lo, float hi) {
        int k0 = (int) seed, k1 = (int) (seed >>> 32);
        int[] w = new int[4];
        for (int e = from; e < to; e += 4) {
            long b = offset + (e >>> 2);
            Philox4x32.block((int) b, (int) (b >>> 32), 0, 0, k0, k1, w);
            int m = Math.min(4, to - e);
            for (int j = 0; j < m; j++) {
                dst[dstOff + e + j] = scaleUniform(unitFloat(w[j]), lo, hi);
            }
        }
    }

    private static void uniformF64(double[] dst, int dstOff, int from, int to, long seed, long offset, double lo, double hi) {
        int k0 = (int) seed, k1 = (int) (seed >>> 32);
        int[] w = new int[4];
        for (int e = from; e < to; e += 2) {
            long b = offset + (e >>> 1);
            Philox4x32.block((int) b, (int) (b >>> 32), 0, 0, k0, k1, w);
            dst[dstOff + e] = scaleUniform(unitDouble(w[0], w[1]), lo, hi);
            if (e + 1 < to) {
                dst[dstOff + e + 1] = scaleUniform(unitDouble(w[2], w[3]), lo, hi);
            }
        }
    }

    private static void normalF32(float[] dst, int dstOff, int from, int to, long seed, long offset, float mean, float std) {
        int k0 = (int) seed, k1 = (int) (seed >>> 32);
        int[] w = new int[4];
        for (int e = from; e < to; e += 4) {
            long b = offset + (e >>> 2);
            Philox4x32.block((int) b, (int) (b >>> 32), 0, 0, k0, k1, w);
            for (int p = 0; p < 4 && e + p < to; p += 2) {
                float r = radiusF(w[p]);
                double t = twoU2F(w[p + 1]);
                dst[dstOff + e + p] = mean + std * (r * (float) cosPi(t));
                if (e + p + 1 < to) {
                    dst[dstOff + e + p + 1] = mean + std * (r * (float) sinPi(t));
                }
            }
        }
    }

    private static void normalF64(double[] dst, int dstOff, int from, int to, long seed, long offset, double mean, double std) {
        int k0 = (int) seed, k1 = (int) (seed >>> 32);
        int[] w = new int[4];
        for (int e = from; e < to; e += 2) {
            long b = offset + (e >>> 1);
            Philox4x32.block((int) b, (int) (b >>> 32), 0, 0, k0, k1, w);
            double r = radiusD(w[0], w[1]);
            double t = twoU2D(w[2], w[3]);
            dst[dstOff + e] = mean + std * (r * cosPi(t));
            if (e + 1 < to) {
                dst[dstOff + e + 1] = mean + std * (r * sinPi(t));
            }
        }
    }

    // ---------------------------------------------------------------- splitting

    @FunctionalInterface
    private interface RangeKernel {
        void fill(int from, int to);
    }

    /** Runs {@code kernel} over [0, n) in block-aligned chunks, in parallel when n is large. */
    private static void run(int n, int perBlock, RangeKernel kernel) {
        int threads = Runtime.getRuntime().availableProcessors();
        if (n < PARALLEL_THRESHOLD || threads < 2) {
            kernel.fill(0, n);
            return;
        }
        long want = Math.max(PARALLEL_THRESHOLD / 4, ((long) n + 4L * threads - 1) / (4L * threads));
        int chunk = (int) ((want + perBlock - 1) / perBlock * perBlock);
        int chunks = (int) (((long) n + chunk - 1) / chunk);
        IntStream.range(0, chunks).parallel().forEach(c -> {
            int from = c * chunk;
            kernel.fill(from, (int) Math.min(n, (long) from + chunk));
        });
    }

    private static void requireNonNegative(long n) {
        if (n < 0) {
            throw new IllegalArgumentException("negative: " + n);
        }
    }
}
