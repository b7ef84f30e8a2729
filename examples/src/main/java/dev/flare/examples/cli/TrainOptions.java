package dev.flare.examples.cli;

import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.function.Consumer;

/**
 * The options that flare train and flare finetune share. Each setting option is a shortcut for a --set key
 * (named in its help); options left out stay null so that a --config file can supply them.
 */
final class TrainOptions {
    @Option(names = "--data", description = "UTF-8 text file to train on (default: the embedded corpus). Setting: data.")
    Path data;

    @Option(names = "--block-size", description = "Context length in tokens (default: 64). Setting: model.blockSize.")
    Integer blockSize;

    @Option(names = "--batch-size", description = "Sequences per step (default: 16). Setting: batchSize.")
    Integer batchSize;

    @Option(names = "--steps", description = "Optimizer steps (default: 600). Setting: maxSteps.")
    Integer steps;

    @Option(names = "--lr", description = "Peak learning rate (default: 3e-3; minLr: a tenth of it). Setting: lr.")
    Double lr;

    @Option(names = "--device", description = "cpu, cuda or cuda:N (default: cuda when a GPU is present, else cpu). Setting: device.")
    String device;

    @Option(names = "--grad-accum", description = "Micro-batches per optimizer step (default: 1). Setting: gradAccum.")
    Integer gradAccum;

    @Option(names = "--precision", description = "fp32, bf16 or fp16 (F32 master weights; default: fp32). Setting: precision.")
    String precision;

    @Option(names = "--checkpoint-interval", description = "Save a checkpoint every N steps; 0: only at the end (default: 0). Setting: checkpointInterval.")
    Integer checkpointInterval;

    @Option(names = "--out", description = "Folder for metrics, the loss plot, tokenizer.json and checkpoints; a new run replaces the previous run's checkpoints there (default: runs/latest). Setting: outDir.")
    Path out;

    @Option(names = "--seed", description = "Random seed (default: 1337). Setting: seed.")
    Long seed;

    @Option(names = "--config", description = "A JSON or YAML file of settings (the keys of --set; nest model.* under model:). Options given on the command line win over it.")
    Path config;

    @Option(names = "--set", paramLabel = "KEY=VALUE", description = "Set any setting, e.g. --set model.nLayer=6 --set weightDecay=0.05; wins over options and --config. Repeatable; an unknown key lists the valid ones.")
    List<String> set = new ArrayList<>();

    @Option(names = "--sample-tokens", defaultValue = "300", description = "Tokens to sample after training (default: ${DEFAULT-VALUE}).")
    int sampleTokens;

    @Option(names = "--prompt", description = "Text to continue when sampling (default: the data's first line).")
    String prompt;

    @Option(names = "--debug", description = "Show stack traces on errors.")
    boolean debug;

    /**
     * The settings of --config, then of the options given (these and the command's own, put by commandOptions),
     * then of --set; keys outside valid are errors.
     */
    Settings settings(Collection<String> valid, Consumer<Settings> commandOptions) throws IOException {
        Settings s = new Settings(valid);
        if (config != null) s.putFile(config);
        putIfGiven(s, "data", "--data", data);
        putIfGiven(s, "model.blockSize", "--block-size", blockSize);
        putIfGiven(s, "batchSize", "--batch-size", batchSize);
        putIfGiven(s, "maxSteps", "--steps", steps);
        putIfGiven(s, "lr", "--lr", lr);
        putIfGiven(s, "device", "--device", device);
        putIfGiven(s, "gradAccum", "--grad-accum", gradAccum);
        putIfGiven(s, "precision", "--precision", precision);
        putIfGiven(s, "checkpointInterval", "--checkpoint-interval", checkpointInterval);
        putIfGiven(s, "outDir", "--out", out);
        putIfGiven(s, "seed", "--seed", seed);
        commandOptions.accept(s);
        s.putAssignments(set);
        return s;
    }

    static void putIfGiven(Settings s, String key, String option, Object value) {
        if (value != null) s.put(key, value.toString(), option);
    }
}
