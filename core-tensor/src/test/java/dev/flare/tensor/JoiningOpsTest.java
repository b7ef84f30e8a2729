package dev.flare.tensor;

import dev.flare.tensor.TestTensors.Kind;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

/** cat, stack, split and chunk against index-math references. */
class JoiningOpsTest {
    private final TestTensors r = new TestTensors();

    /** Concatenation along dim of references (values, shapes) by explicit index math. */
    static double[] refCat(List<double[]> values, List<int[]> shapes, int dim, int[] outShape) {
        double[] out = new double[(int) TestTensors.numel(outShape)];
        for (int f = 0; f < out.length; f++) {
            int[] idx = TestTensors.unravel(f, outShape);
            int k = 0, at = idx[dim];
            while (at >= shapes.get(k)[dim]) at -= shapes.get(k++)[dim];
            idx[dim] = at;
            out[f] = values.get(k)[TestTensors.ravel(idx, shapes.get(k))];
        }
        return out;
    }

    @Test
    void catJoinsNonContiguousPiecesIncludingEmptyOnes() {
        for (int trial = 0; trial < 40; trial++) {
            DType dt = r.pick(DType.values());
            int[] base = r.shape(4, 4, 0.05);
            if (base.length == 0) base = new int[]{r.nextInt(1, 4)};
            int dim = r.nextInt(0, base.length);
            int k = r.nextInt(1, 5);
            List<Tensor> ts = new ArrayList<>();
            List<double[]> vs = new ArrayList<>();
            List<int[]> ss = new ArrayList<>();
            int total = 0;
            for (int i = 0; i < k; i++) {
                int[] s = base.clone();
                s[dim] = r.chance(0.2) ? 0 : r.nextInt(1, 4);
                total += s[dim];
                double[] v = r.values(dt, (int) TestTensors.numel(s), Kind.NORMAL);
                ts.add(r.tensor(v, s, dt));
                vs.add(v);
                ss.add(s);
            }
            int[] outShape = base.clone();
            outShape[dim] = total;
            Tensor c = Tensor.cat(ts, r.chance(0.5) ? dim - base.length : dim);
            r.assertTensor(refCat(vs, ss, dim, outShape), outShape, c, false, "cat of " + k + " along " + dim + " " + dt);
        }
    }

    @Test
    void stackAddsANewDimAtAnyPosition() {
        for (int trial = 0; trial < 30; trial++) {
            DType dt = r.pick(DType.values());
            int[] s = r.shape(3, 4, 0.05);
            int dim = r.nextInt(0, s.length + 1);
            int k = r.nextInt(1, 4);
            List<Tensor> ts = new ArrayList<>();
            List<double[]> vs = new ArrayList<>();
            for (int i = 0; i < k; i++) {
                double[] v = r.values(dt, (int) TestTensors.numel(s), Kind.NORMAL);
                vs.add(v);
                ts.add(r.tensor(v, s, dt));
            }
            int[] outShape = new int[s.length + 1];
            for (int i = 0, j = 0; i < outShape.length; i++) outShape[i] = i == dim ? k : s[j++];
            double[] expected = new double[(int) TestTensors.numel(outShape)];
            for (int f = 0; f < expected.length; f++) {
                int[] idx = TestTensors.unravel(f, outShape), in = new int[s.length];
                for (int i = 0, j = 0; i < idx.length; i++) if (i != dim) in[j++] = idx[i];
                expected[f] = vs.get(idx[dim])[TestTensors.ravel(in, s)];
            }
            r.assertTensor(expected, outShape, Tensor.stack(ts, dim), false, "stack of " + k + " " + Shapes.str(s) + " at " + dim);
        }
    }

    @Test
    void splitAndChunkGiveViewsCoveringTheDim() {
        for (int trial = 0; trial < 40; trial++) {
            int[] s = {r.nextInt(0, 9), r.nextInt(1, 4)};
            int dim = r.nextInt(0, 2);
            double[] x = r.values(DType.F32, (int) TestTensors.numel(s), Kind.NORMAL);
            Tensor t = r.tensor(x, s, DType.F32);
            int n = s[dim], size = r.nextInt(1, 5);
            List<Tensor> parts = t.split(size, dim);
            assertEquals(n == 0 ? 1 : Math.ceilDiv(n, size), parts.size(), r.at("split(" + size + ") of " + n + ": count"));
            int at = 0;
            for (Tensor p : parts) {
                assertSame(t.storage(), p.storage(), r.at("split gives views"));
                int len = p.size(dim);
                assertEquals(Math.min(size, n - at), len, r.at("split piece size"));
                r.assertExact(new ViewOpsTest.Ref(x, s).narrow(dim, at, len).v(), TestTensors.read(p), "split piece at " + at);
                at += len;
            }
            assertEquals(n, at, r.at("split covers the dim"));
            int chunks = r.nextInt(1, 6);
            List<Tensor> cs = t.chunk(chunks, dim);
            int each = Math.max(1, Math.ceilDiv(n, chunks));
            assertEquals(n == 0 ? 1 : Math.ceilDiv(n, each), cs.size(), r.at("chunk(" + chunks + ") of " + n + ": count"));
            int sum = 0;
            for (Tensor c : cs) sum += c.size(dim);
            assertEquals(n, sum, r.at("chunks cover the dim"));
        }
        Tensor x = Tensor.arange(0, 10, 1, DType.F32, Device.CPU);
        int[] sizes = x.chunk(4, 0).stream().mapToInt(c -> c.size(0)).toArray();
        assertArrayEquals(new int[]{3, 3, 3, 1}, sizes, r.at("chunk(4) of 10 is 3, 3, 3, 1 as in PyTorch"));
    }
}
