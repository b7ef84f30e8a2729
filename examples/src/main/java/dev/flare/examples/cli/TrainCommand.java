package dev.flare.examples.cli;

import dev.flare.examples.demo.CharMlpDemo;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/**
 * {@code flare train}: for now the CPU demo (a character-level MLP language model, see {@link CharMlpDemo}) on
 * the embedded corpus or a text file. The GPT training of issues 6-8 will take over this command.
 */
@Command(name = "train", mixinStandardHelpOptions = true,
        description = "Train a small character-level model on the CPU (the embedded corpus unless --data is given), then sample from it.")
public final class TrainCommand implements Callable<Integer> {
    private static final Logger LOG = LoggerFactory.getLogger(TrainCommand.class);

    @Option(names = "--data", description = "UTF-8 text file to train on (default: the embedded corpus).")
    Path data;

    @Option(names = "--steps", defaultValue = "600", description = "Optimizer steps (default: ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--lr", defaultValue = "0.2", description = "Learning rate (default: ${DEFAULT-VALUE}).")
    double lr;

    @Option(names = "--seed", defaultValue = "1337", description = "Random seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--sample-chars", defaultValue = "300", description = "Characters to sample after training (default: ${DEFAULT-VALUE}).")
    int sampleChars;

    @Option(names = "--debug", description = "Show stack traces on errors.")
    boolean debug;

    @Override
    public Integer call() throws IOException {
        if (steps <= 0) throw new IllegalArgumentException("--steps: expected a positive number, got " + steps);
        if (!(lr > 0)) throw new IllegalArgumentException("--lr: expected a positive number, got " + lr);
        String text = data == null ? embeddedCorpus() : Files.readString(data, StandardCharsets.UTF_8);
        CharMlpDemo.Config d = CharMlpDemo.Config.defaults();
        CharMlpDemo.Config cfg = new CharMlpDemo.Config(d.context(), d.embed(), d.hidden(), d.batch(), steps, lr, d.momentum(), seed);
        CharMlpDemo model = new CharMlpDemo(text, cfg);
        LOG.info("training the CPU demo: {} characters of {} ({} distinct), {} parameters, {} steps",
                text.length(), data == null ? "the embedded corpus" : data, model.vocabSize(), model.parameterCount(), steps);
        LOG.info("a model that guesses uniformly has loss ln({}) = {}", model.vocabSize(), String.format("%.3f", Math.log(model.vocabSize())));
        long t0 = System.nanoTime();
        double loss = model.train(Math.max(1, steps / 12), (l, s) -> LOG.info("step {}/{}  loss {}", s, steps, String.format("%.4f", l)));
        LOG.info("trained in {} s, final loss {}", String.format("%.1f", (System.nanoTime() - t0) / 1e9), String.format("%.4f", loss));
        System.out.println("--- sample ---");
        System.out.print("It was the ");
        model.sample("It was the ", sampleChars, 0.8, c -> System.out.print((char) c));
        System.out.println();
        return 0;
    }

    static String embeddedCorpus() throws IOException {
        try (InputStream in = TrainCommand.class.getResourceAsStream("/dev/flare/examples/data/tiny-corpus.txt")) {
            if (in == null) throw new IllegalStateException("the embedded corpus is missing from the class path");
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
