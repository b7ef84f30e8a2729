package dev.flare.examples.cli;

import dev.flare.models.gpt.GPT;
import dev.flare.models.gpt.GPTConfig;
import dev.flare.models.gpt.Generation;
import dev.flare.models.gpt.Sampling;
import dev.flare.models.text.CharTokenizer;
import dev.flare.models.text.Gpt2Tokenizer;
import dev.flare.models.text.Tokenizer;
import dev.flare.tensor.Device;
import dev.flare.training.Precision;
import dev.flare.training.TrainConfig;
import dev.flare.training.Trainer;
import dev.flare.training.checkpoint.CheckpointStore;
import dev.flare.training.data.Tokens;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.Callable;

/**
 * {@code flare train}: trains a GPT on the embedded corpus (or --data FILE.txt) with the character or GPT-2
 * tokenizer, logging loss, validation loss and throughput, writing metrics to --out, then samples from it.
 */
@Command(name = "train", mixinStandardHelpOptions = true,
        description = "Train a small GPT (the embedded corpus unless --data is given), then sample from it.")
public final class TrainCommand implements Callable<Integer> {
    private static final Logger LOG = LoggerFactory.getLogger(TrainCommand.class);

    @Option(names = "--data", description = "UTF-8 text file to train on (default: the embedded corpus).")
    Path data;

    @Option(names = "--tokenizer", defaultValue = "char", description = "char or gpt2 (default: ${DEFAULT-VALUE}).")
    String tokenizer;

    @Option(names = "--preset", defaultValue = "micro", description = "Model shape: nano, micro, mini, gpt2, gpt2-medium, ... (default: ${DEFAULT-VALUE}).")
    String preset;

    @Option(names = "--block-size", defaultValue = "64", description = "Context length in tokens (default: ${DEFAULT-VALUE}).")
    int blockSize;

    @Option(names = "--batch-size", defaultValue = "16", description = "Sequences per step (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--steps", defaultValue = "600", description = "Optimizer steps (default: ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--lr", defaultValue = "3e-3", description = "Peak learning rate (default: ${DEFAULT-VALUE}).")
    double lr;

    @Option(names = "--device", defaultValue = "cpu", description = "cpu, cuda or cuda:N (default: ${DEFAULT-VALUE}).")
    String device;

    @Option(names = "--grad-accum", defaultValue = "1", description = "Micro-batches per optimizer step (default: ${DEFAULT-VALUE}).")
    int gradAccum;

    @Option(names = "--precision", defaultValue = "fp32", description = "fp32, bf16 or fp16 (F32 master weights; default: ${DEFAULT-VALUE}).")
    String precision;

    @Option(names = "--checkpoint-interval", defaultValue = "0", description = "Save a checkpoint every N steps; 0: only at the end (default: ${DEFAULT-VALUE}).")
    int checkpointInterval;

    @Option(names = "--resume", description = "A checkpoint folder (OUT/step-NNNNNNNN) to continue from exactly, with the run's saved settings except --steps (may extend it), --device and --out.")
    Path resume;

    @Option(names = "--out", defaultValue = "runs/latest", description = "Folder for metrics, the loss plot and checkpoints; a new run replaces the previous run's checkpoints there (default: ${DEFAULT-VALUE}).")
    Path out;

    @Option(names = "--seed", defaultValue = "1337", description = "Random seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--sample-tokens", defaultValue = "300", description = "Tokens to sample after training (default: ${DEFAULT-VALUE}).")
    int sampleTokens;

    @Option(names = "--prompt", description = "Text to continue when sampling (default: the data's first line).")
    String prompt;

    @Option(names = "--debug", description = "Show stack traces on errors.")
    boolean debug;

    @Override
    public Integer call() throws IOException {
        if (steps <= 0) throw new IllegalArgumentException("--steps: expected a positive number, got " + steps);
        if (blockSize <= 0) throw new IllegalArgumentException("--block-size: expected a positive number, got " + blockSize);
        if (batchSize <= 0) throw new IllegalArgumentException("--batch-size: expected a positive number, got " + batchSize);
        if (gradAccum <= 0) throw new IllegalArgumentException("--grad-accum: expected a positive number, got " + gradAccum);
        if (checkpointInterval < 0) throw new IllegalArgumentException("--checkpoint-interval: expected 0 or more steps, got " + checkpointInterval);
        Device dev = Device.parse(device);
        String text = data == null ? embeddedCorpus() : Files.readString(data, StandardCharsets.UTF_8);
        Tokenizer tok = switch (tokenizer) {
            case "char" -> CharTokenizer.fromText(text);
            case "gpt2" -> new Gpt2Tokenizer();
            default -> throw new IllegalArgumentException("--tokenizer: expected char or gpt2, got '" + tokenizer + "'");
        };
        int[] ids = tok.encode(text);
        int split = (int) (ids.length * 0.9);
        if (split < blockSize + 1 || ids.length - split < blockSize + 1)
            throw new IllegalArgumentException("--data: " + ids.length + " tokens are too few for --block-size " + blockSize
                    + " (each of the 90%/10% train/validation parts needs more than " + blockSize + ")");
        Tokens train = Tokens.of(Arrays.copyOfRange(ids, 0, split), tok.vocabSize());
        Tokens val = Tokens.of(Arrays.copyOfRange(ids, split, ids.length), tok.vocabSize());

        GPTConfig model = GPTConfig.preset(preset).withVocabSize(tok.vocabSize()).withBlockSize(blockSize);
        TrainConfig cfg = TrainConfig.small(model, out).toBuilder().maxSteps(steps).batchSize(batchSize).gradAccum(gradAccum)
                .evalInterval(Math.max(1, steps / 4)).evalIters(8).lr(lr).minLr(lr / 10).warmupSteps(Math.min(20, steps / 10))
                .logInterval(Math.max(1, steps / 20)).seed(seed).device(dev).checkpointInterval(checkpointInterval)
                .precision(Precision.parse(precision)).prefetch(true).build();
        Trainer trainer;
        if (resume != null) {
            TrainConfig wanted = cfg;
            trainer = Trainer.resume(resume, train, val, c -> c.toBuilder().maxSteps(wanted.maxSteps()).device(wanted.device())
                    .outDir(wanted.outDir()).build());
        } else {
            int removed = new CheckpointStore(out, cfg.keepLast()).deleteAll();
            if (removed > 0) LOG.info("a new run in {}: removed the previous run's {} checkpoint(s)", out, removed);
            trainer = Trainer.create(cfg, train, val);
        }
        GPT gpt = trainer.model();
        LOG.info("training a GPT ({} layers, {} heads, {} wide, context {}) of {} parameters on {} tokens of {} with the {} tokenizer ({} tokens) on {} in {}",
                model.nLayer(), model.nHead(), model.nEmbd(), blockSize, gpt.parameterCount(), ids.length,
                data == null ? "the embedded corpus" : data, tok.name(), tok.vocabSize(), dev, trainer.config().precision());
        LOG.info("a model that guesses uniformly has loss ln({}) = {}", tok.vocabSize(), String.format("%.3f", Math.log(tok.vocabSize())));
        long t0 = System.nanoTime();
        try (trainer) {
            trainer.run(null);
        }
        LOG.info("trained to step {} in {} s; metrics in {}, loss curve in {}, checkpoints in {}", steps,
                String.format("%.1f", (System.nanoTime() - t0) / 1e9), out.resolve("metrics.csv"), out.resolve("loss.png"), out);
        String prompt = this.prompt != null ? this.prompt : text.substring(0, Math.max(1, text.indexOf('\n') + 1));
        System.out.println("--- sample ---");
        System.out.print(prompt);
        Generation.generate(gpt, tok.encode(prompt), Sampling.of(sampleTokens, 0.8, 0, 0.95, seed),
                t -> System.out.print(tok.decode(new int[]{t})));
        System.out.println();
        return 0;
    }

    static String embeddedCorpus() throws IOException {
        try (InputStream in = TrainCommand.class.getResourceAsStream("/dev/flare/examples/data/tiny-shakespeare.txt")) {
            if (in == null) throw new IllegalStateException("the embedded corpus is missing from the class path");
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
