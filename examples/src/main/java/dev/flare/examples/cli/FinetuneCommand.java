package dev.flare.examples.cli;

import dev.flare.models.gpt.GPT;
import dev.flare.models.gpt.GPTConfig;
import dev.flare.nn.ParameterInit;
import dev.flare.tensor.Tensor;
import dev.flare.tensor.random.Generator;
import dev.flare.training.TrainConfig;
import dev.flare.training.Trainer;
import dev.flare.training.checkpoint.CheckpointStore;
import dev.flare.training.data.RandomWindows;
import dev.flare.training.data.Tokens;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;

/**
 * {@code flare finetune}: continues training a model (a Hugging Face GPT-2 folder or a checkpoint of ours) on the
 * user's text with a fresh optimizer, with the options and outputs of flare train. The model's shape and
 * tokenizer are fixed by --from; only its context may shrink (the position table is cropped, as nanoGPT does).
 */
@Command(name = "finetune", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Fine-tune a model (Hugging Face GPT-2 folder, or a checkpoint or run folder of flare train) on your text.")
public final class FinetuneCommand implements Callable<Integer> {
    /** The model settings fine-tuning may change: the context (cropped) and dropout. */
    private static final Set<String> CHANGEABLE = Set.of("model.blockSize", "model.dropout");

    @Option(names = "--from", required = true, description = "The model to start from: a Hugging Face GPT-2 folder (config.json + model.safetensors; GPT-2's tokenizer), or a checkpoint or run folder of flare train (its tokenizer.json).")
    Path from;

    @Mixin
    TrainOptions options;

    @Override
    public Integer call() throws IOException {
        Settings s = options.settings(TrainingRun.keys(List.of("data")), own -> {});
        for (String key : TrainingRun.modelKeys())
            if (s.has(key) && !CHANGEABLE.contains(key))
                throw new IllegalArgumentException(key + ": fixed by the --from model; fine-tuning can change only " + CHANGEABLE);
        if (s.text("data").isEmpty()) throw new IllegalArgumentException("--data: fine-tuning needs your text (--data FILE.txt)");
        String text = TrainingRun.text(s);
        LoadedModel loaded = LoadedModel.load(from);
        GPTConfig base = loaded.model().config();
        int context = s.get("model.blockSize", Integer.class, Math.min(64, base.blockSize()));
        if (context > base.blockSize())
            throw new IllegalArgumentException("model.blockSize: expected at most the model's context " + base.blockSize() + ", got " + context);
        GPTConfig model = RecordSettings.apply(base.withBlockSize(context), "model.", s);
        TrainConfig cfg = TrainingRun.config(model, s);
        Tokens[] parts = TrainingRun.split(loaded.tokenizer().encode(text), loaded.tokenizer().vocabSize(), context);

        // A model of the cropped shape on the run's generator (its dropout draws from it), then the weights (no random
        // initialisation first: they would all be overwritten).
        Generator gen = new Generator(cfg.seed());
        GPT gpt = ParameterInit.skipped(() -> new GPT(model, gen));
        gpt.loadStateDict(cropped(loaded.model().stateDict(), context), true);
        gpt.to(cfg.device());
        new CheckpointStore(cfg.outDir(), cfg.keepLast()).deleteAll();
        int b = cfg.batchSize();
        Trainer trainer = new Trainer(cfg, gpt, gen, new RandomWindows(parts[0], b, context, cfg.seed()),
                new RandomWindows(parts[1], b, context, cfg.seed() + 1));
        TrainingRun.run(trainer, loaded.tokenizer(), text, "fine-tuning " + loaded.source() + ":", options);
        return 0;
    }

    /** The state dict with the position embedding cut to its first context rows. */
    private static Map<String, Tensor> cropped(Map<String, Tensor> state, int context) {
        Map<String, Tensor> out = new LinkedHashMap<>(state);
        out.put("wpe.weight", state.get("wpe.weight").narrow(0, 0, context));
        return out;
    }
}
