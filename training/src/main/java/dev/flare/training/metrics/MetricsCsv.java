package dev.flare.training.metrics;

import dev.flare.training.StepMetrics;
import dev.flare.training.checkpoint.AtomicDirectory;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * metrics.csv: one row per step (empty cells for no validation loss or unknown MFU). Opening it for a run keeps
 * the rows up to the step the run starts from and drops later ones, so a run resumed after a crash does not list
 * the steps it redoes twice.
 */
public final class MetricsCsv implements AutoCloseable {
    public static final String HEADER = "step,loss,lr,grad_norm,ms,tokens_per_s,val_loss,mfu";

    private final PrintWriter out;

    private MetricsCsv(PrintWriter out) { this.out = out; }

    /** Opens file for appending after keeping its rows of steps <= fromStep (none for a fresh run). */
    public static MetricsCsv open(Path file, long fromStep) throws IOException {
        List<String> keep = new ArrayList<>();
        keep.add(HEADER);
        if (Files.exists(file)) {
            List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
            if (!lines.isEmpty() && lines.getFirst().equals(HEADER))
                for (String l : lines.subList(1, lines.size()))
                    if (!l.isBlank() && Long.parseLong(l.substring(0, l.indexOf(','))) <= fromStep) keep.add(l);
        }
        AtomicDirectory.writeFile(file, (String.join("\n", keep) + "\n").getBytes(StandardCharsets.UTF_8));
        return new MetricsCsv(new PrintWriter(Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.APPEND)));
    }

    public void append(StepMetrics m) {
        out.println(m.step() + "," + m.loss() + "," + m.lr() + "," + m.gradNorm() + "," + m.millis() + "," + m.tokensPerSecond()
                + "," + cell(m.valLoss()) + "," + cell(m.mfu()));
        out.flush();
    }

    private static String cell(double v) { return Double.isNaN(v) ? "" : Double.toString(v); }

    /** One row read back: step, training loss, validation loss (NaN where none). */
    public record Row(long step, double loss, double valLoss) {}

    public static List<Row> read(Path file) throws IOException {
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        if (lines.isEmpty() || !lines.getFirst().equals(HEADER))
            throw new IOException(file + ": expected the header '" + HEADER + "', got '" + (lines.isEmpty() ? "" : lines.getFirst()) + "'");
        List<Row> rows = new ArrayList<>();
        for (String l : lines.subList(1, lines.size())) {
            if (l.isBlank()) continue;
            String[] c = l.split(",", -1);
            rows.add(new Row(Long.parseLong(c[0]), Double.parseDouble(c[1]), c[6].isEmpty() ? Double.NaN : Double.parseDouble(c[6])));
        }
        return rows;
    }

    @Override
    public void close() { out.close(); }
}
