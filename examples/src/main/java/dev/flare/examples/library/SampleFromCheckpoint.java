package dev.flare.examples.library;

import dev.flare.models.gpt.Generation;
import dev.flare.models.gpt.Sampling;
import dev.flare.training.checkpoint.TrainedModel;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Loads what {@code flare train} (or {@link TrainTinyGpt}) wrote, a checkpoint folder or a run folder (its newest
 * checkpoint) with the run's tokenizer.json, through the library's {@link TrainedModel}, and continues a prompt.
 * The same seed gives the same text.
 * Usage: SampleFromCheckpoint FOLDER [prompt (default "the ")] [new tokens (default 60)] [seed (default 7)]
 */
public final class SampleFromCheckpoint {

    public static void main(String[] args) throws IOException {
        if (args.length == 0) {
            System.err.println("usage: SampleFromCheckpoint FOLDER [prompt] [new tokens] [seed]  (FOLDER: OUT/step-NNNNNNNN or OUT)");
            System.exit(2);
        }
        String prompt = args.length > 1 ? args[1] : "the ";
        int newTokens = args.length > 2 ? Integer.parseInt(args[2]) : 60;
        long seed = args.length > 3 ? Long.parseLong(args[3]) : 7;
        System.out.println(sample(Path.of(args[0]), prompt, newTokens, seed));
    }

    /** The prompt followed by {@code newTokens} sampled tokens (temperature 0.8, top-p 0.95), decoded. */
    static String sample(Path folder, String prompt, int newTokens, long seed) throws IOException {
        TrainedModel loaded = TrainedModel.load(folder);
        System.err.printf("loaded %s: %d parameters, %s tokenizer of %d tokens%n", loaded.checkpoint(),
                loaded.model().parameterCount(), loaded.tokenizer().name(), loaded.tokenizer().vocabSize());
        int[] ids = Generation.generate(loaded.model(), loaded.tokenizer().encode(prompt),
                Sampling.of(newTokens, 0.8, 0, 0.95, seed), t -> {});
        return prompt + loaded.tokenizer().decode(ids);
    }
}
