package dev.flare.training;

import dev.flare.models.gpt.GPT;
import dev.flare.tensor.Tensor;
import dev.flare.tensor.random.Generator;
import dev.flare.training.checkpoint.CheckpointFormatException;
import dev.flare.training.checkpoint.TrainerCheckpoint;
import dev.flare.training.checkpoint.TrainingState;
import dev.flare.training.data.RandomWindows;
import dev.flare.training.data.Tokens;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.UnaryOperator;

/** Saving a Trainer's complete state into its CheckpointStore, and rebuilding a Trainer from a saved folder. */
final class Checkpoints {
    private static final Logger LOG = LoggerFactory.getLogger(Checkpoints.class);

    private Checkpoints() {}

    static Path save(Trainer t, double valLoss) throws IOException {
        TrainingState state = new TrainingState(TrainingState.FORMAT_VERSION, t.step, t.optimizer.stepCount(), t.skipped,
                t.trainSeed, t.train.position(), t.val.seed(), t.val.position(),
                t.dropout.seed(), t.dropout.offset(), t.lossScale(), t.scaler == null ? 0 : t.scaler.goodSteps(),
                Double.isNaN(valLoss) ? null : valLoss, t.cfg, null);
        Map<String, Tensor[]> moments = new LinkedHashMap<>();
        t.weights.named().forEach((name, p) -> {
            Tensor[] mv = t.optimizer.moments(p);
            if (mv != null) moments.put(name, mv);
        });
        Path dir = t.store.save(t.step, valLoss, d -> TrainerCheckpoint.write(d, t.weights.named(), moments, state));
        LOG.info("step {}: checkpoint {}", t.step, dir);
        return dir;
    }

    static Trainer resume(Path checkpoint, Tokens trainTokens, Tokens valTokens, UnaryOperator<TrainConfig> changes) throws IOException {
        TrainerCheckpoint.Contents c = TrainerCheckpoint.read(checkpoint);
        TrainingState s = c.state();
        TrainConfig cfg = changes.apply(s.config());
        if (!cfg.model().equals(s.config().model()))
            throw new IllegalArgumentException("changes: the model cannot change on resume (checkpoint " + s.config().model() + ", asked " + cfg.model() + ")");
        if (s.step() > cfg.maxSteps())
            throw new IllegalArgumentException("changes: maxSteps " + cfg.maxSteps() + " is below the checkpoint's step " + s.step());
        // The dropout generator: rebuilt from its seed; building the model draws its initial weights from it, then
        // advancing by the difference puts it at the saved offset (Philox state is exactly (seed, offset)).
        Generator gen = new Generator(s.dropoutSeed());
        GPT model = new GPT(cfg.model(), gen);
        long behind = s.dropoutOffset() - gen.offset();
        if (behind < 0)
            throw new CheckpointFormatException(checkpoint, "dropout generator offset " + s.dropoutOffset()
                    + " lies before the model's initialisation draws (" + gen.offset() + "); the checkpoint does not fit this model");
        gen.reserve(behind);
        try {
            model.loadStateDict(c.weights(), true);
        } catch (IllegalArgumentException e) {
            throw new CheckpointFormatException(checkpoint, TrainerCheckpoint.MODEL + " does not fit the model " + cfg.model() + ": " + e.getMessage(), e);
        }
        model.to(cfg.device());
        int b = cfg.batchSize(), ctx = cfg.model().blockSize();
        RandomWindows train = new RandomWindows(trainTokens, b, ctx, s.trainSeed()), val = new RandomWindows(valTokens, b, ctx, s.valSeed());
        train.seek(s.trainPosition());
        val.seek(s.valPosition());
        Trainer t = new Trainer(cfg, model, gen, train, val);
        t.step = s.step();
        t.skipped = s.skippedSteps();
        t.optimizer.restoreStepCount(s.optimizerSteps());
        for (var e : c.moments().entrySet()) {
            Tensor p = t.weights.named().get(e.getKey());
            if (p == null)
                throw new CheckpointFormatException(checkpoint, TrainerCheckpoint.OPTIMIZER + " has moments for '" + e.getKey() + "', which the model does not have");
            t.optimizer.loadMoments(p, e.getValue()[0], e.getValue()[1]);
        }
        if (t.scaler != null && s.config().precision() == Precision.FP16) t.scaler.restore(s.lossScale(), s.lossScaleGoodSteps());
        LOG.info("resumed from {} at step {}", checkpoint, s.step());
        return t;
    }
}
