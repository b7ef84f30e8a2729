package dev.flare.training.checkpoint;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The checkpoints of one run, in {@code <out>/step-00001000/} folders, each published atomically. Keeps the
 * newest {@code keepLast} and the best by validation loss (recorded in {@code best.txt}); never replaces a
 * checkpoint, and never records a non-finite loss as the best.
 */
public final class CheckpointStore {
    private static final Pattern STEP_DIR = Pattern.compile("step-(\\d{8,})");
    private final Path root;
    private final int keepLast;

    public CheckpointStore(Path root, int keepLast) throws IOException {
        if (keepLast < 1) throw new IllegalArgumentException("keepLast: expected >= 1, got " + keepLast);
        this.root = root;
        this.keepLast = keepLast;
        Files.createDirectories(root);
        AtomicDirectory.cleanLeftovers(root);
    }

    public Path directoryFor(long step) { return root.resolve(String.format("step-%08d", step)); }

    /** Writes the checkpoint of {@code step}; valLoss may be NaN when no evaluation ran. Returns its folder. */
    public Path save(long step, double valLoss, AtomicDirectory.Filler filler) throws IOException {
        if (step < 0) throw new IllegalArgumentException("step: expected >= 0, got " + step);
        Path dir = directoryFor(step);
        AtomicDirectory.write(dir, filler);
        Optional<Best> best = best();
        if (Double.isFinite(valLoss) && (best.isEmpty() || valLoss < best.get().valLoss() || !Files.isDirectory(directoryFor(best.get().step()))))
            AtomicDirectory.writeFile(root.resolve("best.txt"), (step + " " + valLoss + "\n").getBytes(StandardCharsets.UTF_8));
        prune();
        return dir;
    }

    /** The best checkpoint so far by validation loss. */
    public record Best(long step, double valLoss) {}

    public Optional<Best> best() throws IOException {
        Path f = root.resolve("best.txt");
        if (!Files.exists(f)) return Optional.empty();
        String[] parts = Files.readString(f).trim().split(" ");
        if (parts.length != 2) throw new IOException(f + ": expected '<step> <val loss>', got '" + String.join(" ", parts) + "'");
        return Optional.of(new Best(Long.parseLong(parts[0]), Double.parseDouble(parts[1])));
    }

    /** Steps of complete checkpoints, oldest first. */
    public List<Long> steps() throws IOException {
        List<Long> out = new ArrayList<>();
        try (Stream<Path> s = Files.list(root)) {
            for (Path p : s.toList()) {
                Matcher m = STEP_DIR.matcher(p.getFileName().toString());
                if (m.matches() && Files.isDirectory(p)) out.add(Long.parseLong(m.group(1)));
            }
        }
        out.sort(Comparator.naturalOrder());
        return out;
    }

    /** The newest complete checkpoint folder, if any. */
    public Optional<Path> latest() throws IOException {
        List<Long> s = steps();
        return s.isEmpty() ? Optional.empty() : Optional.of(directoryFor(s.getLast()));
    }

    /** Deletes every checkpoint and best.txt (for a new run in the same folder). Returns how many checkpoints went. */
    public int deleteAll() throws IOException {
        List<Long> s = steps();
        for (long step : s) AtomicDirectory.deleteTree(directoryFor(step));
        Files.deleteIfExists(root.resolve("best.txt"));
        return s.size();
    }

    private void prune() throws IOException {
        List<Long> s = steps();
        long bestStep = best().map(Best::step).orElse(-1L);
        for (int i = 0; i < s.size() - keepLast; i++)
            if (s.get(i) != bestStep) AtomicDirectory.deleteTree(directoryFor(s.get(i)));
    }
}
