package dev.eva4j.api.eva;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Where a distributed EVA run's data comes from: instead of activation rows, every round yields per equal-input group
 * one mergeable {@link IncrementalPca.State} of new rows (the states of many workers' minibatches merged, e.g. by a
 * cluster's tree reduction). {@link EvaEngine#run(StateSource, ProgressListener, java.util.function.BooleanSupplier)}
 * absorbs each round's states into its running state, checks convergence and redistributes ranks, exactly as it does
 * after an incremental step over rows.
 *
 * <p>The states must have the engine's shape: k = min(round(r * rho), in_features) components and the configured
 * precision; a source is built with the same {@link EvaConfig} as the engine.
 */
public interface StateSource extends AutoCloseable {

    /** The target layers, in declaration order. */
    List<TargetLayer> layers();

    /** Equal-input groups (each a list of module paths); layers in none form groups of one. */
    List<List<String>> groups();

    /**
     * The next round over new data.
     *
     * @param modules the module paths of every member of the groups that have not converged (as
     *                {@link ActivationSource#request}); the source may leave the others out
     * @param round   1 for the first round, then 2, 3, ...
     */
    Round next(Set<String> modules, int round) throws IOException;

    @Override
    void close() throws IOException;

    /**
     * One round's outcome.
     *
     * @param states  per group (keyed by any one member's module path): the merged state of this round's rows; a group
     *                is absent when no worker had the k rows a state needs
     * @param maxRows per group (same keys; absent: no worker supplied the group): the most rows one worker's minibatch
     *                gave it (0 when every position was masked), for the engine's "too little data" errors
     * @param rows    activation rows (real tokens) that went into the round, over all workers
     * @param passDone whether every worker has now been through all of its data at least once (after that, a group
     *                that never had a state will not get one: the engine stops with the cause)
     */
    record Round(Map<String, IncrementalPca.State> states, Map<String, Integer> maxRows, long rows, boolean passDone) {
        public Round {
            states = Map.copyOf(Objects.requireNonNull(states, "states"));
            maxRows = Map.copyOf(Objects.requireNonNull(maxRows, "maxRows"));
            if (rows < 0) throw new IllegalArgumentException("rows must be >= 0, got " + rows);
        }
    }
}
