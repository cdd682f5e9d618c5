package dev.eva4j.spark;

import dev.eva4j.api.eva.EvaConfig;
import dev.eva4j.api.eva.EvaEngine;
import dev.eva4j.api.eva.EvaResult;
import dev.eva4j.api.eva.ProgressListener;
import dev.eva4j.models.data.JsonlLines;
import dev.eva4j.spi.InvalidInputException;
import dev.eva4j.spi.RankAllocator;
import dev.eva4j.spi.SvdBackend;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.BooleanSupplier;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;

/**
 * Distributed EVA on Apache Spark. Each round, every partition of the data runs the model (loaded once per executor
 * from {@link SparkEvaSpec#model()}, a path every executor reads) on its next minibatch and computes, per equal-input
 * group still needed, the PCA state of that minibatch; the states are merged up a {@code treeAggregate} tree
 * ({@link dev.eva4j.api.eva.IncrementalPca#merge}); the driver's {@link EvaEngine} absorbs the round's state into its
 * running state, checks convergence and redistributes ranks, and decides whether another round runs. The result is
 * the {@link EvaResult} a single-JVM run gives, plus what each round moved.
 *
 * <p>A round is a single-JVM step spread over the cluster: it reads the {@code batchSize} records a single-JVM step
 * reads (in file order, or the seeded order of {@code --shuffle}), split across the partitions. With states that keep
 * min(d, rows) components the run gives the single-JVM result (up to rounding and the randomised SVD's sketch); the
 * default states keep {@link SparkEvaSpec#DEFAULT_STATE_FACTOR} x k components, which is that when a partition's
 * share has fewer rows or the layer is narrow, and a close approximation otherwise.
 *
 * <p>Thread-safety: one run per call, on the calling thread (the driver); Spark runs the partitions.
 */
public final class SparkEva {
    private SparkEva() {}

    /** A distributed run's result and the traffic of each round. */
    public record Outcome(EvaResult result, int partitions, List<Round> rounds) {
        /** Bytes and wall time of one round. */
        public record Round(int round, long rows, long stateBytes, long rawActivationBytes, double seconds) {}

        public long stateBytes() {
            return rounds.stream().mapToLong(Round::stateBytes).sum();
        }

        public long rawActivationBytes() {
            return rounds.stream().mapToLong(Round::rawActivationBytes).sum();
        }

        /** Fields for eva_report.json. */
        public Map<String, Object> report(String master) {
            Map<String, Object> spark = new LinkedHashMap<>();
            spark.put("master", master);
            spark.put("partitions", partitions);
            spark.put("rounds", rounds.size());
            spark.put("state_bytes", stateBytes());
            spark.put("raw_activation_bytes", rawActivationBytes());
            List<Map<String, Object>> per = new ArrayList<>();
            for (Round r : rounds) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("round", r.round());
                m.put("rows", r.rows());
                m.put("state_bytes", r.stateBytes());
                m.put("raw_activation_bytes", r.rawActivationBytes());
                m.put("seconds", Math.round(r.seconds() * 1000) / 1000.0);
                per.add(m);
            }
            spark.put("per_round", per);
            return Map.of("spark", spark);
        }
    }

    /** Reads a JSONL file as an RDD of numbered lines (the numbers are the file's, for errors). */
    public static JavaRDD<JsonlLines.Line> lines(JavaSparkContext sc, String path) {
        return sc.textFile(path).zipWithIndex().map(t -> new JsonlLines.Line(t._2() + 1, t._1()));
    }

    /**
     * Runs EVA over {@code data} (any partitioning: the records are numbered and laid out again, so that each round
     * reads the batch a single-JVM step reads, split across {@code partitions} partitions).
     *
     * @param partitions how many partitions share each round's batch, in [1, batchSize]; 0: Spark's default
     *                   parallelism (capped at the batch size)
     * @param svd        the driver's SVD backend (it absorbs each round's merged state)
     * @param allocator  the driver's rank allocator
     * @param cancelled  read before each round
     * @param hook       run in every task before its part of a round ({@link TaskHook#NONE} normally)
     */
    public static Outcome run(JavaSparkContext sc, JavaRDD<JsonlLines.Line> data, int partitions, SparkEvaSpec spec,
                              EvaConfig config, SvdBackend svd, RankAllocator allocator, ProgressListener progress,
                              BooleanSupplier cancelled, TaskHook hook) throws IOException {
        Objects.requireNonNull(sc, "sc");
        if (spec.components() != config.components() || spec.float64() != (config.precision() == EvaConfig.Precision.FLOAT64)
                || spec.seed() != config.seed() || spec.svdMode() != config.svd()) {
            throw new IllegalArgumentException("the spec's PCA settings differ from the engine's config");
        }
        int parts = partitions > 0 ? partitions : Math.min(sc.defaultParallelism(), spec.batchSize());
        try (SparkStateSource source = new SparkStateSource(sc, spec, data, parts, hook == null ? TaskHook.NONE : hook)) {
            EvaResult result;
            try {
                result = new EvaEngine(config, svd, allocator).run(source, progress, cancelled);
            } catch (IllegalArgumentException e) {
                if (e instanceof InvalidInputException) throw e;
                throw new InvalidInputException(e.getMessage(), e);
            }
            List<Outcome.Round> rounds = source.stats().stream().map(s -> new Outcome.Round(s.round(), s.rows(),
                    s.stateBytes(), s.rawActivationBytes(), s.seconds())).toList();
            return new Outcome(result, source.partitions(), rounds);
        }
    }
}
