package dev.eva4j.spark;

import dev.eva4j.api.eva.StateSource;
import dev.eva4j.api.eva.TargetLayer;
import dev.eva4j.models.LinearModule;
import dev.eva4j.models.TransformerModel;
import dev.eva4j.models.data.JsonlLines;
import dev.eva4j.spi.InvalidInputException;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;

/**
 * The driver's side of distributed EVA: each {@link #next round} is one Spark job in which every partition runs
 * {@link PartitionRound} and the contributions are reduced with {@code treeAggregate}. Keeps what each round moved.
 * The data RDD should be cached by the caller (it is read once per round).
 */
final class SparkStateSource implements StateSource {
    /** Bytes and time of one round. */
    record RoundStats(int round, int partitions, long rows, long stateBytes, long rawActivationBytes, double seconds) {}

    /** The target layers and groups, as an executor's model declares them. */
    record Description(List<TargetLayer> layers, List<List<String>> groups) implements Serializable {}

    private final SparkEvaSpec spec;
    private final JavaRDD<JsonlLines.Line> data;
    private final int partitions;
    private final TaskHook hook;
    private final Description description;
    private final List<RoundStats> stats = new ArrayList<>();

    SparkStateSource(JavaSparkContext sc, SparkEvaSpec spec, JavaRDD<JsonlLines.Line> data, TaskHook hook) {
        this.spec = spec;
        this.data = data;
        this.partitions = data.getNumPartitions();
        this.hook = hook;
        if (partitions < 1) throw new InvalidInputException("the data has no partitions");
        this.description = SparkErrors.unwrap(() -> sc.parallelize(List.of(0), 1).map(x -> describe(spec)).collect().getFirst());
    }

    /** Loads the model on an executor (where it then stays) and lists its targets and equal-input groups. */
    static Description describe(SparkEvaSpec spec) {
        Workers.Loaded loaded = Workers.model(spec);
        TransformerModel model = loaded.model();
        List<TargetLayer> layers = new ArrayList<>();
        Set<String> targets = new HashSet<>();
        for (LinearModule l : loaded.targets()) {
            layers.add(new TargetLayer(l.path(), l.inFeatures(), l.outFeatures()));
            targets.add(l.path());
        }
        List<List<String>> groups = new ArrayList<>();
        for (List<String> g : model.equalInputGroups()) {
            List<String> members = new ArrayList<>(g.stream().filter(targets::contains).toList());
            if (members.size() > 1) groups.add(members);
        }
        return new Description(List.copyOf(layers), List.copyOf(groups));
    }

    @Override
    public List<TargetLayer> layers() {
        return description.layers();
    }

    @Override
    public List<List<String>> groups() {
        return description.groups();
    }

    int partitions() {
        return partitions;
    }

    List<RoundStats> stats() {
        return Collections.unmodifiableList(stats);
    }

    @Override
    public Round next(Set<String> modules, int round) {
        long t0 = System.nanoTime();
        SparkEvaSpec spec = this.spec;
        TaskHook hook = this.hook;
        Set<String> needed = new HashSet<>(modules);
        int parts = partitions;
        Contribution c = SparkErrors.unwrap(() -> data.mapPartitionsWithIndex((p, it) -> {
            hook.beforeRound(p, round, TaskContext.get() == null ? 0 : TaskContext.get().attemptNumber());
            return List.of(PartitionRound.run(spec, p, parts, round, needed, it)).iterator();
        }, true).treeAggregate(Contribution.EMPTY,
                (acc, x) -> Contribution.merge(acc, x, Workers.svd(spec), spec.svdMode(), spec.seed()),
                (a, b) -> Contribution.merge(a, b, Workers.svd(spec), spec.svdMode(), spec.seed()), spec.depth()));
        if (c.partitions() != parts) {
            throw new IllegalStateException("round " + round + " merged " + c.partitions() + " of " + parts + " partitions");
        }
        stats.add(new RoundStats(round, c.partitions(), c.rows(), c.stateBytes(), c.rawBytes(), (System.nanoTime() - t0) * 1e-9));
        return new Round(c.states(), c.maxRows(), c.rows(), c.passDone());
    }

    @Override
    public void close() {
    }
}
