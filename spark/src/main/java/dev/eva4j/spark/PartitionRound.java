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
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;

/**
 * One partition's part of a round, on an executor: its next minibatch (round r takes minibatch (r - 1) mod B of the
 * partition's B minibatches, in file order or a seeded order per pass), the model run only as deep as the requested
 * groups need, and per group the PCA state of that minibatch alone. Deterministic for a given partition, round and
 * spec, so a retried task returns what the failed attempt would have.
 */
final class PartitionRound {
    private PartitionRound() {}

    static Contribution run(SparkEvaSpec spec, int partition, int partitions, int round, Set<String> needed,
                            Iterator<JsonlLines.Line> records) throws IOException {
        List<JsonlLines.Line> lines = new ArrayList<>();
        while (records.hasNext()) {
            JsonlLines.Line l = records.next();
            if (!l.text().isBlank()) lines.add(l);
        }
        if (lines.isEmpty()) {
            throw new InvalidInputException("partition " + partition + " of " + partitions + " holds no records of "
                    + spec.dataName() + ": use fewer partitions (--partitions) than records, or more data");
        }
        int batches = (lines.size() + spec.batchSize() - 1) / spec.batchSize();
        int pass = (round - 1) / batches, index = (round - 1) % batches;
        if (spec.shuffleSeed() != null) {
            lines = new ArrayList<>(lines);
            Collections.shuffle(lines, new Random(spec.shuffleSeed() + 1_000_003L * pass + partition));
        }
        List<JsonlLines.Line> batch = lines.subList(index * spec.batchSize(),
                Math.min(lines.size(), (index + 1) * spec.batchSize()));

        Workers.Loaded loaded = Workers.model(spec);
        SvdBackend svd = Workers.svd(spec);
        Map<String, IncrementalPca.State> states = new TreeMap<>();
        Map<String, Integer> maxRows = new TreeMap<>();
        long raw = 0;
        try (BatchReader reader = new BatchReader(spec.dataName(), p -> new JsonlLines(spec.dataName(), batch),
                loaded.tokenizer() == null ? null : new HfTextEncoder(loaded.tokenizer()), spec.batchSize(),
                spec.maxLength(), spec.useLabelMask(), spec.labelMaskValue());
             ModelActivationSource source = new ModelActivationSource(loaded.model(), loaded.targets(), reader)) {
            source.request(needed);
            Map<String, Rows> rows = source.next();
            if (rows == null) throw new IllegalStateException("partition " + partition + ": minibatch " + index + " is empty");
            for (Map.Entry<String, Rows> e : rows.entrySet()) {
                Rows r = e.getValue();
                maxRows.put(e.getKey(), r.count());
                raw += 4L * r.count() * r.dim();
                int k = Math.min(spec.components(), r.dim());
                if (r.count() < k) continue; // too few real tokens for a state: as a single-JVM step skips them
                try {
                    states.put(e.getKey(), IncrementalPca.of(r.data(), r.count(), r.dim(), k, spec.float64(), svd,
                            spec.svdMode(), spec.seed()));
                } catch (IncrementalPca.NonFiniteInputException x) {
                    throw new InvalidInputException("layer '" + e.getKey() + "': partition " + partition + ", round "
                            + round + " holds " + x.getMessage());
                }
            }
            Contribution c = new Contribution(partition, 1, states, maxRows, source.tokens(), 0, raw, round >= batches);
            long bytes = c.serializedBytes();
            return new Contribution(partition, 1, states, maxRows, source.tokens(), bytes, raw, round >= batches);
        }
    }
}
