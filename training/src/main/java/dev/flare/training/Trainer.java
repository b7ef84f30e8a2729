package dev.flare.training;

import dev.flare.autograd.MemoryTrace;
import dev.flare.autograd.NoGrad;
import dev.flare.models.gpt.GPT;
import dev.flare.tensor.Backends;
import dev.flare.tensor.Device;
import dev.flare.tensor.MemoryScope;
import dev.flare.tensor.Tensor;
import dev.flare.tensor.cpu.CpuMemory;
import dev.flare.tensor.cuda.CudaBackend;
import dev.flare.tensor.random.Generator;
import dev.flare.training.checkpoint.CheckpointStore;
import dev.flare.training.data.BatchSource;
import dev.flare.training.data.RandomWindows;
import dev.flare.training.data.Tokens;
import dev.flare.training.distributed.DataParallel;
import dev.flare.training.metrics.Flops;
import dev.flare.training.metrics.LossPlot;
import dev.flare.training.metrics.MetricsCsv;
import dev.flare.training.metrics.ProgressDisplay;
import dev.flare.training.optim.AdamW;
import dev.flare.training.optim.GradClip;
import dev.flare.training.optim.LrSchedule;
import dev.flare.training.precision.LossScaler;
import dev.flare.training.precision.MasterWeights;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;

/**
 * The training loop: per step, gradAccum micro-batches (loss / gradAccum backpropagated each), global-norm
 * clipping, one AdamW update of the F32 master weights at the scheduled learning rate; evaluation every
 * evalInterval steps; SLF4J logging (with MFU when the peak FLOP/s is known) and a progress bar in a terminal;
 * metrics.csv and loss.png in the output folder; checkpoints every checkpointInterval steps and at the end of a
 * run. Every step runs inside a MemoryScope. A non-finite loss or gradient norm stops the run (or skips the
 * step when configured) and is never checkpointed. docs/training.md describes it all.
 */
public final class Trainer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Trainer.class);

    final TrainConfig cfg;
    final GPT model;
    final Generator dropout;
    final BatchSource train;
    final long trainSeed;
    final RandomWindows val;
    final MasterWeights weights;
    final AdamW optimizer;
    final LossScaler scaler;                 // FP16 only
    final CheckpointStore store;
    final DataParallel parallel;             // a world of one: no all-reduce
    private final LrSchedule schedule;
    private final double flopsPerToken, peakFlops;
    long step, skipped;

    /**
     * A trainer for a fresh F32 model on cfg.device(). dropout must be the generator the model was built with
     * (its dropout layers draw from it), so checkpoints can restore its position. With bf16/fp16 the model is
     * given weights of that dtype here and its F32 values become the master weights (its former F32 tensors are
     * released: see {@link MasterWeights}).
     */
    public Trainer(TrainConfig cfg, GPT model, Generator dropout, RandomWindows train, RandomWindows val) throws IOException {
        this(cfg, model, dropout, train, val, DataParallel.single());
    }

    /**
     * As above, one rank of a data-parallel run: gradients are averaged over ranks after backward, and only rank 0
     * logs, writes metrics and checkpoints. train must be this rank's shard ({@link DataParallel#shardSeed}).
     */
    public Trainer(TrainConfig cfg, GPT model, Generator dropout, RandomWindows train, RandomWindows val, DataParallel parallel) throws IOException {
        for (RandomWindows w : new RandomWindows[]{train, val})
            if (w.batchSize() != cfg.batchSize() || w.context() != cfg.model().blockSize())
                throw new IllegalArgumentException("windows: expected batches of (" + cfg.batchSize() + ", " + cfg.model().blockSize()
                        + ") (batchSize, blockSize), got (" + w.batchSize() + ", " + w.context() + ")");
        this(cfg, model, dropout, BatchSource.of(train, cfg.device(), cfg.prefetch(), cfg.gradAccum()), train.seed(), val, parallel);
    }

    /** With any source of training batches (tests feed fixed batches); trainSeed is what checkpoints record for it. */
    Trainer(TrainConfig cfg, GPT model, Generator dropout, BatchSource train, long trainSeed, RandomWindows val) throws IOException {
        this(cfg, model, dropout, train, trainSeed, val, DataParallel.single());
    }

    Trainer(TrainConfig cfg, GPT model, Generator dropout, BatchSource train, long trainSeed, RandomWindows val, DataParallel parallel) throws IOException {
        if (!model.device().equals(cfg.device()))
            throw new IllegalArgumentException("model: is on " + model.device() + " but cfg.device is " + cfg.device() + "; move it with model.to(device) first");
        this.cfg = cfg;
        this.model = model;
        this.dropout = dropout;
        this.train = train;
        this.trainSeed = trainSeed;
        this.val = val;
        this.parallel = parallel;
        this.weights = MasterWeights.of(model, cfg.precision().computeDType());
        this.optimizer = new AdamW(AdamW.defaultGroups(weights.named(), cfg.weightDecay()), cfg.beta1(), cfg.beta2(), 1e-8);
        this.scaler = cfg.precision() == Precision.FP16 ? LossScaler.standard() : null;
        this.schedule = new LrSchedule.WarmupCosine(cfg.lr(), cfg.minLr(), cfg.warmupSteps(), cfg.maxSteps());
        this.store = new CheckpointStore(cfg.outDir(), cfg.keepLast());
        this.flopsPerToken = Flops.perToken(cfg.model());
        this.peakFlops = cfg.peakFlops() > 0 ? cfg.peakFlops() : Flops.knownPeak(cfg.device(), cfg.precision());
    }

    /** A fresh run: the model from cfg.model() seeded with cfg.seed(), windows seeded seed (train) and seed + 1 (val). */
    public static Trainer create(TrainConfig cfg, Tokens trainTokens, Tokens valTokens) throws IOException {
        return create(cfg, trainTokens, valTokens, DataParallel.single());
    }

    /**
     * A fresh run as one rank of parallel: every rank builds the same model (same seed), and draws training
     * windows from its own shard seed; validation windows are the same on every rank.
     */
    public static Trainer create(TrainConfig cfg, Tokens trainTokens, Tokens valTokens, DataParallel parallel) throws IOException {
        Generator gen = new Generator(cfg.seed());
        GPT model = new GPT(cfg.model(), gen);
        model.to(cfg.device());
        int b = cfg.batchSize(), t = cfg.model().blockSize();
        long trainSeed = DataParallel.shardSeed(cfg.seed(), parallel.group().rank());
        return new Trainer(cfg, model, gen, new RandomWindows(trainTokens, b, t, trainSeed), new RandomWindows(valTokens, b, t, cfg.seed() + 1), parallel);
    }

    /** Continues the run saved in a checkpoint folder exactly (same losses, bit for bit, as had it never stopped). */
    public static Trainer resume(Path checkpoint, Tokens trainTokens, Tokens valTokens) throws IOException {
        return Checkpoints.resume(checkpoint, trainTokens, valTokens, UnaryOperator.identity());
    }

    /** As resume, with config changes (e.g. more steps or another device; the model shape must stay). */
    public static Trainer resume(Path checkpoint, Tokens trainTokens, Tokens valTokens, UnaryOperator<TrainConfig> changes) throws IOException {
        return Checkpoints.resume(checkpoint, trainTokens, valTokens, changes);
    }

    public TrainConfig config() { return cfg; }

    /** The model being trained (after construction, in the compute dtype of the precision). */
    public GPT model() { return model; }

    /** Steps done (the schedule position). */
    public long step() { return step; }

    public long skippedSteps() { return skipped; }

    /** Rank 0 of a data-parallel run (or the only process): the one that logs and writes files. */
    public boolean isMainRank() { return parallel.group().isMain(); }

    /** The current FP16 loss scale (1 for other precisions). */
    public double lossScale() { return scaler == null ? 1 : scaler.scale(); }

    public MasterWeights masterWeights() { return weights; }

    /** Runs until maxSteps, calling onStep after each step. Returns the last metrics (null when none ran). */
    public StepMetrics run(Consumer<StepMetrics> onStep) throws IOException {
        return runUntil(cfg.maxSteps(), onStep);
    }

    /** Runs until step stopStep (at most maxSteps) and saves a checkpoint there; the schedule still ends at maxSteps. */
    public StepMetrics runUntil(long stopStep, Consumer<StepMetrics> onStep) throws IOException {
        if (!parallel.group().isMain()) return runQuietly(stopStep, onStep);
        if (stopStep > cfg.maxSteps()) throw new IllegalArgumentException("stopStep: expected <= maxSteps (" + cfg.maxSteps() + "), got " + stopStep);
        List<Long> saved = store.steps();
        if (step == 0 && !saved.isEmpty())
            throw new IllegalStateException("outDir: " + cfg.outDir() + " already holds checkpoints " + saved
                    + "; resume from one (Trainer.resume) or train into another folder");
        if (!saved.isEmpty() && saved.getLast() > step)
            throw new IllegalStateException("outDir: " + cfg.outDir() + " holds checkpoints after step " + step + " " + saved
                    + "; resume from the newest, or continue into another folder (resume with changes setting outDir)");
        Path csvFile = cfg.outDir().resolve("metrics.csv");
        StepMetrics last = null;
        CudaBackend profiled = Backends.of(cfg.device()) instanceof CudaBackend gpu && gpu.isKernelProfiling() ? gpu : null;
        long firstStep = step;
        try (MetricsCsv csv = MetricsCsv.open(csvFile, step); ProgressDisplay bar = ProgressDisplay.forTerminal(step, cfg.maxSteps())) {
            while (step < stopStep) {
                last = trainStep();
                if (profiled != null && step == firstStep + 1) profiled.kernelProfile().reset();   // the first step warms up
                csv.append(last);
                bar.update(last);
                if (cfg.checkpointInterval() > 0 && step % cfg.checkpointInterval() == 0 || step == stopStep) {
                    if (last.finite()) Checkpoints.save(this, last.valLoss());
                    else LOG.warn("step {}: no checkpoint after a step that was not finite", step);
                }
                if (onStep != null) onStep.accept(last);
            }
        }
        if (profiled != null && step > firstStep + 1)
            LOG.info("GPU time by kernel over steps {}-{} (-Dflare.cuda.profile; evaluations included):\n{}", firstStep + 2, step,
                    profiled.kernelProfile().table(step - firstStep - 1, 30));
        plot(csvFile);
        return last;
    }

    /** A rank other than 0: the same steps (and collectives), without metrics, plots or checkpoints. */
    private StepMetrics runQuietly(long stopStep, Consumer<StepMetrics> onStep) {
        StepMetrics last = null;
        while (step < stopStep) {
            last = trainStep();
            if (onStep != null) onStep.accept(last);
        }
        return last;
    }

    private void plot(Path csvFile) {
        Path png = cfg.outDir().resolve("loss.png");
        try {
            LossPlot.write(MetricsCsv.read(csvFile), png);
        } catch (IOException | RuntimeException | LinkageError | java.awt.AWTError e) {
            // the run itself succeeded; a machine without fonts or AWT libraries only loses the picture
            LOG.warn("could not draw {}: {}", png, e.toString());
        }
    }

    private StepMetrics trainStep() {
        long t0 = System.nanoTime();
        double lr = schedule.at(step), lossSum = 0, lossScale = lossScale(), norm;
        model.train();
        try (MemoryScope scope = MemoryScope.open()) {
            for (int micro = 0; micro < cfg.gradAccum(); micro++) {
                // A scope per micro-batch: its activations are freed before the next one's forward, so memory does not
                // grow with gradAccum (the gradients it leaves behind live in the parameters' unscoped .grad).
                try (MemoryScope microScope = MemoryScope.open()) {
                    RandomWindows.Batch b = train.next();
                    try {
                        MemoryTrace.startForward(cfg.device());
                        Tensor loss = model.forward(b.inputs(), b.targets()).loss();
                        (lossScale == 1 ? loss : loss.mul(lossScale)).div((double) cfg.gradAccum()).backward();
                        lossSum += loss.item();   // read after the backward is queued: no host wait between the two passes
                        if (MemoryTrace.isOn() && step < 3 && parallel.group().isMain()) LOG.info("step {}, micro-batch {}: {}", step + 1, micro + 1, MemoryTrace.lastReport());
                    } finally {
                        if (train.callerReleases()) b.release();
                    }
                    weights.accumulateGradients(lossScale);
                }
            }
            List<Tensor> params = weights.list();
            parallel.reduceGradients(params);    // before clipping: every rank clips the same mean gradient
            List<Tensor> grads = weights.gradients();
            norm = cfg.gradClip() > 0 ? GradClip.clipGlobalNormOf(grads, cfg.gradClip()) : GradClip.globalNormOf(grads);
            double loss = lossSum / cfg.gradAccum();
            applyUpdate(loss, norm, lr);
            weights.zeroGradients();
            double ms = (System.nanoTime() - t0) / 1e6;
            long tokens = (long) cfg.batchSize() * cfg.gradAccum() * cfg.model().blockSize();
            step++;
            double valLoss = step % cfg.evalInterval() == 0 || step == cfg.maxSteps() ? evaluate() : Double.NaN;
            double tps = tokens / (ms / 1e3);
            StepMetrics m = new StepMetrics(step, loss, lr, norm, ms, tps, valLoss, Flops.mfu(flopsPerToken, tps, peakFlops));
            if (parallel.group().isMain() && (step % cfg.logInterval() == 0 || step == 1 || !Double.isNaN(valLoss))) log(m);
            return m;
        }
    }

    /** The optimizer step, or a skipped step: an FP16 gradient overflow (scale halved), or a non-finite loss/norm. */
    private void applyUpdate(double loss, double norm, double lr) {
        boolean finiteLoss = Double.isFinite(loss), finiteNorm = Double.isFinite(norm);
        if (scaler != null && finiteLoss) scaler.update(!finiteNorm);
        if (finiteLoss && finiteNorm) {
            optimizer.step(lr);
            weights.copyToModel();
            return;
        }
        if (scaler != null && finiteLoss) {
            skipped++;
            LOG.info("step {}: FP16 gradients overflowed; step skipped, loss scale now {}", step + 1, scaler.scale());
            return;
        }
        if (!cfg.skipNonFinite()) throw new NonFiniteLossException(step + 1, loss, norm);
        skipped++;
        LOG.warn("step {}: non-finite loss {} or gradient norm {}; skipped ({} so far)", step + 1, loss, norm, skipped);
    }

    private void log(StepMetrics m) {
        LOG.info("step {}/{}  loss {}  lr {}  grad norm {}  {} ms  {} tok/s{}{}", m.step(), cfg.maxSteps(),
                String.format("%.4f", m.loss()), String.format("%.2e", m.lr()), String.format("%.3f", m.gradNorm()),
                String.format("%.0f", m.millis()), String.format("%.0f", m.tokensPerSecond()),
                Double.isNaN(m.mfu()) ? "" : String.format("  mfu %.1f%%", 100 * m.mfu()),
                Double.isNaN(m.valLoss()) ? "" : String.format("  val loss %.4f", m.valLoss()));
        // At each evaluation, the device allocator's state: flat numbers over a run mean no leak.
        if (Double.isNaN(m.valLoss())) return;
        if (Backends.of(cfg.device()) instanceof CudaBackend gpu) LOG.info("step {}: {} memory: {}", m.step(), cfg.device(), gpu.memoryStats());
        else if (cfg.device().equals(Device.CPU)) LOG.info("step {}: cpu memory: {}", m.step(), CpuMemory.stats());
    }

    /** Mean validation loss over evalIters batches, in eval mode without recording. */
    public double evaluate() {
        model.eval();
        double sum = 0;
        try (NoGrad ignored = NoGrad.enter()) {
            for (int i = 0; i < cfg.evalIters(); i++) {
                // A scope per batch: one batch's activations are freed before the next (K batches at once ran a
                // GPT-2 124M at 16 x 1024 tokens out of an 80 GB GPU).
                try (MemoryScope scope = MemoryScope.open()) {
                    RandomWindows.Batch b = val.next().to(cfg.device());
                    sum += model.forward(b.inputs(), b.targets()).loss().item();
                }
            }
        } finally {
            model.train();
        }
        return sum / cfg.evalIters();
    }

    /** Saves a checkpoint of the current state now (valLoss NaN: not a candidate for the best). Returns its folder. */
    public Path saveCheckpoint(double valLoss) throws IOException { return Checkpoints.save(this, valLoss); }

    /** Stops the prefetch thread, if any. */
    @Override
    public void close() {
        train.close();
        parallel.close();
    }
}
