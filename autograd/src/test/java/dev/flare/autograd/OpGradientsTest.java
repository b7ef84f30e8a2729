package dev.flare.autograd;

import dev.flare.tensor.Tensor;
import dev.flare.tensor.random.Generator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.List;
import java.util.function.Function;

import dev.flare.tensor.ops.UnaryOp;

/** Every differentiable op passes the finite-difference gradient check, with broadcasting and strided inputs. */
class OpGradientsTest {
    private final Leaves r = new Leaves();

    private void check(Function<List<Tensor>, Tensor> f, Tensor... inputs) {
        try {
            GradCheck.check(f, List.of(inputs), GradCheck.Tolerance.DEFAULT, r.seed);
        } catch (AssertionError e) {
            throw new AssertionError(e.getMessage() + " [" + r.why() + "]", e);
        }
    }

    @ParameterizedTest
    @EnumSource(value = UnaryOp.class, names = {"NOT", "SIGN", "ABS", "RELU"}, mode = EnumSource.Mode.EXCLUDE)
    void unaryOpsMatchFiniteDifferences(UnaryOp op) {
        boolean positive = op == UnaryOp.LOG || op == UnaryOp.SQRT || op == UnaryOp.RSQRT || op == UnaryOp.RECIPROCAL;
        Tensor x = positive ? r.positiveLeaf(0.5, 2.0, 3, 5) : r.transposedLeaf(3, 5);
        check(in -> dev.flare.tensor.ops.Elementwise.unary(op, in.get(0)), x);
    }

    @Test
    void absAndReluAwayFromTheKink() {
        Tensor x = r.positiveLeaf(0.2, 1.0, 4, 3);
        Tensor sign = Tensor.fromArray(new double[]{1, -1, 1, -1, -1, 1, 1, 1, -1, -1, 1, -1}, 4, 3);
        check(in -> in.get(0).mul(sign).abs(), x);
        check(in -> in.get(0).mul(sign).relu(), x);
    }

    @Test
    void binaryOpsBroadcastTheirGradients() {
        Tensor a = r.leaf(2, 3, 4), b = r.leaf(3, 1), c = r.leaf(4);
        check(in -> in.get(0).add(in.get(1)).sub(in.get(2)), a, b, c);
        check(in -> in.get(0).mul(in.get(1)).mul(in.get(2)), a, b, c);
        Tensor pos = r.positiveLeaf(0.5, 2.0, 3, 1);
        check(in -> in.get(0).div(in.get(1)), a, pos);
        check(in -> in.get(0).pow(in.get(1)), r.positiveLeaf(0.5, 2.0, 2, 3), r.leaf(3));
        check(in -> in.get(0).maximum(in.get(1)).add(in.get(0).minimum(in.get(1))), r.leaf(3, 4), r.leaf(4));
    }

    @Test
    void scalarOpsOnBothSides() {
        Tensor x = r.positiveLeaf(0.5, 2.0, 3, 4);
        check(in -> in.get(0).add(1.5).sub(0.5).mul(3.0).div(2.0), x);
        check(in -> in.get(0).rsub(2.0), x);
        check(in -> in.get(0).pow(3.0).add(in.get(0).pow(0.5)), x);
        check(in -> in.get(0).maximum(1.0).add(in.get(0).minimum(1.2)), r.leaf(3, 4));
        check(in -> dev.flare.tensor.ops.Elementwise.scalar(dev.flare.tensor.ops.BinaryOp.DIV, in.get(0), 2.0, true), x);
        check(in -> dev.flare.tensor.ops.Elementwise.scalar(dev.flare.tensor.ops.BinaryOp.POW, in.get(0), 1.7, true), x);
    }

    @Test
    void whereAndMaskedFill() {
        Tensor a = r.leaf(3, 4), b = r.leaf(4);
        Tensor cond = r.values(3, 4).gt(0.0);
        check(in -> Tensor.where(cond, in.get(0), in.get(1)), a, b);
        check(in -> in.get(0).maskedFill(cond, -2.0), a);
    }

    @Test
    void reductionsOverDims() {
        Tensor x = r.leaf(3, 4, 5);
        check(in -> in.get(0).sum(), x);
        check(in -> in.get(0).sum(new int[]{0, 2}, true), x);
        check(in -> in.get(0).sum(1, false), x);
        check(in -> in.get(0).mean(-1, false), x);
        check(in -> in.get(0).mean(), x);
        check(in -> in.get(0).max(1, false), x);
        check(in -> in.get(0).min(new int[]{0, 1}, true), x);
        check(in -> in.get(0).var(new int[]{2}, 1, false), x);
        check(in -> in.get(0).var(new int[]{0, 1}, 0, true), x);
    }

    @Test
    void matmulIn2dBatchedBroadcastAnd1d() {
        check(in -> in.get(0).matmul(in.get(1)), r.leaf(3, 5), r.transposedLeaf(5, 2));
        check(in -> in.get(0).matmul(in.get(1)), r.leaf(2, 3, 4), r.leaf(4, 5));
        check(in -> in.get(0).transpose(0, 1).matmul(in.get(1)), r.leaf(3, 2, 4), r.leaf(4, 5));   // flattened by a copy
        check(in -> in.get(0).matmul(in.get(1)), r.leaf(2, 3, 4), r.leaf(4));
        check(in -> in.get(0).matmul(in.get(1)), r.leaf(2, 1, 3, 4), r.leaf(3, 4, 2));
        check(in -> in.get(0).matmul(in.get(1)), r.leaf(4), r.leaf(4, 3));
        check(in -> in.get(0).matmul(in.get(1)), r.leaf(3, 4), r.leaf(4));
    }

    @Test
    void matmulAddBiasWithAndWithoutBias() {
        check(in -> in.get(0).matmulAddBias(in.get(1), in.get(2)), r.leaf(3, 5), r.transposedLeaf(5, 2), r.leaf(2));
        check(in -> in.get(0).unsqueeze(0).matmulAddBias(in.get(1), in.get(2)), r.transposedLeaf(4, 3), r.leaf(3, 6), r.leaf(6));
        check(in -> in.get(0).matmulAddBias(in.get(1), null), r.leaf(2, 3, 4), r.leaf(4, 5));
    }

    @Test
    void softmaxLayerNormEmbeddingCrossEntropy() {
        check(in -> in.get(0).softmax(-1), r.leaf(3, 7));
        check(in -> in.get(0).softmax(0), r.transposedLeaf(4, 3));
        check(in -> in.get(0).logSoftmax(1), r.leaf(2, 5, 3));
        check(in -> in.get(0).layerNorm(in.get(1), in.get(2), 1e-5), r.leaf(4, 6), r.leaf(6), r.leaf(6));
        check(in -> in.get(0).layerNorm(null, null, 1e-5), r.leaf(2, 3, 5));
        Tensor ids = r.ids(5, 2, 3);
        check(in -> Tensor.embedding(in.get(0), ids), r.leaf(5, 4));
        Tensor targets = Tensor.fromArray(new long[]{1, -100, 0, 4, 2, -100}, 6);
        check(in -> Tensor.crossEntropy(in.get(0), targets), r.leaf(6, 5));
        Tensor targets2 = Tensor.fromArray(new long[]{1, 3, 0, 2}, 2, 2);
        check(in -> Tensor.crossEntropy(in.get(0), targets2, 3), r.leaf(2, 2, 4));
    }

    @Test
    void viewsRouteGradientsBack() {
        Tensor x = r.leaf(2, 3, 4);
        check(in -> in.get(0).reshape(6, 4).mul(in.get(0).view(4, 6).t()), x);
        check(in -> in.get(0).permute(2, 0, 1).contiguous(), x);
        check(in -> in.get(0).transpose(0, 2).narrow(1, 1, 2), x);
        check(in -> in.get(0).slice(2, 1, -1).select(0, 1), x);
        check(in -> in.get(0).unsqueeze(1).expand(2, 5, 3, 4), x);
        check(in -> in.get(0).narrow(0, 0, 1).squeeze(0).flatten(), x);
    }

    @Test
    void joiningAndSplitting() {
        Tensor a = r.leaf(2, 3), b = r.leaf(4, 3);
        check(in -> Tensor.cat(List.of(in.get(0), in.get(1)), 0), a, b);
        check(in -> Tensor.stack(List.of(in.get(0), in.get(0).mul(2.0)), 1), a);
        check(in -> {
            List<Tensor> parts = in.get(0).split(2, 0);
            return parts.get(0).mul(parts.get(1));
        }, b);
        check(in -> in.get(0).chunk(3, 1).get(2), a);
    }

    @Test
    void castsAndDropout() {
        check(in -> in.get(0).to(dev.flare.tensor.DType.F64).mul(2.0), r.leaf(3));
        // A fresh generator per evaluation gives the same mask each time, as the finite differences need.
        check(in -> in.get(0).dropout(0.3, new Generator(7)), r.leaf(6, 5));
    }
}
