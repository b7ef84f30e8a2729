package dev.flare.training.metrics;

import dev.flare.models.gpt.GPTConfig;
import dev.flare.tensor.Device;
import dev.flare.training.Precision;
import dev.flare.training.StepMetrics;
import me.tongfei.progressbar.DelegatingProgressBarConsumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** metrics.csv rows and their truncation on resume, the loss PNG, FLOPs per token and MFU, the progress bar. */
class MetricsTest {
    @TempDir Path dir;
    private final long seed = new Random().nextLong();

    private static StepMetrics row(long step, double loss, double val) {
        return new StepMetrics(step, loss, 1e-3, 0.5, 12.0, 1000.0, val, Double.NaN);
    }

    @Test
    void csvKeepsTheRowsUpToTheResumedStep() throws Exception {
        Path f = dir.resolve("metrics.csv");
        try (MetricsCsv csv = MetricsCsv.open(f, 0)) {
            for (int s = 1; s <= 5; s++) csv.append(row(s, 3.0 / s, s % 2 == 0 ? 2.0 / s : Double.NaN));
        }
        try (MetricsCsv csv = MetricsCsv.open(f, 3)) {       // resumed from step 3: steps 4 and 5 are redone
            csv.append(row(4, 0.7, Double.NaN));
        }
        List<MetricsCsv.Row> rows = MetricsCsv.read(f);
        assertEquals(List.of(1L, 2L, 3L, 4L), rows.stream().map(MetricsCsv.Row::step).toList());
        assertEquals(0.7, rows.get(3).loss());
        assertEquals(1.0, rows.get(1).valLoss());
        assertTrue(Double.isNaN(rows.get(0).valLoss()));
        assertEquals(MetricsCsv.HEADER, Files.readAllLines(f).getFirst());
        try (MetricsCsv csv = MetricsCsv.open(f, 0)) {       // a fresh run starts an empty file
            assertEquals(List.of(MetricsCsv.HEADER), Files.readAllLines(f));
        }
    }

    @Test
    void thePlotIsAPngOfTheExpectedSize() throws Exception {
        Random r = new Random(seed);
        List<MetricsCsv.Row> rows = new ArrayList<>();
        for (int s = 1; s <= 200; s++) rows.add(new MetricsCsv.Row(s, 4 * Math.exp(-s / 50.0) + 0.1 * r.nextDouble(), s % 25 == 0 ? 4 * Math.exp(-s / 50.0) : Double.NaN));
        Path png = dir.resolve("loss.png");
        LossPlot.write(rows, png);
        byte[] head = Arrays.copyOf(Files.readAllBytes(png), 8);
        assertArrayEquals(new byte[]{(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'}, head, "PNG signature");
        BufferedImage img = ImageIO.read(png.toFile());
        assertNotNull(img, "ImageIO cannot decode " + png);
        assertEquals(LossPlot.WIDTH, img.getWidth());
        assertEquals(LossPlot.HEIGHT, img.getHeight());
        long distinct = java.util.stream.IntStream.range(0, 50).map(i -> img.getRGB(i * img.getWidth() / 50, img.getHeight() / 2)).distinct().count();
        assertTrue(distinct > 1, "the image is blank");
    }

    @Test
    void flopsPerTokenFollowNanoGpt() {
        GPTConfig gpt2 = GPTConfig.preset("gpt2");
        // N = 124,439,808 parameters less the 786,432 of wpe; attention 12 L H Q T with L = H = 12, Q = 64, T = 1024.
        assertEquals(6.0 * (124_439_808L - 786_432L) + 12.0 * 12 * 12 * 64 * 1024, Flops.perToken(gpt2));
        assertEquals(0.5, Flops.mfu(1e9, 494.5e3, 989e12), 1e-12);
        assertTrue(Double.isNaN(Flops.mfu(1e9, 1e3, 0)));
        assertEquals(989e12, Flops.peakForName("NVIDIA H100 80GB HBM3"));
        assertEquals(989e12, Flops.peakForName("NVIDIA H200"));
        assertEquals(0, Flops.peakForName("NVIDIA GeForce RTX 4090"));
        assertEquals(0, Flops.knownPeak(Device.CPU, Precision.BF16));
    }

    @Test
    void theBarIsDrawnOnlyInATerminalOutsideCi() {
        assertTrue(ProgressDisplay.interactive(true, Map.of()));
        assertTrue(ProgressDisplay.interactive(true, Map.of("CI", "false", "TERM", "xterm-256color")));
        assertFalse(ProgressDisplay.interactive(false, Map.of()));
        assertFalse(ProgressDisplay.interactive(true, Map.of("CI", "true")));
        assertFalse(ProgressDisplay.interactive(true, Map.of("TERM", "dumb")));
        try (ProgressDisplay off = ProgressDisplay.forTerminal(0, 10)) {    // tests run without a terminal
            assertFalse(off.isDrawing());
            off.update(row(1, 2.0, Double.NaN));
        }
    }

    @Test
    void theBarShowsStepsLossAndEta() {
        List<String> frames = new ArrayList<>();
        try (ProgressDisplay bar = ProgressDisplay.to(new DelegatingProgressBarConsumer(frames::add, 120), 2, 10)) {
            assertTrue(bar.isDrawing());
            for (int s = 3; s <= 5; s++) bar.update(row(s, 1.25, Double.NaN));
        }
        String last = frames.getLast();
        assertTrue(last.contains("5/10"), last);
        assertTrue(last.contains("loss 1.2500"), last);
        assertTrue(last.matches(".*\\(\\d+:\\d\\d:\\d\\d / \\d+:\\d\\d:\\d\\d\\).*"), "elapsed / ETA: " + last);
    }
}
