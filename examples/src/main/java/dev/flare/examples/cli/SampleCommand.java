package dev.flare.examples.cli;

import dev.flare.models.gpt.Generation;
import dev.flare.models.gpt.Sampling;
import dev.flare.tensor.Device;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.Callable;

/** {@code flare sample}: continues a prompt with a trained model, printing each token as it comes. */
@Command(name = "sample", mixinStandardHelpOptions = true,
        description = "Continue a prompt with a model: a checkpoint or run folder of flare train, or a Hugging Face GPT-2 folder.")
public final class SampleCommand implements Callable<Integer> {
    @Option(names = "--checkpoint", required = true, description = "A checkpoint folder (OUT/step-NNNNNNNN), a run folder (its newest checkpoint) or a Hugging Face GPT-2 folder (config.json + model.safetensors).")
    Path checkpoint;

    @Option(names = "--prompt", required = true, description = "Text to continue.")
    String prompt;

    @Option(names = "--max-new-tokens", defaultValue = "200", description = "Tokens to generate (default: ${DEFAULT-VALUE}).")
    int maxNewTokens;

    @Option(names = "--temperature", defaultValue = "0.8", description = "Softmax temperature; 0 picks the likeliest token (default: ${DEFAULT-VALUE}).")
    double temperature;

    @Option(names = "--top-k", defaultValue = "0", description = "Sample among the k likeliest tokens; 0: off (default: ${DEFAULT-VALUE}).")
    int topK;

    @Option(names = "--top-p", defaultValue = "0.95", description = "Sample among the likeliest tokens holding this probability; 1: off (default: ${DEFAULT-VALUE}).")
    double topP;

    @Option(names = "--seed", defaultValue = "1337", description = "Random seed; the same seed gives the same text (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--device", defaultValue = "cpu", description = "cpu, cuda or cuda:N (default: ${DEFAULT-VALUE}).")
    String device;

    @Option(names = "--debug", description = "Show stack traces on errors.")
    boolean debug;

    @Override
    public Integer call() throws IOException {
        Sampling sampling = Sampling.of(maxNewTokens, temperature, topK, topP, seed);   // validates before the slow load
        Device dev = Device.parse(device);
        if (prompt.isEmpty()) throw new IllegalArgumentException("--prompt: expected some text, got an empty string");
        LoadedModel loaded = LoadedModel.load(checkpoint);
        int[] ids = loaded.tokenizer().encode(prompt);
        loaded.model().to(dev);
        var eot = loaded.tokenizer().endOfText();
        if (eot.isPresent()) sampling = sampling.withStopTokens(Set.of(eot.getAsInt()));
        TokenPrinter printer = new TokenPrinter(loaded.tokenizer(), System.out);
        System.out.print(prompt);
        Generation.generate(loaded.model(), ids, sampling, printer);
        printer.finish();
        return 0;
    }
}
