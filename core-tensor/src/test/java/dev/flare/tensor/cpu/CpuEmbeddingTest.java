package dev.flare.tensor.cpu;

import dev.flare.tensor.DType;
import dev.flare.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;

import static dev.flare.tensor.cpu.NNFixtures.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;

class CpuEmbeddingTest {
    private final long seed = seed();
    private final Random rnd = new Random(seed);

    private static final DType[] FLOATS = {DType.F32, DType.F64, DType.BF16, DType.F16};

    private int[] randomIdsShape(int maxPerDim) {
        int rank = 1 + rnd.nextInt(3);
        int[] shape = new int[rank];
        for (int i = 0; i < rank; i++) shape[i] = 1 + rnd.nextInt(maxPerDim);
        return shape;
    }

    private long[] randomIds(int n, int vocab) {
        long[] ids = new long[n];
        for (int i = 0; i < n; i++) ids[i] = rnd.nextInt(vocab);
        return ids;
    }

    private static int[] outShape(int[] idsShape, int d) {
        int[] s = Arrays.copyOf(idsShape, idsShape.length + 1);
        s[idsShape.length] = d;
        return s;
    }

    @Test
    void embeddingGathersRowsExactlyForEveryDTypeIdTypeAndLayout() {
        for (DType dt : FLOATS)
            for (DType it : new DType[]{DType.I32, DType.I64})
                for (int d : new int[]{1, 3, 65, 768}) {
                    int vocab = 1 + rnd.nextInt(70);
                    int[] idsShape = randomIdsShape(d >= 65 ? 6 : 12);
                    int n = numel(idsShape);
                    long[] idv = randomIds(n, vocab);
                    Tensor weight = tensor(dt, gaussian(rnd, vocab * d, 1), new int[]{vocab, d}, rnd, rnd.nextBoolean());
                    Tensor ids = NNFixtures.ids(it, idv, idsShape, rnd, rnd.nextBoolean());
                    Tensor out = out(dt, outShape(idsShape, d));
                    CPU.embedding(weight, ids, out);
                    double[] w = read(weight), ref = new double[n * d];
                    for (int i = 0; i < n; i++) System.arraycopy(w, (int) idv[i] * d, ref, i * d, d);
                    assertClose("embedding " + dt + " " + it + " ids " + Arrays.toString(idsShape) + " d " + d
                            + " weight strides " + Arrays.toString(weight.strides()), ref, read(out), 0, 0, seed);
                }
    }

    /**
     * The reference sums each dWeight row in position order in double, starting from its prior value, and rounds
     * once: the kernel must match it bit for bit whatever the thread count (deterministic scatter-add).
     */
    private double[] scatterAddRef(double[] prior, double[] g, long[] idv, int d, DType dt) {
        double[] acc = prior.clone();
        for (int i = 0; i < idv.length; i++)
            for (int j = 0; j < d; j++) acc[(int) idv[i] * d + j] += g[i * d + j];
        for (int i = 0; i < acc.length; i++) acc[i] = round(dt, acc[i]);
        return acc;
    }

    @Test
    void embeddingBackwardScatterAddsRepeatedIdsDeterministically() {
        for (DType dt : FLOATS)
            for (DType it : new DType[]{DType.I32, DType.I64})
                for (int d : new int[]{1, 3, 64, 129}) {
                    int vocab = 1 + rnd.nextInt(d == 1 ? 3 : 70);   // few rows: many repeated ids
                    int[] idsShape = d >= 64 ? new int[]{1 + rnd.nextInt(8), 1 + rnd.nextInt(200)} : randomIdsShape(12);
                    int n = numel(idsShape);
                    long[] idv = randomIds(n, vocab);
                    double[] gv = gaussian(rnd, n * d, 1);
                    Tensor dOut = tensor(dt, gv, outShape(idsShape, d), rnd, rnd.nextBoolean());
                    Tensor ids = NNFixtures.ids(it, idv, idsShape, rnd, rnd.nextBoolean());
                    // The caller zeroes dWeight; a non-zero start checks that the kernel adds (+=) rather than overwrites.
                    double[] prior = gaussian(rnd, vocab * d, 1);
                    Tensor dWeight = tensor(dt, prior, vocab, d);
                    CPU.embeddingBackward(dOut, ids, dWeight);
                    double[] expected = scatterAddRef(read(tensor(dt, prior, vocab, d)), read(dOut), idv, d, dt);
                    String what = "embeddingBackward " + dt + " " + it + " ids " + Arrays.toString(idsShape) + " vocab " + vocab + " d " + d;
                    assertClose(what, expected, read(dWeight), 0, 0, seed);
                }
    }

    @Test
    void embeddingBackwardIsBitwiseRepeatableOnALargeMultithreadedBatch() {
        int vocab = 65, d = 64, n = 8 * 256;
        long[] idv = randomIds(n, vocab);
        for (int i = 0; i < n; i += 3) idv[i] = 7;                  // one very frequent token
        Tensor dOut = tensor(DType.F32, gaussian(rnd, n * d, 1), new int[]{8, 256, d}, rnd, false);
        Tensor ids = NNFixtures.ids(DType.I64, idv, new int[]{8, 256}, rnd, false);
        double[] first = null;
        for (int rep = 0; rep < 3; rep++) {
            Tensor dWeight = tensor(DType.F32, new double[vocab * d], vocab, d);
            CPU.embeddingBackward(dOut, ids, dWeight);
            double[] got = read(dWeight);
            if (first == null) {
                first = got;
                assertClose("large embeddingBackward", scatterAddRef(new double[vocab * d], read(dOut), idv, d, DType.F32), got, 0, 0, seed);
            } else {
                assertArrayEquals(first, got, "repeat " + rep + "; " + replay(seed));
            }
        }
    }
}
