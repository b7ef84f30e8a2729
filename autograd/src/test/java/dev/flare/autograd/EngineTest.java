package dev.flare.autograd;

import dev.flare.tensor.MemoryScope;
import dev.flare.tensor.Tensor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/** Accumulation, detach, no-grad, graph release, scopes, custom functions, and the errors of bad use. */
class EngineTest {
    private final Leaves r = new Leaves();

    @Test
    void gradientsAccumulateAcrossBackwardCallsUntilCleared() {
        Tensor x = Tensor.fromArray(new double[]{1, 2, 3}).requiresGrad(true);
        x.mul(x).sum().backward();
        x.mul(3.0).sum().backward();
        assertArrayEquals(new double[]{5, 7, 9}, x.grad().toDoubleArray(), 1e-12);
        x.setGrad(null);
        x.sum().backward();
        assertArrayEquals(new double[]{1, 1, 1}, x.grad().toDoubleArray(), 1e-12);
    }

    /** x (64, 64) through depth tanh layers mixed by a weight; returns the backward's peak temporary bytes. */
    private static long chainBackward(int depth, Tensor x, Tensor w) {
        try (MemoryScope step = MemoryScope.open()) {
            Tensor y = x;
            for (int i = 0; i < depth; i++) y = y.matmul(w).tanh().add(y);
            Tensor loss = y.sum();
            int before = step.ownedCount();
            loss.backward();
            assertEquals(before + 1, step.ownedCount(), "backward leaves only its implied ones() gradient in the caller's scope");
        }
        return Engine.lastPeakTemporaryBytes();
    }

    @Test
    void backwardReleasesGradientsAsTheyAreConsumed() {
        Tensor x = Tensor.randn(new dev.flare.tensor.random.Generator(1), 64, 64).requiresGrad(true);
        Tensor w = Tensor.randn(new dev.flare.tensor.random.Generator(2), 64, 64).mul(0.1).requiresGrad(true);
        long shallow = chainBackward(4, x, w);
        Tensor gx4 = x.grad().copy(), gw4 = w.grad().copy();
        x.setGrad(null);
        w.setGrad(null);
        long deep = chainBackward(32, x, w);
        long oneGradient = 64 * 64 * 4;
        assertTrue(shallow >= oneGradient, "peak " + shallow + " bytes: the gradients were not counted");
        assertTrue(deep <= shallow + 2 * oneGradient, "32 layers held " + deep + " bytes of gradients at once, 4 layers " + shallow);
        assertFalse(x.grad().storage().isReleased() || w.grad().storage().isReleased(), "leaf gradients outlive the backward");
        // the gradients themselves: the same as a recomputation with the graph kept (no early release involved)
        x.setGrad(null);
        w.setGrad(null);
        chainBackward(4, x, w);
        assertArrayEquals(gx4.toDoubleArray(), x.grad().toDoubleArray(), 0);
        assertArrayEquals(gw4.toDoubleArray(), w.grad().toDoubleArray(), 0);
    }

    /**
     * Narrows of one tensor (GPT's q, k, v out of one projection) add into one gradient in place: disjoint and
     * overlapping slices, a whole-tensor consumer besides them, and a gradient shared by two inputs (add passes
     * one tensor to both) that must not be written through. Checked against dL/dy written out by hand.
     */
    @Test
    void narrowsOfOneTensorAddIntoOneGradient() {
        long seed = System.nanoTime();
        java.util.Random rnd = new java.util.Random(seed);
        int rows = 4, cols = 9;
        double[] xv = new double[rows * cols];
        for (int i = 0; i < xv.length; i++) xv[i] = rnd.nextGaussian();
        double[][] w = new double[5][];
        int[][] slices = {{0, 3}, {3, 3}, {6, 3}, {2, 4}};   // {start, length} along dim 1; the last overlaps two
        for (int k = 0; k < 4; k++) {
            w[k] = new double[rows * slices[k][1]];
            for (int i = 0; i < w[k].length; i++) w[k][i] = rnd.nextGaussian();
        }
        w[4] = new double[rows * cols];
        for (int i = 0; i < w[4].length; i++) w[4][i] = rnd.nextGaussian();

        Tensor x = Tensor.fromArray(xv, rows, cols).requiresGrad(true);
        Tensor y = x.mul(x);
        Tensor loss = y.mul(Tensor.fromArray(w[4], rows, cols)).sum();
        for (int k = 0; k < 4; k++) {
            Tensor part = y.narrow(1, slices[k][0], slices[k][1]);
            Tensor shared = part.add(part);   // add's backward hands one gradient tensor to both of its inputs
            loss = loss.add(shared.mul(Tensor.fromArray(w[k], rows, slices[k][1])).sum());
        }
        loss.backward();

        double[] expect = new double[rows * cols];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++) {
                double dy = w[4][r * cols + c];
                for (int k = 0; k < 4; k++) {
                    int c0 = c - slices[k][0];
                    if (c0 >= 0 && c0 < slices[k][1]) dy += 2 * w[k][r * slices[k][1] + c0];
                }
                expect[r * cols + c] = 2 * xv[r * cols + c] * dy;
            }
        assertArrayEquals(expect, x.grad().toDoubleArray(), 1e-12, "seed " + seed);
    }

    @Test
    void aTensorUsedTwiceGetsBothContributions() {
        Tensor x = Tensor.fromArray(new double[]{2}).requiresGrad(true);
        Tensor y = x.mul(x).add(x.exp());           // dy/dx = 2x + e^x
        y.sum().backward();
        assertEquals(4 + Math.exp(2), x.grad().item(), 1e-12);
    }

    @Test
    void sharedGradientsAreNotAliasedBetweenLeaves() {
        Tensor a = Tensor.fromArray(new double[]{1, 2}).requiresGrad(true);
        Tensor b = Tensor.fromArray(new double[]{3, 4}).requiresGrad(true);
        a.add(b).sum().backward();
        a.grad().addInPlace(Tensor.fromArray(new double[]{10, 10}));
        assertArrayEquals(new double[]{1, 1}, b.grad().toDoubleArray(), 0);
    }

    @Test
    void detachAndNoGradStopRecording() {
        Tensor x = r.leaf(3);
        assertFalse(x.detach().mul(2.0).requiresGrad());
        try (NoGrad ignored = NoGrad.enter()) {
            Tensor y = x.mul(2.0);
            assertFalse(y.requiresGrad());
            assertNull(y.gradFn());
        }
        assertTrue(x.mul(2.0).requiresGrad());
    }

    @Test
    void backwardWithAnExplicitGradient() {
        Tensor x = Tensor.fromArray(new double[]{1, 2, 3}).requiresGrad(true);
        x.mul(2.0).backward(Tensor.fromArray(new double[]{1, 10, 100}));
        assertArrayEquals(new double[]{2, 20, 200}, x.grad().toDoubleArray(), 1e-12);
    }

    @Test
    void nonScalarBackwardWithoutGradientIsAnError() {
        Tensor y = r.leaf(2, 3).mul(2.0);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, y::backward);
        assertTrue(e.getMessage().contains("[2, 3]"), e.getMessage());
    }

    @Test
    void backwardOnATensorThatDoesNotRequireGradIsAnError() {
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> r.values(2).sum().backward());
        assertTrue(e.getMessage().contains("does not require grad"), e.getMessage());
    }

    @Test
    void secondBackwardThroughAFreedGraphIsAnErrorUnlessRetained() {
        Tensor x = r.leaf(3);
        Tensor loss = x.exp().sum();
        loss.backward();
        IllegalStateException e = assertThrows(IllegalStateException.class, loss::backward);
        assertTrue(e.getMessage().contains("already freed"), e.getMessage());

        Tensor y = r.leaf(3);
        Tensor kept = y.exp().sum();
        kept.backward(Tensor.ones(kept.dtype(), kept.device()), true);
        kept.backward(Tensor.ones(kept.dtype(), kept.device()), true);
        assertArrayEquals(y.exp().mul(2.0).toDoubleArray(), y.grad().toDoubleArray(), 1e-12);
    }

    @Test
    void inPlaceChangeOfASavedTensorIsCaught() {
        Tensor x = r.leaf(3);
        Tensor w = r.values(3);
        Tensor y = x.mul(w).sum();
        w.addInPlace(Tensor.ones(w.dtype(), w.device(), 3));
        IllegalStateException e = assertThrows(IllegalStateException.class, y::backward);
        assertTrue(e.getMessage().contains("modified in place"), e.getMessage());
    }

    @Test
    void wrongGradientShapeIsAnError() {
        Tensor y = r.leaf(2).mul(2.0);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> y.backward(r.values(3)));
        assertTrue(e.getMessage().contains("expected shape [2]"), e.getMessage());
    }

    @Test
    void stepScopeFreesIntermediatesButKeepsLeafGradients() {
        Tensor w = r.leaf(4, 4);
        Tensor hidden;
        try (MemoryScope step = MemoryScope.open()) {
            hidden = r.values(2, 4).matmul(w).tanh();
            hidden.sum().backward();
            assertTrue(step.ownedCount() > 0);
        }
        assertTrue(hidden.storage().isReleased(), "intermediates are released when the step's scope closes");
        assertFalse(w.grad().storage().isReleased(), "a leaf's gradient outlives the step");
        assertFalse(w.storage().isReleased());
    }

    static final class Cube extends dev.flare.autograd.Function {
        private Tensor x;

        @Override
        protected Tensor forward(Tensor... in) {
            x = in[0];
            save(x);
            return x.mul(x).mul(x);
        }

        @Override
        protected Tensor[] backward(Tensor g) {
            return new Tensor[]{g.mul(x.square()).mul(3.0), null};
        }
    }

    @Test
    void customFunctionsPlugIntoTheGraph() {
        Tensor x = r.leaf(5);
        Tensor ignored = r.values(5);
        GradCheck.check(in -> new Cube().apply(in.get(0), ignored).sum(), java.util.List.of(x));
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> {
            Cube c = new Cube();
            c.apply(x, ignored);
            c.apply(x, ignored);
        });
        assertTrue(e.getMessage().contains("applied once"), e.getMessage());
    }

    static final class WrongCube extends dev.flare.autograd.Function {
        private Tensor x;

        @Override
        protected Tensor forward(Tensor... in) {
            x = in[0];
            return x.mul(x).mul(x);
        }

        @Override
        protected Tensor[] backward(Tensor g) {
            return new Tensor[]{g.mul(x.square()).mul(2.9)};     // should be 3
        }
    }

    @Test
    void theGradientCheckerCatchesAWrongGradient() {
        Tensor x = r.leaf(4);
        GradCheck.GradCheckError e = assertThrows(GradCheck.GradCheckError.class,
                () -> GradCheck.check(in -> new WrongCube().apply(in.get(0)).sum(), java.util.List.of(x)));
        assertTrue(e.getMessage().contains("inputs[0]"), e.getMessage());
    }

    @Test
    void deepChainsDoNotOverflowTheStack() {
        Tensor x = Tensor.fromArray(new double[]{1}).requiresGrad(true);
        Tensor y = x;
        for (int i = 0; i < 20_000; i++) y = y.add(1.0);
        y.sum().backward();
        assertEquals(1.0, x.grad().item(), 0);
    }
}
