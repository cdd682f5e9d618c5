package dev.eva4j.spark;

import dev.eva4j.cli.DistributedInit;
import dev.eva4j.models.data.JsonlLines;
import dev.eva4j.spi.InvalidInputException;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.util.Locale;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;

/**
 * {@code eva4j init --spark MASTER}: starts a Spark context on the master (or joins the one spark-submit made), runs
 * {@link SparkEva} and hands the result back to the CLI, which writes the adapter folder as for a single-JVM run.
 */
public final class SparkInit implements DistributedInit {

    @Override
    public String name() {
        return "Spark " + org.apache.spark.package$.MODULE$.SPARK_VERSION();
    }

    @Override
    public Outcome run(Request r, PrintWriter log) throws IOException {
        String dataUri = r.data().toString();
        if (!dataUri.contains("://") && !Files.isRegularFile(r.data())) {
            if (r.master().startsWith("local")) throw new java.nio.file.NoSuchFileException(dataUri);
        }
        if (r.master().isBlank()) throw new InvalidInputException("--spark needs a master URL, e.g. local[2]");
        SparkConf conf = new SparkConf().setAppName("eva4j init").setMaster(r.master())
                .setIfMissing("spark.ui.enabled", "false")
                .setIfMissing("spark.ui.showConsoleProgress", "false");
        SparkEvaSpec spec = SparkEvaSpec.of(r.model().toAbsolutePath().normalize().toString(),
                r.tokenizer() == null ? null : r.tokenizer().toAbsolutePath().normalize().toString(), r.targets(),
                r.batchSize(), r.maxLength(), r.shuffleSeed(), r.backend(), r.svdBackend(), r.config(),
                String.valueOf(r.data().getFileName())).withStateComponents(r.stateComponents());
        JavaSparkContext sc;
        try {
            sc = new JavaSparkContext(conf);
        } catch (Exception e) { // Scala throws the checked SparkException without declaring it
            throw new InvalidInputException("cannot start Spark on master '" + r.master() + "': " + e.getMessage(), e);
        }
        try {
            JavaRDD<JsonlLines.Line> lines = SparkEva.lines(sc, dataUri.contains("://") ? dataUri
                    : r.data().toAbsolutePath().normalize().toUri().toString());
            SparkEva.Outcome o = SparkEva.run(sc, lines, r.partitions(), spec, r.config(), r.svd(), r.allocator(), r.progress(),
                    () -> false, TaskHook.NONE);
            String summary = String.format(Locale.ROOT, "spark: %d partition(s), %d round(s); states moved %s against %s "
                            + "of raw activations (%.0fx less)", o.partitions(), o.rounds().size(), bytes(o.stateBytes()),
                    bytes(o.rawActivationBytes()), o.stateBytes() == 0 ? 0.0 : (double) o.rawActivationBytes() / o.stateBytes());
            return new Outcome(o.result(), o.report(r.master()), summary);
        } finally {
            sc.close();
        }
    }

    static String bytes(long b) {
        if (b < 1024) return b + " B";
        if (b < 1L << 20) return String.format(Locale.ROOT, "%.1f KiB", b / 1024.0);
        if (b < 1L << 30) return String.format(Locale.ROOT, "%.1f MiB", b / (1024.0 * 1024));
        return String.format(Locale.ROOT, "%.2f GiB", b / (1024.0 * 1024 * 1024));
    }
}
