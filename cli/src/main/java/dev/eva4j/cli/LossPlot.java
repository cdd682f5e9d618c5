package dev.eva4j.cli;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Paint;
import java.awt.geom.Ellipse2D;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import org.jfree.chart.ChartFactory;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/**
 * Loss curves as a PNG, drawn with JFreeChart (headless): per run, the training loss per optimiser step as a line and
 * the evaluation loss as dots in the same colour. The file appears whole or not at all (a temporary file beside it,
 * then a rename).
 */
final class LossPlot {
    static final int WIDTH = 1000, HEIGHT = 600;
    private static final Color[] COLORS = {new Color(0x1f77b4), new Color(0xd62728), new Color(0x2ca02c),
            new Color(0xff7f0e), new Color(0x9467bd), new Color(0x8c564b), new Color(0xe377c2), new Color(0x7f7f7f),
            new Color(0xbcbd22), new Color(0x17becf)};

    private LossPlot() {}

    /** Draws {@code runs} into {@code png}, titled {@code title}. */
    static void write(Path png, String title, List<RunMetrics> runs) throws IOException {
        if (System.getProperty("java.awt.headless") == null) System.setProperty("java.awt.headless", "true");
        XYSeriesCollection data = new XYSeriesCollection();
        XYLineAndShapeRenderer renderer = new XYLineAndShapeRenderer();
        int series = 0;
        for (int i = 0; i < runs.size(); i++) {
            RunMetrics run = runs.get(i);
            Paint colour = COLORS[i % COLORS.length];
            String name = uniqueName(data, run.label());
            if (!run.loss().isEmpty()) {
                data.addSeries(series(name + " (train)", run.loss()));
                renderer.setSeriesPaint(series, colour);
                renderer.setSeriesLinesVisible(series, true);
                renderer.setSeriesShapesVisible(series, false);
                renderer.setSeriesStroke(series, new BasicStroke(1.5f));
                series++;
            }
            if (!run.evalLoss().isEmpty()) {
                data.addSeries(series(name + " (eval)", run.evalLoss()));
                renderer.setSeriesPaint(series, colour);
                renderer.setSeriesLinesVisible(series, run.evalLoss().size() > 1);
                renderer.setSeriesStroke(series, new BasicStroke(1f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10f,
                        new float[] {4f, 4f}, 0f));
                renderer.setSeriesShapesVisible(series, true);
                renderer.setSeriesShape(series, new Ellipse2D.Double(-4, -4, 8, 8));
                series++;
            }
        }
        JFreeChart chart = ChartFactory.createXYLineChart(title, "optimiser step", "loss", data,
                PlotOrientation.VERTICAL, true, false, false);
        XYPlot plot = chart.getXYPlot();
        plot.setRenderer(renderer);
        plot.setBackgroundPaint(Color.WHITE);
        plot.setDomainGridlinePaint(Color.LIGHT_GRAY);
        plot.setRangeGridlinePaint(Color.LIGHT_GRAY);
        ((NumberAxis) plot.getDomainAxis()).setStandardTickUnits(NumberAxis.createIntegerTickUnits());
        ((NumberAxis) plot.getRangeAxis()).setAutoRangeIncludesZero(false);
        chart.setBackgroundPaint(Color.WHITE);
        Path abs = png.toAbsolutePath();
        Files.createDirectories(abs.getParent());
        Path tmp = Files.createTempFile(abs.getParent(), "." + abs.getFileName(), ".tmp");
        try {
            ChartUtils.saveChartAsPNG(tmp.toFile(), chart, WIDTH, HEIGHT);
            Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (RuntimeException | LinkageError | java.awt.AWTError e) {
            // Java2D without fonts (no fontconfig or no font files) fails inside the JDK when it draws text
            throw new IOException("cannot draw " + png + ": " + e + " (fonts missing? Debian: apt-get install "
                    + "fontconfig fonts-dejavu-core)", e);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    private static XYSeries series(String name, List<RunMetrics.Point> points) {
        XYSeries s = new XYSeries(name, true, true);
        for (RunMetrics.Point p : points) s.addOrUpdate(p.step(), p.value());
        return s;
    }

    /** Two runs in folders of the same name get "name", "name #2". */
    private static String uniqueName(XYSeriesCollection data, String label) {
        String name = label;
        for (int n = 2; data.getSeriesIndex(name + " (train)") >= 0 || data.getSeriesIndex(name + " (eval)") >= 0; n++) {
            name = label + " #" + n;
        }
        return name;
    }
}
