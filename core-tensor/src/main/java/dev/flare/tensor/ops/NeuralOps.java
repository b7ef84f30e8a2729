package dev.flare.tensor.ops;

import dev.flare.tensor.DType;
import dev.flare.tensor.Shapes;
import dev.flare.tensor.Tensor;
import dev.flare.tensor.random.Generator;

import java.util.Arrays;

/** The neural-network ops a GPT needs: softmax, layer norm, embedding, cross-entropy, dropout. */
public final class NeuralOps {
    private NeuralOps() {}

    public static Tensor softmax(Tensor x, int dim, boolean log) {
        Checks.notNull("x", x);
        Checks.floating(log ? "logSoftmax" : "softmax", "x", x);
        Checks.live(x);
        int d = Shapes.dim("dim", dim, x.dim());
        Tensor out = Tensor.empty(x.dtype(), x.device(), x.shape());
        x.backend().softmax(x, d, log, out);
        return Recording.needed(x) ? Recording.record(new OpCall.Softmax(x, d, log, out), out) : out;
    }

    /** The dtype of saved statistics and per-row losses: F64 for F64 inputs (gradient checks), else F32. */
    public static DType statsType(DType input) { return input == DType.F64 ? DType.F64 : DType.F32; }

    public static Tensor layerNorm(Tensor x, Tensor weight, Tensor bias, double eps) {
        Checks.notNull("x", x);
        Checks.floating("layerNorm", "x", x);
        Checks.rank("layerNorm", "x", x, 1);
        if (!(eps >= 0)) throw new IllegalArgumentException("eps: expected >= 0, got " + eps);
        int c = x.size(-1);
        for (var p : new Object[][]{{"weight", weight}, {"bias", bias}}) {
            Tensor t = (Tensor) p[1];
            if (t == null) continue;
            Checks.sameDeviceAndDType("layerNorm", "x", x, (String) p[0], t);
            if (t.dim() != 1 || t.size(0) != c)
                throw new IllegalArgumentException("layerNorm: " + p[0] + " must have shape [" + c + "] (the last dim of x "
                        + Shapes.str(x.shape()) + "), got " + Shapes.str(t.shape()));
            Checks.live(t);
        }
        Checks.live(x);
        int[] rows = Arrays.copyOf(x.shape(), x.dim() - 1);
        Tensor mean = Tensor.empty(statsType(x.dtype()), x.device(), rows);
        Tensor rstd = Tensor.empty(statsType(x.dtype()), x.device(), rows);
        Tensor out = Tensor.empty(x.dtype(), x.device(), x.shape());
        x.backend().layerNorm(x, weight, bias, eps, out, mean, rstd);
        if (!Recording.needed(x, weight, bias)) return out;
        return Recording.record(new OpCall.LayerNorm(x, weight, bias, eps, mean, rstd), out);
    }

    static void checkIndices(String op, String name, Tensor ids) {
        if (ids.dtype() != DType.I32 && ids.dtype() != DType.I64)
            throw new IllegalArgumentException(op + ": " + name + " must be I32 or I64, got " + ids.dtype());
    }

    /** Throws unless every index is in [0, size) (or equals {@code allowed}). Reads the tensor's min and max. */
    static void checkRange(String op, String name, Tensor ids, long size, Long allowed) {
        if (ids.numel() == 0) return;
        Tensor checked = allowed == null ? ids : ids.maskedFill(ids.eq(allowed), 0);
        long min = (long) Reductions.reduceAll(ReduceOp.MIN, checked).item();
        long max = (long) Reductions.reduceAll(ReduceOp.MAX, checked).item();
        if (min < 0 || max >= size)
            throw new IndexOutOfBoundsException(op + ": " + name + " must lie in [0, " + size + ")"
                    + (allowed == null ? "" : " or equal ignoreIndex " + allowed) + ", got values in [" + min + ", " + max + "]");
    }

    public static Tensor embedding(Tensor weight, Tensor ids) {
        Checks.notNull("weight", weight);
        Checks.notNull("ids", ids);
        Checks.floating("embedding", "weight", weight);
        if (weight.dim() != 2)
            throw new IllegalArgumentException("embedding: weight must be 2-d (vocab, dim), got " + Shapes.str(weight.shape()));
        checkIndices("embedding", "ids", ids);
        Checks.sameDevice("embedding", "weight", weight, "ids", ids);
        Checks.live(weight);
        checkRange("embedding", "ids", ids, weight.size(0), null);
        int[] shape = Arrays.copyOf(ids.shape(), ids.dim() + 1);
        shape[ids.dim()] = weight.size(1);
        Tensor out = Tensor.empty(weight.dtype(), weight.device(), shape);
        weight.backend().embedding(weight, ids, out);
        return Recording.needed(weight) ? Recording.record(new OpCall.Embedding(weight, ids), out) : out;
    }

    public static Tensor crossEntropy(Tensor logits, Tensor targets, long ignoreIndex) {
        Checks.notNull("logits", logits);
        return crossEntropy(logits, targets, ignoreIndex, logits.dim() == 0 ? 0 : logits.size(-1));
    }

    /**
     * Cross-entropy over the first {@code classes} entries of logits' last dim; the entries after them (a padded
     * vocabulary's padding columns) take no part and get zero gradient. The same loss and gradient as the call on
     * {@code logits.narrow(-1, 0, classes)}, but the gradient comes out in logits' full width, written in place by the
     * backward: through a narrow view it would be copied into a zeroed buffer of the full width.
     */
    public static Tensor crossEntropy(Tensor logits, Tensor targets, long ignoreIndex, int classes) {
        Checks.notNull("logits", logits);
        Checks.notNull("targets", targets);
        Checks.floating("crossEntropy", "logits", logits);
        Checks.rank("crossEntropy", "logits", logits, 1);
        checkIndices("crossEntropy", "targets", targets);
        Checks.sameDevice("crossEntropy", "logits", logits, "targets", targets);
        int[] ls = logits.shape();
        int width = ls[ls.length - 1];
        if (classes < 0 || classes > width)
            throw new IllegalArgumentException("crossEntropy: classes must be in [0, " + width + "] (logits' last dim), got " + classes);
        int c = classes;
        if (!Arrays.equals(Arrays.copyOf(ls, ls.length - 1), targets.shape()))
            throw new IllegalArgumentException("crossEntropy: targets must have shape " + Shapes.str(Arrays.copyOf(ls, ls.length - 1))
                    + " (logits " + Shapes.str(ls) + " without the class dim), got " + Shapes.str(targets.shape()));
        Checks.live(logits);
        checkRange("crossEntropy", "targets", targets, c, ignoreIndex);
        Tensor logits2d = ViewOps.reshape(logits.detach(), -1, width);
        if (c < width) logits2d = ViewOps.narrow(logits2d, 1, 0, c);
        Tensor targets1d = ViewOps.reshape(targets, -1);
        int n = logits2d.size(0);
        DType stats = statsType(logits.dtype());
        Tensor lossPerRow = Tensor.empty(stats, logits.device(), n);
        Tensor lse = Tensor.empty(stats, logits.device(), n);
        logits.backend().crossEntropy(logits2d, targets1d, ignoreIndex, lossPerRow, lse);
        long count = (long) Reductions.reduceAll(ReduceOp.SUM, targets1d.ne(ignoreIndex)).item();
        // No valid row: the mean is 0/0 = NaN, as PyTorch.
        Tensor loss = Reductions.reduceAll(ReduceOp.SUM, lossPerRow).div((double) count);
        if (!Recording.needed(logits)) return loss;
        return Recording.record(new OpCall.CrossEntropy(logits, logits2d, targets1d, ignoreIndex, lse, count), loss);
    }

    public static Tensor dropout(Tensor x, double p, Generator gen) {
        Checks.notNull("x", x);
        Checks.floating("dropout", "x", x);
        if (!(p >= 0 && p <= 1)) throw new IllegalArgumentException("p: expected a probability in [0, 1], got " + p);
        if (p == 0) return x;
        if (p == 1) return x.mul(0.0);
        Tensor keep = Creation.uniform(gen, 0, 1, DType.F32, x.device(), x.shape()).ge(p);
        return x.mul(Elementwise.cast(keep, x.dtype())).mul(1.0 / (1.0 - p));
    }
}
