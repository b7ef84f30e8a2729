package dev.flare.examples.cli;

import dev.flare.models.gpt.GPTConfig;
import dev.flare.models.text.CharTokenizer;
import dev.flare.models.text.Gpt2Tokenizer;
import dev.flare.models.text.Tokenizer;
import dev.flare.models.text.TokenizerFile;
import dev.flare.training.TrainConfig;
import dev.flare.training.Trainer;
import dev.flare.training.checkpoint.CheckpointStore;
import dev.flare.training.data.Tokens;
import dev.flare.training.distributed.DataParallel;
import dev.flare.training.distributed.ProcessGroup;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code flare train}: trains a GPT on the embedded corpus (or --data FILE.txt) with the character or GPT-2
 * tokenizer, logging loss, validation loss and throughput, writing metrics, tokenizer.json and checkpoints to
 * --out, then samples from it.
 */
@Command(name = "train", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Train a small GPT (the embedded corpus unless --data is given), then sample from it.")
public final class TrainCommand implements Callable<Integer> {
    private static final Logger LOG = LoggerFactory.getLogger(TrainCommand.class);

    @Option(names = "--tokenizer", description = "char or gpt2 (default: char). Setting: tokenizer.")
    String tokenizer;

    @Option(names = "--preset", description = "Model shape: nano, micro, mini, gpt2, gpt2-medium, ... (default: micro); model.* settings change it. Setting: preset.")
    String preset;

    @Option(names = "--resume", description = "A checkpoint folder (OUT/step-NNNNNNNN) to continue from exactly, with the run's saved settings and tokenizer except the steps (may extend it), device and output folder.")
    Path resume;

    @Option(names = "--nproc", description = "Data-parallel processes, one per GPU of this machine (rank r on cuda:r; docs/distributed.md). Default: 1.")
    Integer nproc;

    @Mixin
    TrainOptions options;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws IOException, InterruptedException {
        if (nproc != null) {
            Launcher.check(nproc, nproc > 1 ? Launcher.visibleGpus() : 0, nproc > 1 ? dev.flare.tensor.cuda.Cuda.unavailableReason() : null);
            List<String> args = spec.commandLine().getParseResult().originalArgs();
            if (nproc > 1) return Launcher.launch(nproc, args.subList(args.indexOf("train") + 1, args.size()));
        }
        ProcessGroup group = ProcessGroup.fromEnv(System.getenv());
        Settings s = options.settings(TrainingRun.keys(List.of("data", "tokenizer", "preset")), own -> {
            TrainOptions.putIfGiven(own, "tokenizer", "--tokenizer", tokenizer);
            TrainOptions.putIfGiven(own, "preset", "--preset", preset);
        });
        String text = TrainingRun.text(s);
        Tokenizer tok = resume != null ? TokenizerFile.find(resume).orElse(null) : null;   // a resumed run keeps its vocabulary
        if (tok == null) tok = tokenizer(s.text("tokenizer").orElse("char"), text);
        GPTConfig model = GPTConfig.preset(s.text("preset").orElse("micro")).withVocabSize(tok.vocabSize())
                .withBlockSize(s.get("model.blockSize", Integer.class, 64));
        model = RecordSettings.apply(model, "model.", s);
        TrainConfig cfg = TrainingRun.config(model, s);
        Tokens[] parts = TrainingRun.split(tok.encode(text), tok.vocabSize(), model.blockSize());
        Trainer trainer;
        if (resume != null && group.isDistributed())
            throw new IllegalArgumentException("--resume: resuming a data-parallel run is not supported yet");
        if (resume != null) {
            trainer = Trainer.resume(resume, parts[0], parts[1], c -> c.toBuilder().maxSteps(cfg.maxSteps()).device(cfg.device())
                    .outDir(cfg.outDir()).build());
        } else {
            int removed = !group.isMain() ? 0 : new CheckpointStore(cfg.outDir(), cfg.keepLast()).deleteAll();
            if (removed > 0) LOG.info("a new run in {}: removed the previous run's {} checkpoint(s)", cfg.outDir(), removed);
            trainer = Trainer.create(cfg, parts[0], parts[1], DataParallel.join(group, cfg.device()));
        }
        LOG.info("data: {} tokens of {}", parts[0].length() + parts[1].length(), s.text("data").orElse("the embedded corpus"));
        TrainingRun.run(trainer, tok, text, resume != null ? "resuming" : "training", options);
        return 0;
    }

    static Tokenizer tokenizer(String kind, String text) {
        return switch (kind) {
            case "char" -> CharTokenizer.fromText(text);
            case "gpt2" -> new Gpt2Tokenizer();
            default -> throw new IllegalArgumentException("tokenizer: expected char or gpt2, got '" + kind + "'");
        };
    }
}
