package dev.flare.training;

import dev.flare.autograd.NoGrad;
import dev.flare.models.gpt.GPT;
import dev.flare.tensor.MemoryScope;
import dev.flare.tensor.Tensor;
import dev.flare.training.data.RandomWindows;
import dev.flare.training.optim.AdamW;
import dev.flare.training.optim.GradClip;
import dev.flare.training.optim.LrSchedule;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Consumer;

/**
 * The training loop: per step, gradAccum micro-batches (loss / gradAccum backpropagated each), global-norm
 * clipping, one AdamW update at the scheduled learning rate; evaluation every evalInterval steps (mean
 * validation loss over evalIters batches); SLF4J logging; metrics as CSV in the output folder. Every step runs
 * inside a MemoryScope, so its intermediates are freed when it ends. A non-finite loss or gradient norm stops
 * the run (or skips the step when configured) before anything is written.
 */
public final class Trainer {
    private static final Logger LOG = LoggerFactory.getLogger(Trainer.class);

    private final TrainConfig cfg;
    private final GPT model;
    private final RandomWindows train, val;
    private final AdamW optimizer;
    private final LrSchedule schedule;
    private final List<Tensor> params;
    private long step;
    private long skipped;

    public Trainer(TrainConfig cfg, GPT model, RandomWindows train, RandomWindows val) {
        this.cfg = cfg;
        this.model = model;
        this.train = train;
        this.val = val;
        this.params = model.parameters();
        this.optimizer = new AdamW(AdamW.defaultGroups(
                java.util.Map.copyOf(toTensors(model)), cfg.weightDecay()), cfg.beta1(), cfg.beta2(), 1e-8);
        this.schedule = new LrSchedule.WarmupCosine(cfg.lr(), cfg.minLr(), cfg.warmupSteps(), cfg.maxSteps());
    }

    private static java.util.Map<String, Tensor> toTensors(GPT model) {
        java.util.Map<String, Tensor> out = new java.util.LinkedHashMap<>();
        model.namedParameters().forEach((k, v) -> out.put(k, v.value()));
        return out;
    }

    public long step() { return step; }

    public long skippedSteps() { return skipped; }

    /** Runs until maxSteps, calling onStep after each step. Returns the last metrics. */
    public StepMetrics run(Consumer<StepMetrics> onStep) throws IOException {
        Files.createDirectories(cfg.outDir());
        Path csv = cfg.outDir().resolve("metrics.csv");
        boolean fresh = !Files.exists(csv);
        StepMetrics last = null;
        try (PrintWriter out = new PrintWriter(Files.newBufferedWriter(csv,
                java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND))) {
            if (fresh) out.println(StepMetrics.CSV_HEADER);
            while (step < cfg.maxSteps()) {
                last = trainStep();
                out.println(last.csv());
                out.flush();
                if (onStep != null) onStep.accept(last);
            }
        }
        return last;
    }

    private StepMetrics trainStep() {
        long t0 = System.nanoTime();
        double lr = schedule.at(step), lossSum = 0, norm;
        model.train();
        try (MemoryScope scope = MemoryScope.open()) {
            for (int micro = 0; micro < cfg.gradAccum(); micro++) {
                RandomWindows.Batch b = train.next();
                Tensor loss = model.forward(b.inputs().to(cfg.device()), b.targets().to(cfg.device())).loss();
                lossSum += loss.item();
                loss.div((double) cfg.gradAccum()).backward();
            }
            norm = cfg.gradClip() > 0 ? GradClip.clipGlobalNorm(params, cfg.gradClip()) : GradClip.globalNorm(params);
            double loss = lossSum / cfg.gradAccum();
            if (!Double.isFinite(loss) || !Double.isFinite(norm)) {
                if (!cfg.skipNonFinite()) throw new NonFiniteLossException(step, loss, norm);
                skipped++;
                LOG.warn("step {}: non-finite loss {} or gradient norm {}; skipped ({} so far)", step, loss, norm, skipped);
            } else {
                optimizer.step(lr);
            }
            try (NoGrad ignored = NoGrad.enter()) {
                for (Tensor p : params) if (p.grad() != null) p.grad().zero();
            }
            double ms = (System.nanoTime() - t0) / 1e6;
            long tokens = (long) cfg.batchSize() * cfg.gradAccum() * model.config().blockSize();
            step++;
            double valLoss = step % cfg.evalInterval() == 0 || step == cfg.maxSteps() ? evaluate() : Double.NaN;
            StepMetrics m = new StepMetrics(step, loss, lr, norm, ms, tokens / (ms / 1e3), valLoss);
            if (step % cfg.logInterval() == 0 || step == 1 || !Double.isNaN(valLoss))
                LOG.info("step {}/{}  loss {}  lr {}  grad norm {}  {} ms  {} tok/s{}", step, cfg.maxSteps(),
                        String.format("%.4f", loss), String.format("%.2e", lr), String.format("%.3f", norm),
                        String.format("%.0f", ms), String.format("%.0f", m.tokensPerSecond()),
                        Double.isNaN(valLoss) ? "" : String.format("  val loss %.4f", valLoss));
            return m;
        }
    }

    /** Mean validation loss over evalIters batches, in eval mode without recording. */
    public double evaluate() {
        model.eval();
        double sum = 0;
        try (NoGrad ignored = NoGrad.enter(); MemoryScope scope = MemoryScope.open()) {
            for (int i = 0; i < cfg.evalIters(); i++) {
                RandomWindows.Batch b = val.next();
                sum += model.forward(b.inputs().to(cfg.device()), b.targets().to(cfg.device())).loss().item();
            }
        } finally {
            model.train();
        }
        return sum / cfg.evalIters();
    }
}
