package dev.eva4j.spark;

import dev.eva4j.api.eva.StateSource;
import dev.eva4j.api.eva.TargetLayer;
import dev.eva4j.models.LinearModule;
import dev.eva4j.models.TransformerModel;
import dev.eva4j.models.data.JsonlLines;
import dev.eva4j.models.data.ShuffledJsonlReader;
import dev.eva4j.spi.InvalidInputException;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import org.apache.spark.HashPartitioner;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.storage.StorageLevel;
import scala.Tuple2;

/**
 * The driver's side of distributed EVA. The non-blank records are numbered and laid out once per pass (once for
 * file order; once per pass for a seeded order, the order a single-JVM {@code --shuffle} run reads): record at
 * position i of the pass goes to partition ((i mod batchSize) * P / min(batchSize, records)), so every full batch of
 * the pass is split across the P partitions (P <= min(batchSize, records): none stays empty). Each {@link #next round} is one Spark job: every partition runs {@link PartitionRound} on
 * its share of the round's batch, and the contributions are reduced with {@code treeAggregate}. Keeps what each
 * round moved.
 */
final class SparkStateSource implements StateSource {
    /** Bytes and time of one round. */
    record RoundStats(int round, int partitions, long rows, long stateBytes, long rawActivationBytes, double seconds) {}

    /** The target layers and groups, as an executor's model declares them. */
    record Description(List<TargetLayer> layers, List<List<String>> groups) implements Serializable {}

    private final SparkEvaSpec spec;
    private final int partitions;
    private final TaskHook hook;
    private final Description description;
    private final JavaPairRDD<JsonlLines.Line, Long> numbered;
    private final long records;
    private final long batches;
    private final int perBatch; // records of a full batch: min(batchSize, records)
    private final List<RoundStats> stats = new ArrayList<>();
    private JavaPairRDD<Integer, Tuple2<Long, JsonlLines.Line>> layout;
    private long layoutPass = -1;

    SparkStateSource(JavaSparkContext sc, SparkEvaSpec spec, JavaRDD<JsonlLines.Line> data, int partitions, TaskHook hook) {
        this.spec = spec;
        this.partitions = partitions;
        this.hook = hook;
        if (partitions < 1) throw new InvalidInputException("--partitions must be >= 1, got " + partitions);
        if (partitions > spec.batchSize()) {
            throw new InvalidInputException("--partitions " + partitions + " exceeds --batch-size " + spec.batchSize()
                    + ": every round's batch is split across the partitions, one record at least each");
        }
        this.description = SparkErrors.unwrap(() -> sc.parallelize(List.of(0), 1).map(x -> describe(spec)).collect().getFirst());
        this.numbered = data.filter(l -> !l.text().isBlank()).zipWithIndex().persist(StorageLevel.MEMORY_AND_DISK());
        this.records = SparkErrors.unwrap(numbered::count);
        if (records == 0) throw new InvalidInputException(spec.dataName() + " holds no records");
        if (records > Integer.MAX_VALUE && spec.shuffleSeed() != null) {
            throw new InvalidInputException("--shuffle supports at most " + Integer.MAX_VALUE + " records");
        }
        if (records < partitions) { // a partition that would never get a record
            throw new InvalidInputException("--partitions " + partitions + " exceeds the " + records + " record(s) of "
                    + spec.dataName() + ": partitions " + records + " to " + (partitions - 1) + " would stay empty; use "
                    + "--partitions " + records + " or fewer");
        }
        this.batches = (records + spec.batchSize() - 1) / spec.batchSize();
        this.perBatch = (int) Math.min(spec.batchSize(), records);
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

    /** The records of one pass, keyed by partition, as (position in the pass's order, line). */
    private JavaPairRDD<Integer, Tuple2<Long, JsonlLines.Line>> layout(long pass) {
        long key = spec.shuffleSeed() == null ? 0 : pass;
        if (layout != null && layoutPass == key) return layout;
        if (layout != null) layout.unpersist(false);
        SparkEvaSpec spec = this.spec;
        int parts = partitions, width = perBatch;
        long n = records;
        layout = numbered.mapPartitionsToPair((Iterator<Tuple2<JsonlLines.Line, Long>> it) -> {
            int[] position = null;
            if (spec.shuffleSeed() != null) { // the order of ShuffledJsonlReader for this pass, inverted
                int[] order = ShuffledJsonlReader.order((int) n, spec.shuffleSeed() + key);
                position = new int[order.length];
                for (int j = 0; j < order.length; j++) position[order[j]] = j;
            }
            List<Tuple2<Integer, Tuple2<Long, JsonlLines.Line>>> out = new ArrayList<>();
            while (it.hasNext()) {
                Tuple2<JsonlLines.Line, Long> r = it.next();
                long pos = position == null ? r._2() : position[(int) (long) r._2()];
                int p = (int) ((pos % spec.batchSize()) * parts / width);
                out.add(new Tuple2<>(p, new Tuple2<>(pos, r._1())));
            }
            return out.iterator();
        }).partitionBy(new HashPartitioner(parts)).persist(StorageLevel.MEMORY_AND_DISK());
        layoutPass = key;
        return layout;
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
        long pass = (round - 1) / batches, batch = (round - 1) % batches;
        JavaPairRDD<Integer, Tuple2<Long, JsonlLines.Line>> data = layout(pass);
        SparkEvaSpec spec = this.spec;
        TaskHook hook = this.hook;
        Set<String> needed = new HashSet<>(modules);
        Contribution c = SparkErrors.unwrap(() -> data.mapPartitionsWithIndex((p, it) -> {
            hook.beforeRound(p, round, TaskContext.get() == null ? 0 : TaskContext.get().attemptNumber());
            return List.of(PartitionRound.run(spec, p, round, batch, needed, it)).iterator();
        }, true).treeAggregate(Contribution.EMPTY,
                (acc, x) -> Contribution.merge(acc, x, spec, Workers.svd(spec)),
                (a, b) -> Contribution.merge(a, b, spec, Workers.svd(spec)), spec.depth()));
        if (c.partitions() != partitions) {
            throw new IllegalStateException("round " + round + " merged " + c.partitions() + " of " + partitions + " partitions");
        }
        stats.add(new RoundStats(round, c.partitions(), c.rows(), c.stateBytes(), c.rawBytes(), (System.nanoTime() - t0) * 1e-9));
        return new Round(c.states(), c.maxRows(), c.rows(), round >= batches);
    }

    @Override
    public void close() {
        if (layout != null) layout.unpersist(false);
        numbered.unpersist(false);
    }
}
