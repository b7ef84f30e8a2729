package dev.flare.examples.cli;

import dev.flare.models.gpt.GPT;
import dev.flare.models.gpt.hf.HfGpt2;
import dev.flare.models.text.Gpt2Tokenizer;
import dev.flare.models.text.Tokenizer;
import dev.flare.training.checkpoint.TrainedModel;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * A trained GPT (F32, CPU) and its tokenizer, from any folder the commands accept: a checkpoint of `flare train`
 * (trainer.json), a run folder (its newest step-NNNNNNNN/ checkpoint), both through {@link TrainedModel}, or a
 * Hugging Face GPT-2 folder (config.json, GPT-2's BPE tokenizer).
 */
record LoadedModel(GPT model, Tokenizer tokenizer, Path source) {

    static LoadedModel load(Path dir) throws IOException {
        if (!Files.exists(dir)) throw new NoSuchFileException(dir.toString(), null, "no such folder");
        if (Files.isRegularFile(dir.resolve("config.json")))
            return new LoadedModel(HfGpt2.load(dir), new Gpt2Tokenizer(), dir);
        if (TrainedModel.isCheckpointOrRun(dir)) {
            TrainedModel t = TrainedModel.load(dir);
            return new LoadedModel(t.model(), t.tokenizer(), t.checkpoint());
        }
        throw new IllegalArgumentException(dir + ": expected a checkpoint folder (with trainer.json), a run folder holding"
                + " step-NNNNNNNN/ checkpoints, or a Hugging Face GPT-2 folder (with config.json)");
    }
}
