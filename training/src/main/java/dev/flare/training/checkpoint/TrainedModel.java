package dev.flare.training.checkpoint;

import dev.flare.models.gpt.GPT;
import dev.flare.models.text.Tokenizer;
import dev.flare.models.text.TokenizerFile;
import dev.flare.nn.ParameterInit;
import dev.flare.tensor.random.Generator;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * A GPT (F32, CPU) and its tokenizer from what {@code flare train} leaves behind, for sampling: a
 * checkpoint folder (step-NNNNNNNN/, with trainer.json) or a run folder (its newest checkpoint). The tokenizer is the
 * {@link TokenizerFile} in the checkpoint or its run folder. Optimizer state is not loaded; use {@code Trainer.resume}
 * to continue training.
 */
public record TrainedModel(GPT model, Tokenizer tokenizer, Path checkpoint) {

    public static TrainedModel load(Path dir) throws IOException {
        if (!Files.exists(dir)) throw new NoSuchFileException(dir.toString(), null, "no such folder");
        if (Files.isRegularFile(dir.resolve(TrainerCheckpoint.STATE))) return fromCheckpoint(dir);
        if (Files.isDirectory(dir)) {
            var latest = new CheckpointStore(dir, 1).latest();
            if (latest.isPresent()) return fromCheckpoint(latest.get());
        }
        throw new IllegalArgumentException(dir + ": expected a checkpoint folder (with " + TrainerCheckpoint.STATE
                + ") or a run folder holding step-NNNNNNNN/ checkpoints");
    }

    /** True when {@code dir} is a checkpoint folder or a run folder with at least one checkpoint. */
    public static boolean isCheckpointOrRun(Path dir) throws IOException {
        return Files.isRegularFile(dir.resolve(TrainerCheckpoint.STATE))
                || (Files.isDirectory(dir) && new CheckpointStore(dir, 1).latest().isPresent());
    }

    private static TrainedModel fromCheckpoint(Path dir) throws IOException {
        TrainerCheckpoint.Weights c = TrainerCheckpoint.readWeights(dir);   // not the optimizer state
        Tokenizer tok = TokenizerFile.find(dir).orElseThrow(() -> new IllegalArgumentException(dir + ": no "
                + TokenizerFile.NAME + " in the checkpoint or its run folder (runs of flare train write one into --out)"));
        GPT model = ParameterInit.skipped(() -> new GPT(c.state().config().model(), new Generator(0)));   // zeros, all overwritten
        try {
            model.loadStateDict(c.weights(), true);
        } catch (IllegalArgumentException e) {
            throw new CheckpointFormatException(dir, TrainerCheckpoint.MODEL + " does not fit the model "
                    + c.state().config().model() + ": " + e.getMessage(), e);
        }
        if (tok.vocabSize() != model.config().vocabSize())
            throw new IllegalArgumentException(dir + ": the tokenizer has " + tok.vocabSize() + " tokens but the model "
                    + model.config().vocabSize() + "; " + TokenizerFile.NAME + " belongs to another run");
        return new TrainedModel(model, tok, dir);
    }
}
