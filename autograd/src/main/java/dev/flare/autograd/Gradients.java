package dev.flare.autograd;

import dev.flare.tensor.Tensor;
import dev.flare.tensor.ops.BinaryOp;
import dev.flare.tensor.ops.OpCall;
import dev.flare.tensor.ops.ReduceOp;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The backward formula of every core op. Each returns one gradient per input of the call (null where none
 * is needed), already reduced to the input's shape. Runs inside NoGrad.
 */
final class Gradients {
    private Gradients() {}

    /** The tensors each op's backward reads (checked for in-place changes). */
    static Tensor[] savedFor(OpCall call) {
        List<Tensor> s = new ArrayList<>();
        switch (call) {
            case OpCall.Unary u -> { s.add(u.x()); s.add(u.y()); }
            case OpCall.Binary b -> {
                if (b.op() != BinaryOp.ADD && b.op() != BinaryOp.SUB) { s.add(b.a()); s.add(b.b()); s.add(b.y()); }
            }
            case OpCall.Scalar sc -> {
                if (sc.op() != BinaryOp.ADD && sc.op() != BinaryOp.SUB && sc.op() != BinaryOp.MUL) { s.add(sc.x()); s.add(sc.y()); }
            }
            case OpCall.Where w -> s.add(w.cond());
            case OpCall.Reduce r -> {
                if (r.op() == ReduceOp.MAX || r.op() == ReduceOp.MIN) { s.add(r.x()); s.add(r.y()); }
            }
            case OpCall.Matmul m -> { s.add(m.a()); s.add(m.b()); }
            case OpCall.MatmulAddBias m -> { s.add(m.x()); s.add(m.w()); }
            case OpCall.Softmax sm -> s.add(sm.y());
            case OpCall.LayerNorm ln -> { s.add(ln.x()); if (ln.weight() != null) s.add(ln.weight()); s.add(ln.mean()); s.add(ln.rstd()); }
            case OpCall.Embedding e -> s.add(e.ids());
            case OpCall.CrossEntropy ce -> { s.add(ce.logits2d()); s.add(ce.targets1d()); s.add(ce.lse()); }
            case OpCall.Cast c -> { }
            case OpCall.ToDevice t -> { }
            case OpCall.Reshape r -> { }
            case OpCall.Permute p -> { }
            case OpCall.Narrow n -> { }
            case OpCall.Expand e -> { }
            case OpCall.Cat c -> { }
            case OpCall.Custom c -> { }
        }
        return s.toArray(new Tensor[0]);
    }

    static Tensor[] of(OpCall call, Tensor gy, Node node) {
        return switch (call) {
            case OpCall.Unary u -> new Tensor[]{unary(u, gy)};
            case OpCall.Binary b -> binary(b, gy, node);
            case OpCall.Scalar s -> new Tensor[]{scalar(s, gy)};
            case OpCall.Where w -> {
                Tensor zero = Tensor.zeros(gy.dtype(), gy.device());
                yield new Tensor[]{
                        node.wants(0) ? sumTo(Tensor.where(w.cond(), gy, zero), w.a().shape()) : null,
                        node.wants(1) ? sumTo(Tensor.where(w.cond(), zero, gy), w.b().shape()) : null};
            }
            case OpCall.Reduce r -> new Tensor[]{reduce(r, gy)};
            case OpCall.Matmul m -> new Tensor[]{
                    node.wants(0) ? sumTo(gy.matmul(m.b().transpose(-1, -2)), m.a().shape()) : null,
                    node.wants(1) ? sumTo(m.a().transpose(-1, -2).matmul(gy), m.b().shape()) : null};
            case OpCall.MatmulAddBias m -> new Tensor[]{
                    node.wants(0) ? gy.matmul(m.w().transpose(0, 1)) : null,
                    node.wants(1) ? m.x().transpose(0, 1).matmul(gy) : null,
                    node.wants(2) ? sumTo(gy, m.bias().shape()) : null};
            case OpCall.Softmax sm -> {
                Tensor dx = Tensor.empty(sm.y().dtype(), sm.y().device(), sm.y().shape());
                sm.y().backend().softmaxBackward(sm.y(), gy, sm.dim(), sm.log(), dx);
                yield new Tensor[]{dx};
            }
            case OpCall.LayerNorm ln -> layerNorm(ln, gy, node);
            case OpCall.Embedding e -> {
                Tensor dw = Tensor.zeros(e.weight().dtype(), e.weight().device(), e.weight().shape());
                e.weight().backend().embeddingBackward(gy, e.ids(), dw);
                yield new Tensor[]{dw};
            }
            case OpCall.CrossEntropy ce -> new Tensor[]{crossEntropy(ce, gy)};
            case OpCall.Cast c -> new Tensor[]{gy.to(c.x().dtype())};
            case OpCall.ToDevice t -> new Tensor[]{gy.to(t.x().device())};
            case OpCall.Reshape r -> new Tensor[]{gy.reshape(r.x().shape())};
            case OpCall.Permute p -> {
                int[] inverse = new int[p.dims().length];
                for (int i = 0; i < inverse.length; i++) inverse[p.dims()[i]] = i;
                yield new Tensor[]{gy.permute(inverse)};
            }
            case OpCall.Narrow n -> {
                Tensor gx = Tensor.zeros(gy.dtype(), gy.device(), n.x().shape());
                gx.narrow(n.dim(), n.start(), n.length()).copyFrom(gy);
                yield new Tensor[]{gx};
            }
            case OpCall.Expand e -> new Tensor[]{sumTo(gy, e.x().shape())};
            case OpCall.Cat c -> {
                Tensor[] out = new Tensor[c.xs().size()];
                int at = 0;
                for (int i = 0; i < out.length; i++) {
                    int len = c.xs().get(i).size(c.dim());
                    out[i] = gy.narrow(c.dim(), at, len);
                    at += len;
                }
                yield out;
            }
            case OpCall.Custom c -> custom((Function) c.function(), gy, c.inputs().size());
        };
    }

    /** Sums a broadcast gradient back to {@code shape}: over leading extra dims and over dims that were 1. */
    static Tensor sumTo(Tensor g, int[] shape) {
        int[] gs = g.shape();
        if (Arrays.equals(gs, shape)) return g;
        int lead = gs.length - shape.length;
        List<Integer> dims = new ArrayList<>();
        for (int i = 0; i < gs.length; i++)
            if (i < lead || (shape[i - lead] == 1 && gs[i] != 1)) dims.add(i);
        Tensor r = dims.isEmpty() ? g : g.sum(dims.stream().mapToInt(Integer::intValue).toArray(), true);
        return r.reshape(shape);
    }

    private static Tensor unary(OpCall.Unary u, Tensor gy) {
        Tensor x = u.x(), y = u.y();
        return switch (u.op()) {
            case NEG -> gy.neg();
            case ABS -> gy.mul(x.sign());
            case EXP -> gy.mul(y);
            case LOG -> gy.div(x);
            case SQRT -> gy.mul(0.5).div(y);
            case RSQRT -> gy.mul(y.mul(y).mul(y)).mul(-0.5);
            case SQUARE -> gy.mul(x).mul(2.0);
            case RECIPROCAL -> gy.mul(y.square()).neg();
            case SIN -> gy.mul(x.cos());
            case COS -> gy.mul(x.sin()).neg();
            case TANH -> gy.mul(y.square().rsub(1.0));
            case SIGMOID -> gy.mul(y).mul(y.rsub(1.0));
            case RELU -> gy.mul(x.gt(0.0).to(x.dtype()));
            case GELU -> {
                Tensor dx = Tensor.empty(x.dtype(), x.device(), x.shape());
                x.backend().geluBackward(x, gy, dx);
                yield dx;
            }
            case SIGN -> Tensor.zeros(x.dtype(), x.device(), x.shape());
            case NOT -> throw new IllegalStateException("NOT is not differentiable");
        };
    }

    private static Tensor[] binary(OpCall.Binary b, Tensor gy, Node node) {
        Tensor x = b.a(), z = b.b(), y = b.y();
        Tensor ga = null, gb = null;
        switch (b.op()) {
            case ADD -> { ga = gy; gb = gy; }
            case SUB -> { ga = gy; gb = node.wants(1) ? gy.neg() : null; }
            case MUL -> { ga = node.wants(0) ? gy.mul(z) : null; gb = node.wants(1) ? gy.mul(x) : null; }
            case DIV -> { ga = node.wants(0) ? gy.div(z) : null; gb = node.wants(1) ? gy.mul(y).div(z).neg() : null; }
            case POW -> {
                ga = node.wants(0) ? gy.mul(z).mul(x.pow(z.sub(1.0))) : null;
                // d/db a^b = a^b ln a; taken as 0 where a == 0 (PyTorch's convention), NaN for a < 0.
                gb = node.wants(1) ? Tensor.where(x.expand(y.shape()).eq(0.0), Tensor.zeros(y.dtype(), y.device()), gy.mul(y).mul(x.log())) : null;
            }
            case MAXIMUM, MINIMUM -> {
                boolean max = b.op() == BinaryOp.MAXIMUM;
                Tensor aWins = max ? x.gt(z) : x.lt(z), tie = x.eq(z);
                Tensor half = gy.mul(0.5), zero = Tensor.zeros(gy.dtype(), gy.device());
                ga = Tensor.where(tie, half, Tensor.where(aWins, gy, zero));
                gb = Tensor.where(tie, half, Tensor.where(aWins, zero, gy));
            }
            default -> throw new IllegalStateException(b.op() + " is not differentiable");
        }
        return new Tensor[]{ga == null ? null : sumTo(ga, x.shape()), gb == null ? null : sumTo(gb, z.shape())};
    }

    private static Tensor scalar(OpCall.Scalar s, Tensor gy) {
        Tensor x = s.x(), y = s.y();
        double c = s.s();
        return switch (s.op()) {
            case ADD -> gy;
            case SUB -> s.scalarFirst() ? gy.neg() : gy;
            case MUL -> gy.mul(c);
            case DIV -> s.scalarFirst() ? gy.mul(y).div(x).neg() : gy.div(c);
            case POW -> s.scalarFirst() ? gy.mul(y).mul(Math.log(c)) : gy.mul(x.pow(c - 1)).mul(c);
            case MAXIMUM, MINIMUM -> {
                Tensor wins = s.op() == BinaryOp.MAXIMUM ? x.gt(c) : x.lt(c);
                Tensor zero = Tensor.zeros(gy.dtype(), gy.device());
                yield Tensor.where(x.eq(c), gy.mul(0.5), Tensor.where(wins, gy, zero));
            }
            default -> throw new IllegalStateException(s.op() + " is not differentiable");
        };
    }

    private static Tensor reduce(OpCall.Reduce r, Tensor gy) {
        Tensor x = r.x();
        int[] kept = x.shape();
        long n = 1;
        for (int d : r.dims()) {
            n *= kept[d];
            kept[d] = 1;
        }
        Tensor g = gy.reshape(kept);                     // restore the reduced dims as size 1
        return switch (r.op()) {
            case SUM -> g.expand(x.shape());
            case MEAN -> g.div((double) n).expand(x.shape());
            case MAX, MIN -> {
                // Ties share the gradient equally, as PyTorch's amax/amin.
                Tensor hit = x.eq(r.y().reshape(kept)).to(x.dtype());
                yield hit.mul(g.div(hit.sum(r.dims(), true)));
            }
        };
    }

    private static Tensor[] layerNorm(OpCall.LayerNorm ln, Tensor gy, Node node) {
        Tensor x = ln.x();
        Tensor dx = Tensor.empty(x.dtype(), x.device(), x.shape());
        Tensor dw = ln.weight() != null && node.wants(1) ? Tensor.empty(x.dtype(), x.device(), ln.weight().shape()) : null;
        Tensor db = ln.bias() != null && node.wants(2) ? Tensor.empty(x.dtype(), x.device(), ln.bias().shape()) : null;
        x.backend().layerNormBackward(gy, x, ln.weight(), ln.mean(), ln.rstd(), dx, dw, db);
        return new Tensor[]{dx, dw, db};
    }

    private static Tensor crossEntropy(OpCall.CrossEntropy ce, Tensor gy) {
        Tensor logits2d = ce.logits2d();
        int n = logits2d.size(0);
        // d(mean)/d(row loss) = 1/count for every counted row; the kernel zeroes ignored rows.
        Tensor dLoss = gy.to(ce.lse().dtype()).div((double) ce.count()).reshape(1).expand(n).contiguous();
        // Over the first `classes` columns of a wider input: written in place in the full-width gradient, the rest zeroed.
        int width = ce.logits().size(-1), classes = logits2d.size(1);
        Tensor dLogits = Tensor.empty(logits2d.dtype(), logits2d.device(), n, width);
        logits2d.backend().crossEntropyBackward(logits2d, ce.targets1d(), ce.ignoreIndex(), ce.lse(), dLoss,
                classes == width ? dLogits : dLogits.narrow(1, 0, classes));
        if (classes < width) dLogits.narrow(1, classes, width - classes).zero();
        return dLogits.reshape(ce.logits().shape());
    }

    private static Tensor[] custom(Function f, Tensor gy, int inputs) {
        Tensor[] g = f.runBackward(gy);
        if (g == null || g.length != inputs)
            throw new IllegalStateException(f.name() + ".backward: expected " + inputs + " gradients (one per input), got "
                    + (g == null ? "null" : g.length));
        return g;
    }

}
