package dev.eva4j.examples.service;

import dev.eva4j.models.TransformerModel;
import dev.eva4j.spi.ComputeBackend;
import dev.eva4j.spi.InvalidInputException;
import dev.eva4j.spi.LoadedModel;
import dev.eva4j.spi.ModelCapability;
import dev.eva4j.spi.ModelLoader;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Models loaded once per (path, compute backend) and shared by every job that names them, at most {@code maxModels}
 * of them kept loaded. A job holds a {@link Lease} on its model while it runs (reference counting): a model with a
 * lease is never closed. When a new model would make more than {@code maxModels}, the least recently used model that
 * no job holds is closed and dropped; if every cached model is held, the cache grows past the bound for a while, and
 * the idle models are closed as soon as their last lease is released while the count is above the bound.
 *
 * <p>The models' forward passes are synchronized per model, so concurrent jobs on one model take turns on its forward
 * passes (their SVD steps still overlap); jobs on different models run fully in parallel. A load that fails is
 * forgotten, so a later job may try again. Loads run outside the lock (other jobs and status checks do not wait for
 * them; jobs that want the same model wait for the one load); models are closed outside the lock too. Thread-safe.
 */
final class Models implements AutoCloseable {
    private final int maxModels;
    /** Access order: the first entry is the least recently acquired. Guarded by {@code this}. */
    private final LinkedHashMap<String, Entry> entries = new LinkedHashMap<>(16, 0.75f, true);
    private final AtomicLong loads = new AtomicLong();
    private boolean closed; // guarded by this

    /** One cached model: its load (done once) and the number of leases on it (guarded by the Models' monitor). */
    private static final class Entry {
        final String key;
        final CompletableFuture<TransformerModel> model = new CompletableFuture<>();
        int users;

        Entry(String key) {
            this.key = key;
        }

        boolean loaded() {
            return model.isDone() && !model.isCompletedExceptionally();
        }
    }

    /** A job's use of a cached model; closing it releases the model (once), which may then be closed if over the bound. */
    final class Lease implements AutoCloseable {
        private final Entry entry;
        private final TransformerModel model;
        private boolean released; // only the job's own thread uses its lease

        private Lease(Entry entry, TransformerModel model) {
            this.entry = entry;
            this.model = model;
        }

        TransformerModel model() {
            return model;
        }

        @Override
        public void close() {
            if (released) return;
            released = true;
            release(entry);
        }
    }

    /** @param maxModels how many models to keep loaded when no job holds them (>= 1) */
    Models(int maxModels) {
        if (maxModels < 1) throw new IllegalArgumentException("--max-models must be >= 1, got " + maxModels);
        this.maxModels = maxModels;
    }

    /** The first available loader (best first) that supports {@code path}; the 422 check of a request. */
    static ModelLoader loaderFor(List<ModelLoader> loaders, Path path) {
        return loaders.stream().filter(ModelLoader::isAvailable).filter(l -> l.supports(path)).findFirst()
                .orElseThrow(() -> new InvalidInputException(path + ": no model loader understands this (a Hugging Face "
                        + "folder needs config.json and *.safetensors; an ONNX export a .onnx file)"));
    }

    private static String key(Path path, ComputeBackend compute) {
        return compute.name() + "\u0000" + path;
    }

    /**
     * The model at {@code path} on {@code compute}, loaded now unless cached, with a lease the caller must close when
     * it no longer uses the model. Blocks while the model loads (here or, for the same model, on another thread).
     * Room is made (idle models closed) before the load, so the memory of the closed models is free for the new one;
     * a path no loader understands is refused before that.
     */
    Lease acquire(Path path, ComputeBackend compute, List<ModelLoader> loaders) throws IOException {
        String key = key(path, compute);
        ModelLoader loader = loaderFor(loaders, path); // before anything is evicted for it
        Entry entry;
        boolean mine = false;
        List<TransformerModel> evicted;
        synchronized (this) {
            if (closed) throw new IllegalStateException("the service is shutting down");
            entry = entries.get(key); // also marks it most recently used
            if (entry == null) {
                entry = new Entry(key);
                entries.put(key, entry);
                mine = true;
            }
            entry.users++;
            evicted = mine ? evictIdle() : List.of(); // make room before the new model takes its memory
        }
        closeAll(evicted);
        if (mine) { // this thread loads it; others wait for the same future
            try {
                TransformerModel m = load(path, compute, loader);
                loads.incrementAndGet();
                synchronized (this) {
                    if (closed) { // the service shut down while this model loaded: nobody will close it later
                        m.close();
                        throw new IllegalStateException("the service is shutting down");
                    }
                }
                entry.model.complete(m);
            } catch (IOException | RuntimeException | Error e) {
                synchronized (this) {
                    entries.remove(key, entry); // forgotten: a later job may try again
                }
                entry.model.completeExceptionally(e);
            }
        }
        try {
            return new Lease(entry, entry.model.join());
        } catch (CompletionException e) {
            release(entry);
            if (e.getCause() instanceof IOException io) throw new IOException(io.getMessage(), io);
            if (e.getCause() instanceof RuntimeException r) throw r;
            if (e.getCause() instanceof Error err) throw err;
            throw e;
        }
    }

    /**
     * A lease on the model at {@code path} on {@code compute} if it is loaded already; empty (without loading
     * anything) when it is not cached or still loading. For checks that must not wait for a load.
     */
    Optional<Lease> acquireIfLoaded(Path path, ComputeBackend compute) {
        synchronized (this) {
            if (closed) return Optional.empty();
            Entry entry = entries.get(key(path, compute));
            if (entry == null || !entry.loaded()) return Optional.empty();
            entry.users++;
            return Optional.of(new Lease(entry, entry.model.getNow(null)));
        }
    }

    private void release(Entry entry) {
        List<TransformerModel> evicted;
        synchronized (this) {
            entry.users--;
            evicted = closed ? List.of() : evictIdle();
        }
        closeAll(evicted);
    }

    /**
     * Drops least-recently-used models that no job holds while more than {@code maxModels} are cached; the caller
     * closes the returned models outside the lock.
     */
    private List<TransformerModel> evictIdle() {
        assert Thread.holdsLock(this);
        List<TransformerModel> out = new ArrayList<>();
        for (Iterator<Entry> it = entries.values().iterator(); it.hasNext() && entries.size() > maxModels; ) {
            Entry e = it.next();
            if (e.users == 0 && e.loaded()) { // an entry without users is always loaded; failed loads are removed
                it.remove();
                out.add(e.model.getNow(null));
            }
        }
        return out;
    }

    private static void closeAll(List<TransformerModel> models) {
        for (TransformerModel m : models) m.close();
    }

    /** Models loaded so far (each load of a model evicted and then needed again counts again). */
    long loads() {
        return loads.get();
    }

    /** Models cached now (loaded or loading). */
    synchronized int size() {
        return entries.size();
    }

    /** Whether the model at {@code path} on {@code compute} is cached (loaded or loading). */
    synchronized boolean cached(Path path, ComputeBackend compute) {
        return entries.containsKey(key(path, compute));
    }

    private static TransformerModel load(Path path, ComputeBackend compute, ModelLoader loader) throws IOException {
        LoadedModel model = loader.load(path, compute);
        TransformerModel tm = model.has(ModelCapability.ACTIVATION_HOOKS)
                ? model.as(TransformerModel.class).orElse(null) : null;
        if (tm == null) {
            model.close();
            throw new InvalidInputException(path + ": model type '" + model.modelType() + "' (loader " + loader.name()
                    + ") offers no forward pass with activation hooks, which EVA needs");
        }
        return tm;
    }

    /** Closes every loaded model; call once no job runs any more. Later acquires fail. */
    @Override
    public void close() {
        List<TransformerModel> all = new ArrayList<>();
        synchronized (this) {
            closed = true;
            for (Entry e : entries.values()) {
                TransformerModel m = e.model.isCompletedExceptionally() ? null : e.model.getNow(null);
                if (m != null) all.add(m);
            }
            entries.clear();
        }
        closeAll(all);
    }
}
