package dev.flare.examples.cli;

import dev.flare.examples.bench.AttentionBench;
import dev.flare.examples.bench.AttentionCpuBench;
import dev.flare.examples.bench.GemvBench;
import dev.flare.examples.bench.MatmulBench;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code flare bench attention|attention-cpu|matmul|gemv}: the benchmark programs behind one command. Each prints the table that
 * docs/benchmarks.md quotes; run the PyTorch / numpy reference beside it in the same session (see that file).
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Run a benchmark and print its table: attention (CUDA flash kernels, needs a GPU), attention-cpu (FLASH_CPU beside MATH), matmul (CPU sgemm) or gemv (CPU one-row products of GPT-2's decoding step).")
public final class BenchCommand implements Callable<Integer> {
    @Parameters(index = "0", description = "attention, attention-cpu, matmul or gemv")
    String which;

    @Parameters(index = "1..*", description = "Arguments of the benchmark: attention [seq,seq,...] [repeats]; attention-cpu [B,H,S,D ...]; matmul [size ...]")
    List<String> rest = new ArrayList<>();

    @Override
    public Integer call() {
        String[] args = rest.toArray(String[]::new);
        switch (which) {
            case "attention" -> AttentionBench.main(args);
            case "attention-cpu" -> AttentionCpuBench.main(args);
            case "matmul" -> MatmulBench.main(args);
            case "gemv" -> GemvBench.main(args);
            default -> throw new IllegalArgumentException("bench: expected attention, attention-cpu, matmul or gemv, got '" + which + "'");
        }
        return 0;
    }
}
