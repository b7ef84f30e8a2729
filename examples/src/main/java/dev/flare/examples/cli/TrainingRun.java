package dev.flare.examples.cli;

import dev.flare.attention.FlashCudaAttention;
import dev.flare.models.gpt.GPT;
import dev.flare.models.gpt.GPTConfig;
import dev.flare.models.gpt.Generation;
import dev.flare.models.gpt.Sampling;
import dev.flare.models.text.Tokenizer;
import dev.flare.models.text.TokenizerFile;
import dev.flare.tensor.Device;
import dev.flare.training.TrainConfig;
import dev.flare.training.Trainer;
import dev.flare.training.data.Tokens;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

/** What flare train and flare finetune share: the settings, the data split, the run with its log and the sample. */
final class TrainingRun {
    private static final Logger LOG = LoggerFactory.getLogger(TrainingRun.class);

    private TrainingRun() {}

    /** The TrainConfig fields (the model's are model.*) that --set accepts. */
    static List<String> trainKeys() {
        return RecordSettings.keys(TrainConfig.class, "", Set.of());
    }

    /** model.* keys; vocabSize always comes from the tokenizer. */
    static List<String> modelKeys() {
        return RecordSettings.keys(GPTConfig.class, "model.", Set.of("vocabSize"));
    }

    static List<String> keys(List<String> extra) {
        List<String> all = new ArrayList<>(extra);
        all.addAll(trainKeys());
        all.addAll(modelKeys());
        return all;
    }

    /** The run's TrainConfig: flare train's defaults (evaluation, warmup and logging scaled to the steps), then the settings. */
    static TrainConfig config(GPTConfig model, Settings s) {
        int steps = s.get("maxSteps", Integer.class, 600);
        double lr = s.get("lr", Double.class, 3e-3);
        TrainConfig base = TrainConfig.small(model, Path.of("runs/latest")).toBuilder().maxSteps(Math.max(1, steps))
                .evalInterval(Math.max(1, steps / 4)).evalIters(8).lr(lr > 0 ? lr : 3e-3).minLr(lr > 0 ? lr / 10 : 3e-4)
                .warmupSteps(Math.min(20, Math.max(0, steps) / 10)).logInterval(Math.max(1, steps / 20)).prefetch(true)
                .device(defaultDevice()).build();
        return RecordSettings.apply(base, "", s);   // the settings themselves, checked by TrainConfig
    }

    /** cuda:0 when a GPU is present and the kernels were built into this Flare, else the CPU (--device overrides). */
    static Device defaultDevice() { return FlashCudaAttention.isAvailable() ? Device.cuda(0) : Device.CPU; }

    static String text(Settings s) throws IOException {
        var data = s.text("data");
        return data.isEmpty() ? embeddedCorpus() : Files.readString(Path.of(data.get()), StandardCharsets.UTF_8);
    }

    /** Train and validation tokens (90% / 10%), each long enough for a window of blockSize + 1. */
    static Tokens[] split(int[] ids, int vocabSize, int blockSize) {
        int cut = (int) (ids.length * 0.9);
        if (cut < blockSize + 1 || ids.length - cut < blockSize + 1)
            throw new IllegalArgumentException("data: " + ids.length + " tokens are too few for a block size of " + blockSize
                    + " (each of the 90%/10% train/validation parts needs more than " + blockSize + ")");
        return new Tokens[]{Tokens.of(Arrays.copyOfRange(ids, 0, cut), vocabSize), Tokens.of(Arrays.copyOfRange(ids, cut, ids.length), vocabSize)};
    }

    /** Saves the tokenizer beside the checkpoints, trains to maxSteps, then samples from the model. */
    static void run(Trainer trainer, Tokenizer tok, String text, String what, TrainOptions o) throws IOException {
        TrainConfig cfg = trainer.config();
        GPTConfig m = cfg.model();
        Path out = cfg.outDir();
        if (!trainer.isMainRank()) {              // other ranks only train: rank 0 writes, logs and samples
            try (trainer) {
                trainer.run(null);
            }
            return;
        }
        TokenizerFile.write(tok, out);
        GPT gpt = trainer.model();
        LOG.info("{} a GPT ({} layers, {} heads, {} wide, context {}) of {} parameters with the {} tokenizer ({} tokens) on {} in {}",
                what, m.nLayer(), m.nHead(), m.nEmbd(), m.blockSize(), gpt.parameterCount(), tok.name(), tok.vocabSize(),
                cfg.device(), cfg.precision());
        LOG.info("a model that guesses uniformly has loss ln({}) = {}", tok.vocabSize(), String.format("%.3f", Math.log(tok.vocabSize())));
        long t0 = System.nanoTime();
        try (trainer) {
            trainer.run(null);
        }
        LOG.info("trained to step {} in {} s; metrics in {}, loss curve in {}, checkpoints in {}", cfg.maxSteps(),
                String.format("%.1f", (System.nanoTime() - t0) / 1e9), out.resolve("metrics.csv"), out.resolve("loss.png"), out);
        String prompt = o.prompt != null ? o.prompt : text.substring(0, Math.max(1, text.indexOf('\n') + 1));
        System.out.println("--- sample ---");
        System.out.print(prompt);
        TokenPrinter printer = new TokenPrinter(tok, System.out);
        Generation.generate(gpt, tok.encode(prompt), Sampling.of(o.sampleTokens, 0.8, 0, 0.95, cfg.seed()), printer);
        printer.finish();
    }

    static String embeddedCorpus() throws IOException {
        try (InputStream in = TrainingRun.class.getResourceAsStream("/dev/flare/examples/data/tiny-shakespeare.txt")) {
            if (in == null) throw new IllegalStateException("the embedded corpus is missing from the class path");
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
