package dev.eva4j.api.eva;

import java.util.Map;

/**
 * Told after every incremental step (for progress bars and job status). {@link EvaEngine} calls it on the thread that
 * runs EVA; an implementation that publishes what it hears to other threads (a service's status endpoint) must do so
 * safely itself, e.g. through volatile fields or an immutable snapshot.
 */
@FunctionalInterface
public interface ProgressListener {
    /**
     * @param step       steps done so far (0 before the first)
     * @param maxSteps   the configured bound on steps
     * @param layersDone target layers whose components have converged
     * @param layers     target layers in all
     * @param tokens     activation rows (real tokens) consumed so far
     */
    void step(int step, int maxSteps, int layersDone, int layers, long tokens);

    /**
     * The ranks after a step's redistribution, by module path in the source's layer order (an unmodifiable map that
     * the listener may keep). Called after every step once every group has components; not called before. Does
     * nothing by default.
     */
    default void ranks(int step, Map<String, Integer> ranks) {}

    ProgressListener NONE = (step, maxSteps, done, layers, tokens) -> {};
}
