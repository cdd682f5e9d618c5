package dev.eva4j.examples.service;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.eva4j.api.eva.ProgressListener;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One EVA job: its request, its state and the progress EVA reported. Fields written by the job's worker thread are
 * volatile (the ranks map is an immutable snapshot), so status requests on the server's threads read them without
 * locks; state transitions are made under the job's monitor, so a cancel and the job's end cannot both win.
 * Nothing here is shared with another job.
 */
final class Job implements ProgressListener {
    enum State { QUEUED, RUNNING, DONE, FAILED, CANCELLED }

    final String id;
    final JobRequest request;
    final Path adapterDir; // written only once EVA finished, atomically
    final AtomicBoolean cancelRequested = new AtomicBoolean();
    private State state = State.QUEUED;
    private volatile int step, maxSteps, layersConverged, layers;
    private volatile long tokens;
    private volatile Map<String, Integer> ranks; // null until known
    private volatile String error;
    private Future<?> future;

    Job(String id, JobRequest request, Path adapterDir, int maxSteps) {
        this.id = id;
        this.request = request;
        this.adapterDir = adapterDir;
        this.maxSteps = maxSteps;
    }

    @Override
    public void step(int step, int maxSteps, int layersDone, int layers, long tokens) {
        this.step = step;
        this.maxSteps = maxSteps;
        this.layersConverged = layersDone;
        this.layers = layers;
        this.tokens = tokens;
    }

    @Override
    public void ranks(int step, Map<String, Integer> ranks) {
        this.ranks = ranks; // unmodifiable, a new map every step
    }

    synchronized State state() {
        return state;
    }

    synchronized void future(Future<?> f) {
        this.future = f;
    }

    /** QUEUED -> RUNNING; false when the job was cancelled before it started. */
    synchronized boolean start() {
        if (state != State.QUEUED) return false;
        state = State.RUNNING;
        return true;
    }

    /** RUNNING -> DONE unless a cancel came first; false then (the caller removes what it wrote). */
    synchronized boolean finish() {
        if (cancelRequested.get()) {
            state = State.CANCELLED;
            return false;
        }
        state = State.DONE;
        return true;
    }

    synchronized void fail(String message) {
        error = message;
        state = State.FAILED;
    }

    synchronized void cancelled() {
        state = State.CANCELLED;
    }

    /**
     * Asks the job to stop: a queued job is cancelled at once (it never starts), a running one at its next step.
     * @return false when the job had already ended
     */
    synchronized boolean cancel() {
        switch (state) {
            case QUEUED -> {
                cancelRequested.set(true);
                state = State.CANCELLED;
                if (future != null) future.cancel(false);
                return true;
            }
            case RUNNING -> {
                cancelRequested.set(true);
                return true;
            }
            default -> {
                return false;
            }
        }
    }

    ObjectNode status() {
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        o.put("id", id);
        o.put("state", state().name().toLowerCase(java.util.Locale.ROOT));
        o.put("step", step);
        o.put("maxSteps", maxSteps);
        o.put("layersConverged", layersConverged);
        o.put("layers", layers);
        o.put("tokens", tokens);
        Map<String, Integer> r = ranks;
        if (r != null) {
            ObjectNode rn = o.putObject("ranks");
            r.forEach(rn::put);
        }
        String e = error;
        if (e != null) o.put("error", e);
        return o;
    }
}
