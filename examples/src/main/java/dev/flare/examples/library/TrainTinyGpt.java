package dev.flare.examples.library;

import dev.flare.models.gpt.GPTConfig;
import dev.flare.models.gpt.Generation;
import dev.flare.models.gpt.Sampling;
import dev.flare.models.text.CharTokenizer;
import dev.flare.models.text.TokenizerFile;
import dev.flare.training.StepMetrics;
import dev.flare.training.TrainConfig;
import dev.flare.training.Trainer;
import dev.flare.training.data.Tokens;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Trains a tiny GPT on a Java string with the library's {@link Trainer} (no CLI): character tokenizer, a few hundred
 * steps on the CPU, the loss printed as it falls, then a sample. The run folder it leaves (checkpoint + tokenizer.json)
 * is what {@link SampleFromCheckpoint} reads.
 * Usage: TrainTinyGpt [steps (default 150)] [out folder (default: a new temporary folder)]
 */
public final class TrainTinyGpt {
    static final String TEXT = """
            the cat sat on the mat. the dog sat on the log. the cat saw the dog.
            the dog saw the cat. a cat and a dog sat on a mat and a log.
            """.repeat(8);
    static final String PROMPT = "the ";
    static final long SAMPLE_SEED = 7;

    /** Every step's training loss, the sample from the trained model and the run folder. */
    record Result(List<Double> losses, String sample, Path outDir) {}

    public static void main(String[] args) throws IOException {
        int steps = args.length > 0 ? Integer.parseInt(args[0]) : 150;
        Path out = args.length > 1 ? Path.of(args[1]) : Files.createTempDirectory("flare-tiny-gpt");
        Result r = train(TEXT, steps, out, 10);
        System.out.println("--- sample ---");
        System.out.println(r.sample());
        System.out.println("run folder (checkpoint + tokenizer.json): " + r.outDir());
    }

    static Result train(String text, int steps, Path out, int printEvery) throws IOException {
        CharTokenizer tok = CharTokenizer.fromText(text);
        int[] ids = tok.encode(text);
        int cut = ids.length * 9 / 10;                                  // 90% train, 10% validation
        Tokens train = Tokens.of(Arrays.copyOfRange(ids, 0, cut), tok.vocabSize());
        Tokens val = Tokens.of(Arrays.copyOfRange(ids, cut, ids.length), tok.vocabSize());
        // 2 layers, 2 heads, 32 wide, context 16: small enough to learn this text in seconds on a CPU
        GPTConfig model = new GPTConfig(tok.vocabSize(), 16, 2, 2, 32, 0.0, true);
        TrainConfig cfg = TrainConfig.small(model, out).toBuilder().maxSteps(steps).batchSize(8)
                .warmupSteps(Math.min(10, steps / 10)).evalInterval(steps).evalIters(2).lr(1e-2).minLr(1e-3).build();
        TokenizerFile.write(tok, out);                                  // so the checkpoint can be decoded later
        List<Double> losses = new ArrayList<>();
        try (Trainer trainer = Trainer.create(cfg, train, val)) {
            trainer.run((StepMetrics m) -> {
                losses.add(m.loss());
                if (m.step() == 1 || m.step() % printEvery == 0 || m.step() == steps)
                    System.out.printf("step %4d  loss %.4f%n", m.step(), m.loss());
            });
            int[] sample = Generation.generate(trainer.model(), tok.encode(PROMPT), Sampling.of(60, 0.8, 0, 0.95, SAMPLE_SEED), t -> {});
            return new Result(losses, PROMPT + tok.decode(sample), out);
        }
    }
}
