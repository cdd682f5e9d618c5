package dev.eva4j.examples.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.eva4j.models.TransformerModel;
import dev.eva4j.models.tiny.TinyModels;
import dev.eva4j.models.tiny.TinySpec;
import dev.eva4j.spi.Availability;
import dev.eva4j.spi.ComputeBackend;
import dev.eva4j.spi.InvalidInputException;
import dev.eva4j.spi.LoadedModel;
import dev.eva4j.spi.ModelLoader;
import java.io.IOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The model cache's bound and reference counting, over three tiny models (two Llamas, one BERT) loaded by the real
 * loaders. Each loaded model is wrapped so the test sees its {@code close()} calls and any use after a close.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(120)
class ModelsTest {
    private Path a, b, c, notAModel;
    private ComputeBackend compute;
    private List<ModelLoader> loaders;

    /** A model the cache loaded: how often it was closed, and whether it was used after its close. */
    record Tracked(Path path, TransformerModel model, AtomicInteger closes, AtomicInteger usedAfterClose) {}

    private final List<Tracked> tracked = Collections.synchronizedList(new ArrayList<>());

    @BeforeAll
    void models(@TempDir Path tmp) throws IOException {
        a = tmp.resolve("llama-a");
        TinyModels.write(a, TinySpec.llama());
        b = tmp.resolve("bert-b");
        TinyModels.write(b, TinySpec.bert());
        c = tmp.resolve("llama-c");
        TinyModels.write(c, TinySpec.llama());
        notAModel = Files.writeString(tmp.resolve("notes.txt"), "not a model");
        EvaService.Wiring wiring = EvaService.Wiring.of(null);
        compute = wiring.compute();
        loaders = wiring.loaders().stream().map(l -> (ModelLoader) new TrackingLoader(l)).toList();
    }

    /** Delegates to a real loader; wraps what it loads so closes and uses after a close are counted. */
    private final class TrackingLoader implements ModelLoader {
        private final ModelLoader real;

        TrackingLoader(ModelLoader real) {
            this.real = real;
        }

        @Override public String name() { return real.name(); }
        @Override public int priority() { return real.priority(); }
        @Override public Availability availability() { return real.availability(); }
        @Override public boolean supports(Path path) { return real.supports(path); }

        @Override
        public LoadedModel load(Path path, ComputeBackend backend) throws IOException {
            TransformerModel m = real.load(path, backend).as(TransformerModel.class).orElseThrow();
            AtomicInteger closes = new AtomicInteger(), usedAfterClose = new AtomicInteger();
            TransformerModel[] self = new TransformerModel[1];
            self[0] = (TransformerModel) Proxy.newProxyInstance(TransformerModel.class.getClassLoader(),
                    new Class<?>[] {TransformerModel.class}, (proxy, method, args) -> {
                        switch (method.getName()) {
                            case "close" -> {
                                if (closes.incrementAndGet() > 1) return null; // counted; the real close runs once
                            }
                            case "as" -> { // the wrapper, not the wrapped model, is the TransformerModel
                                Class<?> api = (Class<?>) args[0];
                                return api.isInstance(proxy) ? Optional.of(proxy) : Optional.empty();
                            }
                            case "hashCode", "equals", "toString" -> { }
                            default -> {
                                if (closes.get() > 0) usedAfterClose.incrementAndGet();
                            }
                        }
                        try {
                            return method.invoke(m, args);
                        } catch (InvocationTargetException e) {
                            throw e.getCause();
                        }
                    });
            tracked.add(new Tracked(path, self[0], closes, usedAfterClose));
            return self[0];
        }
    }

    private List<Tracked> loadsOf(Path path) {
        synchronized (tracked) {
            return tracked.stream().filter(t -> t.path().equals(path)).toList();
        }
    }

    private void use(Path path, Models models) throws IOException {
        try (Models.Lease lease = models.acquire(path, compute, loaders)) {
            assertFalse(lease.model().linears().isEmpty());
        }
    }

    @Test
    void leastRecentlyUsedIdleModelIsClosedAndLoadedAgainWhenNeeded() throws IOException {
        tracked.clear();
        try (Models models = new Models(2)) {
            use(a, models);
            use(b, models);
            use(a, models); // a is now the most recently used
            assertEquals(2, models.loads());
            assertEquals(2, models.size());
            use(c, models); // a third model: b (idle, least recently used) goes
            assertEquals(3, models.loads());
            assertEquals(2, models.size());
            assertFalse(models.cached(b, compute));
            assertTrue(models.cached(a, compute) && models.cached(c, compute));
            assertEquals(1, loadsOf(b).getFirst().closes().get(), "the evicted model was not closed");
            assertEquals(0, loadsOf(a).getFirst().closes().get());
            assertEquals(0, loadsOf(c).getFirst().closes().get());

            use(b, models); // needed again: loaded again, and a (now the least recently used) goes
            assertEquals(4, models.loads());
            assertEquals(2, loadsOf(b).size());
            assertEquals(2, models.size());
            assertFalse(models.cached(a, compute));
            assertEquals(1, loadsOf(a).getFirst().closes().get());
            assertEquals(0, loadsOf(c).getFirst().closes().get());

            use(c, models); // cached: no load
            assertEquals(4, models.loads());

            // a path no loader understands is refused before anything is evicted for it, and takes no place
            assertThrows(InvalidInputException.class, () -> models.acquire(notAModel, compute, loaders));
            assertEquals(2, models.size());
            assertTrue(models.cached(b, compute) && models.cached(c, compute));
        }
        for (Tracked t : tracked) {
            assertEquals(1, t.closes().get(), t.path() + " closed " + t.closes() + " times");
            assertEquals(0, t.usedAfterClose().get(), t.path() + " used after its close");
        }
    }

    @Test
    void modelInUseIsNeverClosedAndIdleOnesGoWhenTheirJobsEnd() throws IOException {
        tracked.clear();
        try (Models models = new Models(1)) {
            Models.Lease held = models.acquire(a, compute, loaders); // a job running on a
            TransformerModel modelA = held.model();
            use(b, models); // over the bound while a is held: b goes once its job ends, a stays
            assertEquals(1, models.size());
            assertTrue(models.cached(a, compute));
            assertEquals(1, loadsOf(b).getFirst().closes().get());

            Models.Lease heldB = models.acquire(b, compute, loaders); // both held: the cache exceeds the bound
            assertEquals(2, models.size());
            assertEquals(0, loadsOf(a).getFirst().closes().get());
            // a lease on a loaded model for a quick check: no load
            Models.Lease peek = models.acquireIfLoaded(a, compute).orElseThrow();
            assertSame(modelA, peek.model());
            peek.close();
            peek.close(); // releasing twice releases once
            assertEquals(2, models.size());
            assertTrue(models.acquireIfLoaded(c, compute).isEmpty()); // not cached: nothing loaded
            assertEquals(3, models.loads());

            held.close(); // a's job ended while above the bound: a goes at once
            assertEquals(1, models.size());
            assertFalse(models.cached(a, compute));
            assertEquals(1, loadsOf(a).getFirst().closes().get());
            assertEquals(0, loadsOf(b).getLast().closes().get());
            assertFalse(heldB.model().linears().isEmpty());
            heldB.close();
            assertEquals(1, models.size()); // within the bound: b stays loaded
            assertEquals(0, loadsOf(b).getLast().closes().get());
        }
        for (Tracked t : tracked) {
            assertEquals(1, t.closes().get(), t.path() + " closed " + t.closes() + " times");
            assertEquals(0, t.usedAfterClose().get(), t.path() + " used after its close");
        }
    }

    @Test
    void concurrentJobsNeverUseAClosedModel() throws Exception {
        tracked.clear();
        List<Path> paths = List.of(a, b, c);
        try (Models models = new Models(1)) {
            ExecutorService pool = Executors.newFixedThreadPool(4);
            List<Future<?>> futures = new ArrayList<>();
            for (int w = 0; w < 4; w++) {
                Random rnd = new Random(100 + w); // fixed seeds
                futures.add(pool.submit(() -> {
                    for (int i = 0; i < 25; i++) {
                        Path p = paths.get(rnd.nextInt(paths.size()));
                        try (Models.Lease lease = models.acquire(p, compute, loaders)) {
                            assertFalse(lease.model().linears().isEmpty());
                            Thread.sleep(rnd.nextInt(3));
                            assertFalse(lease.model().linears().isEmpty());
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : futures) f.get();
            pool.shutdown();
            assertEquals(1, models.size(), "the bound is not respected once no job runs");
            long open = tracked.stream().filter(t -> t.closes().get() == 0).count();
            assertEquals(1, open, "models still open besides the cached one");
            assertEquals(tracked.size(), models.loads());
        }
        for (Tracked t : tracked) {
            assertEquals(1, t.closes().get(), t.path() + " closed " + t.closes() + " times");
            assertEquals(0, t.usedAfterClose().get(), t.path() + " used after its close");
        }
    }
}
