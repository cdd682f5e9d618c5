package dev.eva4j.cli;

import dev.eva4j.api.eva.EvaConfig;
import dev.eva4j.api.eva.EvaResult;
import dev.eva4j.api.eva.ProgressListener;
import dev.eva4j.spi.RankAllocator;
import dev.eva4j.spi.SvdBackend;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Map;

/**
 * A way for {@code eva4j init --spark MASTER} to run EVA on a cluster, found with {@link java.util.ServiceLoader}: the
 * eva4j-spark module provides one, and the {@code ./eva4j} launcher puts it on the class path when {@code --spark} is
 * given. The CLI keeps everything else (options, rank table, the adapter folder).
 */
public interface DistributedInit {

    /** The engine name printed in init's first line (e.g. "Spark 4.1.3"). */
    String name();

    /**
     * Runs EVA on the cluster and returns its result.
     *
     * @throws dev.eva4j.spi.InvalidInputException for bad input (on the driver or an executor), one line naming it
     */
    Outcome run(Request request, PrintWriter log) throws IOException;

    /**
     * What init was asked for.
     *
     * @param master       the Spark master URL ({@code local[N]}, {@code spark://...}, {@code yarn}, ...)
     * @param partitions   how many partitions share each step's batch; 0: the cluster's default parallelism
     * @param stateComponents components per group each partition's state keeps (0: the engine's default)
     * @param backend      the compute backend the executors use (null: the best available there)
     * @param svdBackend   the SVD backend the executors use (null: the best available there)
     * @param svd          the driver's SVD backend (it absorbs each round's merged state)
     * @param allocator    the driver's rank allocator
     */
    record Request(String master, Path model, Path tokenizer, Path data, String targets, int batchSize, int maxLength,
                   Long shuffleSeed, int partitions, int stateComponents, EvaConfig config, String backend, String svdBackend, SvdBackend svd,
                   RankAllocator allocator, ProgressListener progress) {}

    /**
     * @param result  the EVA result, as a single-JVM run gives it
     * @param report  more fields for eva_report.json (under their own names)
     * @param summary a line for the terminal (e.g. bytes moved)
     */
    record Outcome(EvaResult result, Map<String, Object> report, String summary) {}
}
