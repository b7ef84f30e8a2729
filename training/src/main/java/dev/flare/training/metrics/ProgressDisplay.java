package dev.flare.training.metrics;

import dev.flare.training.StepMetrics;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarConsumer;

import java.io.Console;
import java.time.Duration;
import java.util.Map;

/**
 * A progress bar with ETA and the latest loss, drawn on stderr only when the program runs in a terminal (not in
 * CI, tests or with output redirected), so logs and files stay clean. The SLF4J log lines are independent of it.
 */
public final class ProgressDisplay implements AutoCloseable {
    private final ProgressBar bar;        // null: nothing is drawn

    private ProgressDisplay(ProgressBar bar) { this.bar = bar; }

    /** A bar for steps (done, total] when stdout is a terminal, else one that draws nothing. */
    public static ProgressDisplay forTerminal(long done, long total) {
        Console console = System.console();
        return interactive(console != null && console.isTerminal(), System.getenv())
                ? to(new ConsoleProgressBarConsumer(System.err), done, total) : new ProgressDisplay(null);
    }

    /** Whether to draw: the console is a terminal, not in CI, not a dumb terminal. */
    static boolean interactive(boolean terminal, Map<String, String> env) {
        String ci = env.getOrDefault("CI", "");
        return terminal && (ci.isEmpty() || ci.equalsIgnoreCase("false"))
                && !"dumb".equals(env.get("TERM"));
    }

    static ProgressDisplay to(ProgressBarConsumer consumer, long done, long total) {
        return new ProgressDisplay(new ProgressBarBuilder().setTaskName("train").setInitialMax(total)
                .startsFrom(done, Duration.ZERO).setConsumer(consumer).setUpdateIntervalMillis(250).build());
    }

    public boolean isDrawing() { return bar != null; }

    public void update(StepMetrics m) {
        if (bar == null) return;
        bar.stepTo(m.step());
        bar.setExtraMessage(String.format(" loss %.4f", m.loss()));
    }

    @Override
    public void close() {
        if (bar != null) bar.close();
    }
}
