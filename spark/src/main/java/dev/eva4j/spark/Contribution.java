package dev.eva4j.spark;

import dev.eva4j.api.eva.IncrementalPca;
import dev.eva4j.spi.SvdBackend;
import java.io.Serializable;
import java.util.Map;
import java.util.TreeMap;

/**
 * What partitions send up the reduction tree in one round: per equal-input group (keyed by the hooked member's module
 * path) the merged PCA state of their minibatches, the most rows one minibatch gave each group, and counters. Two
 * contributions merge with {@link IncrementalPca#merge}, the one holding the lower partition first, so that the result
 * does not depend on which task finished first beyond the shape of the tree.
 *
 * @param first      the lowest partition index merged in (Integer.MAX_VALUE: none)
 * @param partitions how many partitions are merged in
 * @param rows       real-token rows that went through the model
 * @param stateBytes bytes of the states the partitions sent (Java serialisation of each partition's contribution)
 * @param rawBytes   bytes the same rows would take as float32 activations of the requested groups: what gathering
 *                   the raw activations in one place would move
 */
record Contribution(int first, int partitions, Map<String, IncrementalPca.State> states, Map<String, Integer> maxRows,
                    long rows, long stateBytes, long rawBytes) implements Serializable {

    static final Contribution EMPTY = new Contribution(Integer.MAX_VALUE, 0, Map.of(), Map.of(), 0, 0, 0);

    Contribution withStateBytes(long bytes) {
        return new Contribution(first, partitions, states, maxRows, rows, bytes, rawBytes);
    }

    /**
     * Merges two contributions (either may be {@link #EMPTY}) with the SVD backend of this JVM, each group's states
     * keeping {@link SparkEvaSpec#stateComponents} components.
     */
    static Contribution merge(Contribution a, Contribution b, SparkEvaSpec spec, SvdBackend svd) {
        if (a.partitions == 0) return b;
        if (b.partitions == 0) return a;
        if (b.first < a.first) {
            Contribution t = a;
            a = b;
            b = t;
        }
        Map<String, IncrementalPca.State> states = new TreeMap<>(a.states);
        for (Map.Entry<String, IncrementalPca.State> e : b.states.entrySet()) {
            states.merge(e.getKey(), e.getValue(), (x, y) -> IncrementalPca.merge(x, y,
                    spec.stateComponents(Math.min(spec.components(), x.d()), x.d()), svd, spec.svdMode(), spec.seed()));
        }
        Map<String, Integer> maxRows = new TreeMap<>(a.maxRows);
        b.maxRows.forEach((k, v) -> maxRows.merge(k, v, Math::max));
        return new Contribution(a.first, a.partitions + b.partitions, states, maxRows, a.rows + b.rows,
                a.stateBytes + b.stateBytes, a.rawBytes + b.rawBytes);
    }

    /** Bytes of this contribution in Java serialisation, as Spark's default serializer sends it. */
    long serializedBytes() {
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        try (java.io.ObjectOutputStream out = new java.io.ObjectOutputStream(bytes)) {
            out.writeObject(this);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return bytes.size();
    }

}
