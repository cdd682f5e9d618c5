package dev.eva4j.models.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.eva4j.api.eva.ActivationSource;
import dev.eva4j.api.eva.EvaConfig;
import dev.eva4j.api.eva.EvaEngine;
import dev.eva4j.api.eva.EvaRankAllocator;
import dev.eva4j.api.eva.EvaResult;
import dev.eva4j.api.eva.LayerResult;
import dev.eva4j.api.eva.Rows;
import dev.eva4j.api.eva.TargetLayer;
import dev.eva4j.cpu.openblas.OpenBlasBackend;
import dev.eva4j.cpu.svd.CpuSvdBackend;
import dev.eva4j.models.Batch;
import dev.eva4j.models.LinearModule;
import dev.eva4j.models.TransformerModel;
import dev.eva4j.models.hf.HfModelLoader;
import dev.eva4j.models.tiny.TinyModels;
import dev.eva4j.models.tiny.TinySpec;
import dev.eva4j.spi.ActivationHook;
import dev.eva4j.spi.ComputeBackend;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * EVA runs the model only as deep as the layers that still need input ({@link ActivationSource#request},
 * {@link TransformerModel#collect}); the adapter must not change because of it.
 */
class ModelActivationSourceTest {
    static final ComputeBackend BACKEND = new OpenBlasBackend();

    @TempDir
    static Path tmp;

    static TransformerModel load(String arch) throws IOException {
        TinySpec spec = arch.equals("bert") ? TinySpec.bert() : TinySpec.llama();
        Path folder = tmp.resolve(arch);
        if (!Files.isDirectory(folder)) TinyModels.write(folder, spec);
        return new HfModelLoader().load(folder, BACKEND);
    }

    static Path data(int records, long seed) throws IOException {
        StringBuilder sb = new StringBuilder();
        Random rnd = new Random(seed);
        for (int i = 0; i < records; i++) {
            sb.append("{\"input_ids\": [");
            int n = 5 + rnd.nextInt(10);
            for (int t = 0; t < n; t++) sb.append(t == 0 ? "" : ", ").append(4 + rnd.nextInt(92));
            sb.append("]}\n");
        }
        return Files.writeString(tmp.resolve("data-" + records + "-" + seed + ".jsonl"), sb.toString());
    }

    /** Copies every hooked input (module -> its rows, in call order). */
    static final class Recorder implements ActivationHook {
        final Map<String, float[]> seen = new LinkedHashMap<>();

        @Override
        public void onInput(String module, dev.eva4j.spi.Buffer x, int n, int dIn, MemorySegment tokenMask) {
            try (Arena a = Arena.ofConfined()) {
                MemorySegment host = a.allocate(4L * n * dIn, 64);
                x.owner().downloadFloats(x, 0, host);
                seen.put(module, host.toArray(ValueLayout.JAVA_FLOAT));
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"bert", "llama"})
    void collectReportsWhatAFullPassReportsAndStopsAtTheLastHookedLayer(String arch) throws Exception {
        try (TransformerModel model = load(arch)) {
            List<LinearModule> linears = model.linears();
            Random rnd = new Random(21);
            int B = 2, T = 6;
            int[] ids = new int[B * T], mask = new int[B * T];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = 4 + rnd.nextInt(90);
                mask[i] = i % T < 5 || i < T ? 1 : 0;
            }
            Batch batch = Batch.of(B, T, ids, mask);
            // the first layer's first and last linear: a full pass reports them and everything else runs too
            Set<String> hooked = Set.of(linears.getFirst().path(), linears.get(linears.size() / 2 - 1).path());
            Recorder full = new Recorder(), early = new Recorder();
            try (Arena a = Arena.ofConfined()) {
                model.forward(batch, a, hooked, full);
            }
            model.collect(batch, hooked, early);
            assertEquals(List.copyOf(full.seen.keySet()), List.copyOf(early.seen.keySet()), "same modules, same order");
            for (String m : hooked) assertArrayEquals(full.seen.get(m), early.seen.get(m), m);

            // after a truncated pass a full pass still gives the same last hidden state as before (workspace reused)
            float[] before, after;
            try (Arena a = Arena.ofConfined()) {
                before = model.forward(batch, null, a).toArray(ValueLayout.JAVA_FLOAT);
            }
            model.collect(batch, Set.of(linears.getFirst().path()), early);
            try (Arena a = Arena.ofConfined()) {
                after = model.forward(batch, null, a).toArray(ValueLayout.JAVA_FLOAT);
            }
            assertArrayEquals(before, after);

            Recorder none = new Recorder();
            model.collect(batch, Set.of("not.a.layer"), none);
            assertTrue(none.seen.isEmpty(), "unknown paths: nothing reported");
        }
    }

    /**
     * Records the engine's requests and forwards them or not: without them the model runs whole and collects every
     * group each step.
     */
    static final class Requests implements ActivationSource {
        final ActivationSource inner;
        final boolean forward;
        final List<Set<String>> seen = new ArrayList<>();

        Requests(ActivationSource inner, boolean forward) {
            this.inner = inner;
            this.forward = forward;
        }

        @Override
        public void request(Set<String> modules) {
            seen.add(new HashSet<>(modules));
            if (forward) inner.request(modules);
        }

        @Override
        public List<TargetLayer> layers() {
            return inner.layers();
        }

        @Override
        public List<List<String>> groups() {
            return inner.groups();
        }

        @Override
        public Map<String, Rows> next() throws IOException {
            return inner.next();
        }

        @Override
        public void rewind() throws IOException {
            inner.rewind();
        }

        @Override
        public void close() throws IOException {
            inner.close();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"bert", "llama"})
    void theAdapterIsIdenticalWhetherOrNotTheModelStopsEarly(String arch) throws Exception {
        Path data = data(400, 17);
        EvaConfig config = EvaConfig.builder().r(4).alpha(8).rho(2).tau(0.99).maxSteps(60).acceptUnconverged(true)
                .seed(3).build();
        try (TransformerModel model = load(arch)) {
            List<LinearModule> targets = model.linears();
            List<Set<String>> requests;
            EvaResult truncated;
            try (Requests source = new Requests(new ModelActivationSource(model, targets,
                    new BatchReader(data, null, 4, 16, true, -100)), true)) {
                truncated = new EvaEngine(config, new CpuSvdBackend(BACKEND), new EvaRankAllocator()).run(source);
                requests = source.seen;
            }
            EvaResult whole;
            try (ActivationSource source = new Requests(new ModelActivationSource(model, targets,
                    new BatchReader(data, null, 4, 16, true, -100)), false)) {
                whole = new EvaEngine(config, new CpuSvdBackend(BACKEND), new EvaRankAllocator()).run(source);
            }
            // not vacuous: some steps asked for fewer layers than all
            assertTrue(requests.stream().anyMatch(r -> r.size() < targets.size()), "layers converged at different steps");
            assertEquals(whole.steps(), truncated.steps());
            assertEquals(whole.converged(), truncated.converged());
            for (int i = 0; i < whole.layers().size(); i++) {
                LayerResult w = whole.layers().get(i), t = truncated.layers().get(i);
                assertEquals(w.rank(), t.rank(), w.layer().module());
                assertEquals(w.steps(), t.steps(), w.layer().module());
                assertEquals(w.tokens(), t.tokens(), w.layer().module());
                assertArrayEquals(w.a(), t.a(), w.layer().module() + ": bit-identical components");
                assertArrayEquals(w.spectrum(), t.spectrum(), w.layer().module());
            }
        }
    }

    /**
     * The source keeps its row buffers between batches and fills them afresh: each batch's rows must be exactly the
     * real-token rows a plain pass reports (padding dropped, runs of real tokens copied whole), also when the
     * requested groups change between batches, so that a buffer last used for one width now holds another's rows,
     * and when a later batch has fewer real tokens than an earlier one.
     */
    @ParameterizedTest
    @ValueSource(strings = {"bert", "llama"})
    void reusedRowBuffersHoldExactlyEachBatchsRealTokenRows(String arch) throws Exception {
        Path data = data(24, 5);
        try (TransformerModel model = load(arch);
                ModelActivationSource source = new ModelActivationSource(model, model.linears(),
                        new BatchReader(data, null, 4, 16, false, -100));
                BatchReader again = new BatchReader(data, null, 4, 16, false, -100)) {
            List<String> hooked = new ArrayList<>();
            for (List<String> g : model.equalInputGroups()) hooked.add(g.getFirst());
            for (LinearModule l : model.linears()) {
                if (model.equalInputGroups().stream().noneMatch(g -> g.contains(l.path()))) hooked.add(l.path());
            }
            List<Set<String>> requests = List.of(Set.copyOf(hooked), Set.of(hooked.getLast()), Set.copyOf(hooked),
                    Set.of(hooked.getFirst(), hooked.getLast()), Set.copyOf(hooked), Set.copyOf(hooked));
            for (Set<String> request : requests) {
                source.request(request);
                Map<String, Rows> got = source.next();
                Batch batch = again.next();
                Recorder plain = new Recorder();
                model.collect(batch, request, plain);
                assertEquals(request, got.keySet());
                for (String module : request) {
                    float[] all = plain.seen.get(module);
                    Rows rows = got.get(module);
                    int dIn = rows.dim(), real = 0;
                    float[] expected = new float[all.length];
                    for (int i = 0; i < batch.tokenMask().length; i++) {
                        if (batch.tokenMask()[i] == 0) continue;
                        System.arraycopy(all, i * dIn, expected, real * dIn, dIn);
                        real++;
                    }
                    assertEquals(real, rows.count(), module);
                    float[] actual = rows.data().asSlice(0, 4L * real * dIn).toArray(ValueLayout.JAVA_FLOAT);
                    assertArrayEquals(java.util.Arrays.copyOf(expected, real * dIn), actual, module);
                }
            }
        }
    }
}
