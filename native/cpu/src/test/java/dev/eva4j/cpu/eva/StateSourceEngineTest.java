package dev.eva4j.cpu.eva;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.eva4j.api.eva.EvaConfig;
import dev.eva4j.api.eva.EvaEngine;
import dev.eva4j.api.eva.EvaRankAllocator;
import dev.eva4j.api.eva.EvaResult;
import dev.eva4j.api.eva.IncrementalPca;
import dev.eva4j.api.eva.LayerResult;
import dev.eva4j.api.eva.ProgressListener;
import dev.eva4j.api.eva.StateSource;
import dev.eva4j.api.eva.TargetLayer;
import dev.eva4j.spi.InvalidInputException;
import dev.eva4j.spi.SvdBackend;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The engine over rounds of mergeable states ({@link StateSource}), as a distributed run drives it. */
class StateSourceEngineTest {
    static final EvaEngineTest.CountingSvd SVD = new EvaEngineTest.CountingSvd();

    static MemorySegment segment(float[][] x, Arena arena) {
        int d = x[0].length;
        MemorySegment s = arena.allocate(ValueLayout.JAVA_FLOAT, (long) x.length * d);
        for (int i = 0; i < x.length; i++) MemorySegment.copy(x[i], 0, s, ValueLayout.JAVA_FLOAT, 4L * i * d, d);
        return s;
    }

    /** Each round: per layer, the state of one batch alone (what one partition of a round sends). */
    static class BatchStates implements StateSource {
        final List<TargetLayer> layers;
        final List<Map<String, float[][]>> batches;
        final int k;
        final boolean f64;
        final List<Set<String>> asked = new ArrayList<>();

        BatchStates(List<TargetLayer> layers, List<Map<String, float[][]>> batches, int k, boolean f64) {
            this.layers = layers;
            this.batches = batches;
            this.k = k;
            this.f64 = f64;
        }

        @Override public List<TargetLayer> layers() { return layers; }
        @Override public List<List<String>> groups() { return List.of(); }

        @Override
        public Round next(Set<String> modules, int round) {
            asked.add(Set.copyOf(modules));
            Map<String, float[][]> b = batches.get((round - 1) % batches.size());
            Map<String, IncrementalPca.State> states = new LinkedHashMap<>();
            Map<String, Integer> rows = new LinkedHashMap<>();
            long n = 0;
            try (Arena arena = Arena.ofConfined()) {
                for (Map.Entry<String, float[][]> e : b.entrySet()) {
                    if (!modules.contains(e.getKey())) continue;
                    float[][] x = e.getValue();
                    rows.put(e.getKey(), x.length);
                    n = Math.max(n, x.length);
                    if (x.length < k) continue;
                    states.put(e.getKey(), IncrementalPca.of(segment(x, arena), x.length, x[0].length, k, f64, SVD,
                            SvdBackend.Mode.EXACT, 42));
                }
            }
            return new Round(states, rows, n, round >= batches.size());
        }

        @Override public void close() {}
    }

    /**
     * With k = d nothing is truncated: a batch's state holds all of its information, so absorbing round states gives
     * what stepping over the rows gives (docs/eva.md, "Mergeable states"), in float64 up to rounding.
     */
    @Test
    void absorbingFullRankStatesEqualsSteppingOverTheRows() throws Exception {
        int d = 6;
        Planted pa = new Planted(d, EvaEngineTest.sigma(d, 5, 0.6), 3), pb = new Planted(d, EvaEngineTest.sigma(d, 4, 0.7), 4);
        List<TargetLayer> layers = List.of(new TargetLayer("a", d, 5), new TargetLayer("b", d, 5));
        List<Map<String, float[][]>> batches = new ArrayList<>();
        for (int i = 0; i < 12; i++) batches.add(Map.of("a", pa.rows(40), "b", pb.rows(40)));
        EvaConfig config = EvaConfig.builder().r(2).rho(3).tau(0.999).maxSteps(12).acceptUnconverged(true)
                .svd(SvdBackend.Mode.EXACT).precision(EvaConfig.Precision.FLOAT64).build();
        assertEquals(d, config.components());
        EvaResult rows = new EvaEngine(config, SVD, new EvaRankAllocator()).run(new MemorySource(layers, List.of(), batches));
        BatchStates states = new BatchStates(layers, batches, d, true);
        EvaResult merged = new EvaEngine(config, SVD, new EvaRankAllocator()).run(states, ProgressListener.NONE, () -> false);
        assertEquals(rows.steps(), merged.steps());
        for (int i = 0; i < layers.size(); i++) {
            LayerResult x = rows.layers().get(i), y = merged.layers().get(i);
            assertEquals(x.rank(), y.rank(), x.layer().module());
            assertEquals(x.tokens(), y.tokens());
            assertArrayEquals(x.spectrum(), y.spectrum(), 1e-9);
            assertArrayEquals(x.a(), y.a(), 1e-5f, x.layer().module());
        }
        assertEquals(Set.of("a", "b"), states.asked.getFirst());
    }

    @Test
    void aStateSurvivesJavaSerialisationAndAbsorbingIntoNothingAdoptsIt() throws Exception {
        int d = 5;
        Planted p = new Planted(d, EvaEngineTest.sigma(d, 3, 0.5), 9);
        IncrementalPca.State s;
        try (Arena arena = Arena.ofConfined()) {
            s = IncrementalPca.of(segment(p.rows(30), arena), 30, d, 3, false, SVD, SvdBackend.Mode.LOWRANK, 7);
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(s);
        }
        IncrementalPca.State back;
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
            back = (IncrementalPca.State) in.readObject();
        }
        assertArrayEquals(s.components(), back.components());
        assertArrayEquals(s.mean(), back.mean());
        assertEquals(s.n(), back.n());
        assertTrue(bytes.size() < 2 * s.payloadBytes() + 512, bytes.size() + " bytes for " + s.payloadBytes());
        IncrementalPca empty = new IncrementalPca(d, 3);
        assertNull(empty.absorb(back, SVD, SvdBackend.Mode.LOWRANK, 42));
        assertArrayEquals(s.components(), empty.componentsCopy64());
        assertEquals(30, empty.samplesSeen());
        assertThrows(IllegalArgumentException.class, () -> new IncrementalPca(d + 1, 2).absorb(back, SVD, SvdBackend.Mode.LOWRANK, 1));
        assertThrows(IllegalArgumentException.class, () -> new IncrementalPca(d, 4).absorb(back, SVD, SvdBackend.Mode.LOWRANK, 1));
        IncrementalPca fewer = new IncrementalPca(d, 2); // adopts the leading two of three
        fewer.absorb(back, SVD, SvdBackend.Mode.LOWRANK, 1);
        assertArrayEquals(java.util.Arrays.copyOf(s.components(), 2 * d), fewer.componentsCopy64());
    }

    @Test
    void statesOfTheWrongShapeOrForUnknownLayersAreRefused() {
        int d = 6;
        Planted p = new Planted(d, EvaEngineTest.sigma(d, 5, 0.6), 3);
        List<TargetLayer> layers = List.of(new TargetLayer("a", d, 5));
        EvaConfig config = EvaConfig.builder().r(2).rho(2).maxSteps(3).acceptUnconverged(true).build();
        EvaEngine engine = new EvaEngine(config, SVD, new EvaRankAllocator());
        StateSource wrongK = new BatchStates(layers, List.of(Map.of("a", p.rows(20))), 3, false);
        assertTrue(assertThrows(IllegalArgumentException.class, () -> engine.run(wrongK, ProgressListener.NONE, () -> false))
                .getMessage().contains("expected d = 6, k >= 4"));
        StateSource unknown = new BatchStates(layers, List.of(Map.of("zz", p.rows(20))), 4, false) {
            @Override
            public Round next(Set<String> modules, int round) {
                return super.next(Set.of("zz"), round);
            }
        };
        assertTrue(assertThrows(IllegalArgumentException.class, () -> engine.run(unknown, ProgressListener.NONE, () -> false))
                .getMessage().contains("'zz', which is not a target layer"));
    }

    @Test
    void aGroupThatNeverGetsAStateInAFullPassStopsWithTheCause() {
        int d = 6;
        Planted p = new Planted(d, EvaEngineTest.sigma(d, 5, 0.6), 3);
        List<TargetLayer> layers = List.of(new TargetLayer("a", d, 5), new TargetLayer("b", d, 5));
        // layer b gets 2 rows a round: fewer than the k = 4 a state needs
        List<Map<String, float[][]>> batches = List.of(Map.of("a", p.rows(20), "b", p.rows(2)), Map.of("a", p.rows(20), "b", p.rows(2)));
        EvaConfig config = EvaConfig.builder().r(2).rho(2).maxSteps(50).acceptUnconverged(true).build();
        BatchStates src = new BatchStates(layers, batches, 4, false);
        InvalidInputException e = assertThrows(InvalidInputException.class,
                () -> new EvaEngine(config, SVD, new EvaRankAllocator()).run(src, ProgressListener.NONE, () -> false));
        assertTrue(e.getMessage().contains("layer 'b' never received the k = 4 rows"), e.getMessage());
        assertEquals(2, src.asked.size(), "stops after the round that completed the pass");
    }
}
