package dev.eva4j.spark;

import dev.eva4j.api.eva.IncrementalPca;
import dev.eva4j.api.eva.Rows;
import dev.eva4j.models.data.BatchReader;
import dev.eva4j.models.data.HfTextEncoder;
import dev.eva4j.models.data.JsonlLines;
import dev.eva4j.models.data.ModelActivationSource;
import dev.eva4j.spi.InvalidInputException;
import dev.eva4j.spi.SvdBackend;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import scala.Tuple2;

/**
 * One partition's part of a round, on an executor. The records are laid out so that every step's batch (the
 * {@code batchSize} records a single-JVM step reads: consecutive in file order, or in the seeded order of the pass)
 * is split across the partitions by position in the batch; round t is batch (t - 1) mod B. The partition runs the model
 * over its share of that batch (only as deep as the requested groups need) and computes per group the PCA state of
 * its rows. Deterministic for a given layout, round and spec, so a retried task returns what the failed attempt would
 * have.
 */
final class PartitionRound {
    private PartitionRound() {}

    /**
     * @param records this partition's records as (position in the pass's order, line)
     * @param batch   the batch of the pass this round reads
     */
    static Contribution run(SparkEvaSpec spec, int partition, int round, long batch, Set<String> needed,
                            Iterator<Tuple2<Integer, Tuple2<Long, JsonlLines.Line>>> records) throws IOException {
        List<Tuple2<Long, JsonlLines.Line>> mine = new ArrayList<>();
        long from = batch * spec.batchSize(), to = from + spec.batchSize();
        while (records.hasNext()) {
            Tuple2<Long, JsonlLines.Line> r = records.next()._2();
            if (r._1() >= from && r._1() < to) mine.add(r);
        }
        if (mine.isEmpty()) { // a short last batch may leave a partition without records this round
            return new Contribution(partition, 1, Map.of(), Map.of(), 0, 0, 0);
        }
        mine.sort(Comparator.comparingLong(Tuple2::_1));
        List<JsonlLines.Line> lines = new ArrayList<>(mine.size());
        for (Tuple2<Long, JsonlLines.Line> r : mine) lines.add(r._2());

        Workers.Loaded loaded = Workers.model(spec);
        SvdBackend svd = Workers.svd(spec);
        Map<String, IncrementalPca.State> states = new TreeMap<>();
        Map<String, Integer> maxRows = new TreeMap<>();
        long raw = 0;
        try (BatchReader reader = new BatchReader(spec.dataName(), p -> new JsonlLines(spec.dataName(), lines),
                loaded.tokenizer() == null ? null : new HfTextEncoder(loaded.tokenizer()), lines.size(),
                spec.maxLength(), spec.useLabelMask(), spec.labelMaskValue());
             ModelActivationSource source = new ModelActivationSource(loaded.model(), loaded.targets(), reader)) {
            source.request(needed);
            Map<String, Rows> rows = source.next();
            if (rows == null) throw new IllegalStateException("partition " + partition + ": no batch from " + lines.size() + " records");
            for (Map.Entry<String, Rows> e : rows.entrySet()) {
                Rows r = e.getValue();
                maxRows.put(e.getKey(), r.count());
                raw += 4L * r.count() * r.dim();
                if (r.count() == 0) continue; // every position masked
                int k = Math.min(spec.components(), r.dim());
                try {
                    states.put(e.getKey(), IncrementalPca.of(r.data(), r.count(), r.dim(),
                            spec.stateComponents(k, r.dim()), spec.float64(), svd, spec.svdMode(), spec.seed()));
                } catch (IncrementalPca.NonFiniteInputException x) {
                    throw new InvalidInputException("layer '" + e.getKey() + "': round " + round + " (partition "
                            + partition + ") holds " + x.getMessage());
                }
            }
            Contribution c = new Contribution(partition, 1, states, maxRows, source.tokens(), 0, raw);
            return c.withStateBytes(c.serializedBytes());
        }
    }
}
