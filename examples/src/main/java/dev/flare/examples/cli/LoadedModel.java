package dev.flare.examples.cli;

import dev.flare.models.gpt.GPT;
import dev.flare.models.gpt.hf.HfGpt2;
import dev.flare.models.text.Gpt2Tokenizer;
import dev.flare.models.text.Tokenizer;
import dev.flare.tensor.random.Generator;
import dev.flare.training.checkpoint.CheckpointStore;
import dev.flare.training.checkpoint.TrainerCheckpoint;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * A trained GPT (F32, CPU) and its tokenizer, from any folder the commands accept: a checkpoint of `flare train`
 * (trainer.json), a run folder (its newest step-NNNNNNNN/ checkpoint) or a Hugging Face GPT-2 folder (config.json,
 * GPT-2's BPE tokenizer).
 */
record LoadedModel(GPT model, Tokenizer tokenizer, Path source) {

    static LoadedModel load(Path dir) throws IOException {
        if (!Files.exists(dir)) throw new NoSuchFileException(dir.toString(), null, "no such folder");
        if (Files.isRegularFile(dir.resolve("config.json")))
            return new LoadedModel(HfGpt2.load(dir), new Gpt2Tokenizer(), dir);
        if (Files.isRegularFile(dir.resolve(TrainerCheckpoint.STATE))) return fromCheckpoint(dir);
        if (Files.isDirectory(dir)) {
            var latest = new CheckpointStore(dir, 1).latest();
            if (latest.isPresent()) return fromCheckpoint(latest.get());
        }
        throw new IllegalArgumentException(dir + ": expected a checkpoint folder (with " + TrainerCheckpoint.STATE
                + "), a run folder holding step-NNNNNNNN/ checkpoints, or a Hugging Face GPT-2 folder (with config.json)");
    }

    private static LoadedModel fromCheckpoint(Path dir) throws IOException {
        TrainerCheckpoint.Contents c = TrainerCheckpoint.read(dir);
        Tokenizer tok = TokenizerFile.find(dir).orElseThrow(() -> new IllegalArgumentException(dir + ": no "
                + TokenizerFile.NAME + " in the checkpoint or its run folder (runs of flare train write one into --out)"));
        GPT model = new GPT(c.state().config().model(), new Generator(0));   // random weights, all overwritten
        model.loadStateDict(c.weights(), true);
        if (tok.vocabSize() != model.config().vocabSize())
            throw new IllegalArgumentException(dir + ": the tokenizer has " + tok.vocabSize() + " tokens but the model "
                    + model.config().vocabSize() + "; " + TokenizerFile.NAME + " belongs to another run");
        return new LoadedModel(model, tok, dir);
    }
}
