package dev.flare.examples.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code flare} command line. The launcher script at the repository root runs this class. */
@Command(name = "flare", mixinStandardHelpOptions = true, version = "Flare 0.1.0-SNAPSHOT",
        description = "Train GPT-style models in Java on NVIDIA GPUs and the CPU.",
        subcommands = {TrainCommand.class, SampleCommand.class, FinetuneCommand.class, BenchCommand.class, CommandLine.HelpCommand.class})
public final class FlareMain {

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the command line and returns the exit code (2 for bad usage, input files or configs, 1 for failures). */
    public static int run(String... args) {
        CommandLine cli = new CommandLine(new FlareMain());
        cli.setExecutionExceptionHandler((ex, line, parsed) -> {
            boolean debug = parsed.originalArgs().contains("--debug");
            if (debug) ex.printStackTrace();
            else line.getErr().println("flare: " + (ex.getMessage() == null ? ex.toString() : ex.getMessage()));
            return ex instanceof IllegalArgumentException || ex instanceof java.io.FileNotFoundException
                    || ex instanceof java.nio.file.NoSuchFileException
                    || ex instanceof dev.flare.training.checkpoint.CheckpointFormatException ? 2 : 1;   // a bad checkpoint folder is bad input
        });
        return cli.execute(args);
    }
}
