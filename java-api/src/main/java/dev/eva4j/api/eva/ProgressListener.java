package dev.eva4j.api.eva;

/** Told after every incremental step (for progress bars). */
@FunctionalInterface
public interface ProgressListener {
    void step(int step, int maxSteps, int layersDone, int layers, long tokens);

    ProgressListener NONE = (step, maxSteps, done, layers, tokens) -> {};
}
