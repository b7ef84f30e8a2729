package dev.flare.training.metrics;

import org.jfree.chart.ChartFactory;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

import java.awt.Color;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/** The loss curve as a PNG: training loss per step (line) and validation loss where evaluated (line with dots). */
public final class LossPlot {
    public static final int WIDTH = 900, HEIGHT = 500;

    private LossPlot() {}

    /** Draws the rows of metrics.csv into png (WIDTH x HEIGHT pixels). */
    public static void write(List<MetricsCsv.Row> rows, Path png) throws IOException {
        // JFreeChart draws through AWT; without a display it must be headless (set before AWT initialises)
        if (System.getProperty("java.awt.headless") == null) System.setProperty("java.awt.headless", "true");
        XYSeries train = new XYSeries("train loss"), val = new XYSeries("val loss");
        for (MetricsCsv.Row r : rows) {
            if (Double.isFinite(r.loss())) train.add(r.step(), r.loss());
            if (Double.isFinite(r.valLoss())) val.add(r.step(), r.valLoss());
        }
        XYSeriesCollection data = new XYSeriesCollection();
        data.addSeries(train);
        data.addSeries(val);
        JFreeChart chart = ChartFactory.createXYLineChart("Loss", "step", "loss (nats per token)", data,
                PlotOrientation.VERTICAL, true, false, false);
        XYPlot plot = chart.getXYPlot();
        plot.setBackgroundPaint(Color.WHITE);
        plot.setDomainGridlinePaint(Color.LIGHT_GRAY);
        plot.setRangeGridlinePaint(Color.LIGHT_GRAY);
        XYLineAndShapeRenderer r = new XYLineAndShapeRenderer();
        r.setSeriesShapesVisible(0, false);
        r.setSeriesPaint(0, new Color(0x1f77b4));
        r.setSeriesShapesVisible(1, true);
        r.setSeriesPaint(1, new Color(0xff7f0e));
        plot.setRenderer(r);
        ((org.jfree.chart.axis.NumberAxis) plot.getRangeAxis()).setAutoRangeIncludesZero(false);
        // drawn in memory first: a failure (no fonts, say) must not leave an empty or half-written file
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        ChartUtils.writeChartAsPNG(bytes, chart, WIDTH, HEIGHT);
        dev.flare.training.checkpoint.AtomicDirectory.writeFile(png, bytes.toByteArray());
    }
}
