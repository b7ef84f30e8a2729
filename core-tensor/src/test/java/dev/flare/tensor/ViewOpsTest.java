package dev.flare.tensor;

import dev.flare.tensor.TestTensors.Kind;
import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every view op against a reference model (values in row-major order plus a shape), alone and chained. */
class ViewOpsTest {
    private final TestTensors r = new TestTensors();

    /** The reference: logical values and shape. */
    record Ref(double[] v, int[] shape) {
        Ref permute(int[] perm) {
            int[] s = new int[perm.length];
            for (int i = 0; i < perm.length; i++) s[i] = shape[perm[i]];
            double[] out = new double[v.length];
            for (int f = 0; f < out.length; f++) {
                int[] idx = TestTensors.unravel(f, s), in = new int[perm.length];
                for (int i = 0; i < perm.length; i++) in[perm[i]] = idx[i];
                out[f] = v[TestTensors.ravel(in, shape)];
            }
            return new Ref(out, s);
        }

        Ref narrow(int dim, int start, int len) {
            int[] s = shape.clone();
            s[dim] = len;
            double[] out = new double[(int) TestTensors.numel(s)];
            for (int f = 0; f < out.length; f++) {
                int[] idx = TestTensors.unravel(f, s);
                idx[dim] += start;
                out[f] = v[TestTensors.ravel(idx, shape)];
            }
            return new Ref(out, s);
        }

        Ref reshape(int[] s) { return new Ref(v, s); }

        Ref expand(int[] s) { return new Ref(TestTensors.broadcast(v, shape, s), s); }
    }

    private int[] randomPerm(int n) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) p[i] = i;
        for (int i = n - 1; i > 0; i--) {
            int j = r.nextInt(0, i + 1), t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        return p;
    }

    private static int[] without(int[] s, int dim) {
        int[] o = new int[s.length - 1];
        for (int i = 0, j = 0; i < s.length; i++) if (i != dim) o[j++] = s[i];
        return o;
    }

    private static int[] with(int[] s, int dim, int size) {
        int[] o = new int[s.length + 1];
        for (int i = 0, j = 0; i <= s.length; i++) o[i] = i == dim ? size : s[j++];
        return o;
    }

    /** A random factorization of the shape's element count (with one -1 sometimes). */
    private int[] randomNewShape(int[] shape) {
        long n = TestTensors.numel(shape);
        if (n == 0) return r.chance(0.5) ? new int[]{0} : new int[]{2, 0, 3};
        java.util.List<Integer> dims = new java.util.ArrayList<>();
        long rest = n;
        while (rest > 1 && dims.size() < 4) {
            java.util.List<Integer> divisors = new java.util.ArrayList<>();
            for (int d = 2; d <= rest; d++) if (rest % d == 0) divisors.add(d);
            int d = divisors.get(r.nextInt(0, divisors.size()));
            dims.add(d);
            rest /= d;
            if (r.chance(0.2)) dims.add(1);
        }
        if (rest > 1) dims.add((int) rest);
        int[] s = dims.stream().mapToInt(Integer::intValue).toArray();
        if (s.length > 0 && r.chance(0.4)) s[r.nextInt(0, s.length)] = -1;
        return s;
    }

    @Test
    void randomChainsOfViewsReadTheRightElements() {
        for (int trial = 0; trial < 300; trial++) {
            DType dt = r.pick(DType.values());
            int[] shape = r.shape(4, 5, 0.05);
            double[] x = r.values(dt, (int) TestTensors.numel(shape), Kind.NORMAL);
            Tensor t = r.tensor(x, shape, dt);
            Ref ref = new Ref(x, shape);
            StringBuilder chain = new StringBuilder(Shapes.str(shape) + " " + dt);
            for (int step = 0; step < 5; step++) {
                int rank = ref.shape().length;
                int kind = r.nextInt(0, 12);
                Tensor before = t;
                boolean mayCopy = false;
                switch (kind) {
                    case 0 -> {
                        if (rank < 2) continue;
                        int a = r.nextInt(0, rank), b = r.nextInt(0, rank);
                        chain.append(" .transpose(").append(a).append(',').append(b).append(')');
                        int[] p = new int[rank];
                        for (int i = 0; i < rank; i++) p[i] = i;
                        p[a] = b;
                        p[b] = a;
                        t = t.transpose(a - (r.chance(0.5) ? rank : 0), b);
                        ref = ref.permute(p);
                    }
                    case 1 -> {
                        int[] p = randomPerm(rank);
                        chain.append(" .permute").append(Arrays.toString(p));
                        t = t.permute(p);
                        ref = ref.permute(p);
                    }
                    case 2 -> {
                        if (rank == 0) continue;
                        int d = r.nextInt(0, rank), size = ref.shape()[d];
                        int start = r.nextInt(0, size + 1), len = r.nextInt(0, size - start + 1);
                        chain.append(" .narrow(").append(d).append(',').append(start).append(',').append(len).append(')');
                        t = t.narrow(d, start, len);
                        ref = ref.narrow(d, start, len);
                    }
                    case 3 -> {
                        if (rank == 0) continue;
                        int d = r.nextInt(0, rank), size = ref.shape()[d];
                        int start = r.nextInt(-size - 2, size + 3), end = r.nextInt(-size - 2, size + 3);
                        chain.append(" .slice(").append(d).append(',').append(start).append(',').append(end).append(')');
                        t = t.slice(d, start, end);
                        int s = start < 0 ? Math.max(start + size, 0) : Math.min(start, size);
                        int e = end < 0 ? Math.max(end + size, 0) : Math.min(end, size);
                        ref = ref.narrow(d, s, Math.max(e - s, 0));
                    }
                    case 4 -> {
                        if (rank == 0) continue;
                        int d = r.nextInt(0, rank), size = ref.shape()[d];
                        if (size == 0) continue;
                        int i = r.nextInt(-size, size);
                        chain.append(" .select(").append(d).append(',').append(i).append(')');
                        t = t.select(d, i);
                        Ref n = ref.narrow(d, i < 0 ? i + size : i, 1);
                        ref = n.reshape(without(n.shape(), d));
                    }
                    case 5 -> {
                        int d = r.nextInt(0, rank + 1);
                        chain.append(" .unsqueeze(").append(d).append(')');
                        t = t.unsqueeze(r.chance(0.3) ? d - rank - 1 : d);
                        ref = ref.reshape(with(ref.shape(), d, 1));
                    }
                    case 6 -> {
                        if (rank == 0) continue;
                        int d = r.nextInt(0, rank);
                        chain.append(" .squeeze(").append(d).append(')');
                        t = t.squeeze(d);
                        if (ref.shape()[d] == 1) ref = ref.reshape(without(ref.shape(), d));
                        else assertSame(before, t, r.at("squeeze of a dim that is not 1 returns the tensor"));
                    }
                    case 7 -> {
                        chain.append(" .squeeze()");
                        t = t.squeeze();
                        ref = ref.reshape(Arrays.stream(ref.shape()).filter(s -> s != 1).toArray());
                    }
                    case 8 -> {
                        int extra = r.nextInt(0, 2);
                        int[] target = new int[rank + extra], resolved = new int[rank + extra];
                        for (int i = 0; i < target.length; i++) {
                            int have = i < extra ? 1 : ref.shape()[i - extra];
                            target[i] = have == 1 ? r.nextInt(0, 4) : r.chance(0.5) ? -1 : have;
                            resolved[i] = target[i] == -1 ? have : target[i];
                        }
                        chain.append(" .expand").append(Arrays.toString(target));
                        t = t.expand(target);
                        ref = ref.expand(resolved);
                    }
                    case 9 -> {
                        int[] ns = randomNewShape(ref.shape());
                        chain.append(" .reshape").append(Arrays.toString(ns));
                        t = t.reshape(ns);
                        mayCopy = true;
                        ref = ref.reshape(t.shape());
                        assertEquals(TestTensors.numel(ref.shape()), ref.v().length, r.at("reshape keeps the count " + chain));
                    }
                    case 10 -> {
                        int[] ns = randomNewShape(ref.shape());
                        chain.append(" .view").append(Arrays.toString(ns));
                        boolean wasContiguous = t.isContiguous();
                        try {
                            t = t.view(ns);
                            ref = ref.reshape(t.shape());
                        } catch (IllegalArgumentException e) {
                            assertTrue(!wasContiguous, r.at("a contiguous tensor can always be viewed: " + chain + ": " + e.getMessage()));
                            assertTrue(e.getMessage().contains("use reshape()"), r.at("message: " + e.getMessage()));
                        }
                    }
                    default -> {
                        chain.append(r.chance(0.5) ? " .contiguous()" : " .flatten()");
                        boolean wasContiguous = t.isContiguous();
                        if (chain.toString().endsWith(".contiguous()")) {
                            t = t.contiguous();
                            if (wasContiguous) assertSame(before, t, r.at("contiguous() of a contiguous tensor is the tensor"));
                            assertTrue(t.isContiguous(), r.at("contiguous() is contiguous"));
                        } else {
                            t = t.flatten();
                            ref = ref.reshape(new int[]{ref.v().length});
                        }
                        mayCopy = true;
                    }
                }
                assertArrayEquals(ref.shape(), t.shape(), r.at("shape after " + chain));
                r.assertExact(ref.v(), TestTensors.read(t), "values after " + chain);
                if (!mayCopy) assertSame(before.storage(), t.storage(), r.at("a view shares storage: " + chain));
            }
        }
    }

    @Test
    void viewOfATransposeNeedsReshapeWhichCopies() {
        Tensor x = Tensor.fromArray(new float[]{0, 1, 2, 3, 4, 5}, 2, 3);
        Tensor t = x.t();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> t.view(6));
        assertTrue(e.getMessage().contains("shape [3, 2] and strides [1, 3] cannot be viewed as [6]"), r.at(e.getMessage()));
        Tensor flat = t.reshape(-1);
        assertNotSame(x.storage(), flat.storage(), r.at("reshape of a transpose copies"));
        r.assertExact(new double[]{0, 3, 1, 4, 2, 5}, TestTensors.read(flat), "reshape of a transpose");
        assertSame(x.storage(), x.reshape(3, -1).storage(), r.at("reshape of a contiguous tensor is a view"));
        assertArrayEquals(new int[]{3, 2}, x.view(-1, 2).shape(), r.at("-1 is inferred"));
        Tensor c = t.contiguous();
        assertNotSame(t, c, r.at("contiguous() copies a transpose"));
        assertArrayEquals(new long[]{2, 1}, c.strides(), r.at("contiguous strides"));
        Tensor copy = x.copy();
        assertNotSame(x.storage(), copy.storage(), r.at("copy() never shares"));
        copy.fill(9);
        assertEquals(1.0, x.get(0, 1), r.at("writing the copy leaves the original"));
    }

    @Test
    void viewsOfNarrowedAndExpandedTensorsKeepTheirStrides() {
        Tensor x = Tensor.arange(0, 24, 1, DType.F32, Device.CPU).view(2, 3, 4);
        Tensor n = x.narrow(2, 1, 2);                           // (2, 3, 2), strides (12, 4, 1)
        assertArrayEquals(new long[]{12, 4, 1}, n.strides(), r.at("narrow keeps strides"));
        assertEquals(1, n.offset(), r.at("narrow offset"));
        Tensor v = x.narrow(0, 1, 1).view(3, 4);                // contiguous block at offset 12
        assertEquals(12, v.offset(), r.at("view keeps the offset"));
        assertEquals(23.0, v.get(2, 3), r.at("view element"));
        Tensor e = Tensor.arange(0, 3, 1, DType.F32, Device.CPU).view(3, 1).expand(2, -1, 4);
        assertArrayEquals(new long[]{0, 1, 0}, e.strides(), r.at("expand gives stride 0"));
        r.assertExact(TestTensors.broadcast(new double[]{0, 1, 2}, new int[]{3, 1}, new int[]{2, 3, 4}), TestTensors.read(e.contiguous()), "expand");
        assertArrayEquals(new int[]{2, 12}, e.reshape(2, 12).shape(), r.at("reshape of an expanded tensor"));
        r.assertExact(TestTensors.read(e), TestTensors.read(e.reshape(2, 12)), "reshape of an expanded tensor keeps values");
        Tensor s = x.select(1, -1);
        assertArrayEquals(new int[]{2, 4}, s.shape(), r.at("select drops the dim"));
        assertEquals(8.0, s.get(0, 0), r.at("select -1 picks the last"));
        assertArrayEquals(new int[]{0, 3, 4}, x.slice(0, 5, 9).shape(), r.at("slice past the end is empty"));
        assertArrayEquals(new int[]{2, 3, 4}, x.slice(0, -9, 100).shape(), r.at("slice clamps"));
    }
}
