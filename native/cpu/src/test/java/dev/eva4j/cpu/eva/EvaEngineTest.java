package dev.eva4j.cpu.eva;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.eva4j.api.eva.EvaConfig;
import dev.eva4j.api.eva.EvaEngine;
import dev.eva4j.api.eva.EvaNotConvergedException;
import dev.eva4j.api.eva.EvaRankAllocator;
import dev.eva4j.api.eva.EvaResult;
import dev.eva4j.api.eva.IncrementalPca;
import dev.eva4j.api.eva.LayerResult;
import dev.eva4j.api.eva.TargetLayer;
import dev.eva4j.api.svd.ComputeSvd;
import dev.eva4j.cpu.openblas.OpenBlasBackend;
import dev.eva4j.spi.Availability;
import dev.eva4j.spi.SvdBackend;
import dev.eva4j.spi.TopKProblem;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class EvaEngineTest {
    static final OpenBlasBackend BLAS = new OpenBlasBackend();

    /** ComputeSvd over OpenBLAS as an SvdBackend, counting calls and problems. */
    static final class CountingSvd implements SvdBackend {
        final ComputeSvd svd = new ComputeSvd(BLAS);
        final List<Integer> batchSizes = new ArrayList<>();
        public String name() { return "test"; }
        public int priority() { return 0; }
        public Availability availability() { return BLAS.availability(); }
        public void topK(List<TopKProblem> batch, Mode mode) {
            batchSizes.add(batch.size());
            svd.topK(batch, mode);
        }
    }

    static double[] sigma(int d, double first, double ratio) {
        double[] s = new double[d];
        for (int j = 0; j < d; j++) s[j] = first * Math.pow(ratio, j);
        return s;
    }

    @Test
    void exactModeFindsTheSampleCovarianceEigenvectors() throws Exception {
        int d = 40, n = 256, batches = 60;
        Planted planted = new Planted(d, sigma(d, 10, 0.8), 11);
        List<float[][]> data = new ArrayList<>();
        List<Map<String, float[][]>> source = new ArrayList<>();
        for (int b = 0; b < batches; b++) {
            float[][] x = planted.rows(n);
            data.add(x);
            source.add(Map.of("layer", x));
        }
        EvaConfig config = EvaConfig.builder().r(4).rho(2).tau(0.99999).maxSteps(batches).acceptUnconverged(true)
                .svd(SvdBackend.Mode.EXACT).build();
        MemorySource src = new MemorySource(List.of(new TargetLayer("layer", d, 7)), List.of(), source);
        EvaResult result = new EvaEngine(config, new CountingSvd(), new EvaRankAllocator()).run(src);
        LayerResult layer = result.layers().getFirst();
        int steps = layer.steps();
        assertTrue(steps >= 2, "steps " + steps);
        assertEquals((long) steps * n, layer.tokens());

        double[] cov = Planted.covariance(data.subList(0, steps), d);
        double trace = 0;
        for (int i = 0; i < d; i++) trace += cov[i * d + i];
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment a = arena.allocateFrom(ValueLayout.JAVA_DOUBLE, cov), w = arena.allocate(ValueLayout.JAVA_DOUBLE, d);
            BLAS.dsyevd(d, a, w);
            int rank = layer.rank();
            assertEquals(4, rank);
            for (int i = 0; i < 8; i++) { // eigenvalues descending = columns d-1, d-2, ...
                int col = d - 1 - i;
                double lambda = w.getAtIndex(ValueLayout.JAVA_DOUBLE, col);
                assertEquals(lambda / trace, layer.spectrum()[i], 1e-4, "explained variance ratio " + i);
                if (i < rank) {
                    double dot = 0;
                    for (int j = 0; j < d; j++) dot += layer.a()[i * d + j] * a.getAtIndex(ValueLayout.JAVA_DOUBLE, (long) j * d + col);
                    assertTrue(Math.abs(dot) >= 0.999, "component " + i + " |cos| = " + Math.abs(dot));
                }
            }
        }
    }

    /** The run reports where its time went and the peak resident memory; the parts add up to at most the total. */
    @Test
    void timingsSplitTheRun() throws Exception {
        int d = 16;
        Planted planted = new Planted(d, sigma(d, 4, 0.7), 5);
        List<Map<String, float[][]>> source = new ArrayList<>();
        for (int b = 0; b < 8; b++) source.add(Map.of("layer", planted.rows(64)));
        EvaConfig config = EvaConfig.builder().r(2).rho(2).tau(0.9).maxSteps(8).acceptUnconverged(true).build();
        EvaResult result = new EvaEngine(config, new CountingSvd(), new EvaRankAllocator())
                .run(new MemorySource(List.of(new TargetLayer("layer", d, 3)), List.of(), source));
        EvaResult.Timings t = result.timings();
        assertTrue(t.activationSeconds() >= 0 && t.svdSeconds() > 0, t.toString());
        assertTrue(t.activationSeconds() + t.svdSeconds() <= t.totalSeconds() + 1e-9, t.toString());
        assertEquals(t.totalSeconds() - t.activationSeconds() - t.svdSeconds(), t.otherSeconds(), 1e-9);
        if (System.getProperty("os.name").startsWith("Linux")) {
            assertTrue(t.peakResidentBytes() > 10L << 20, "a JVM's peak resident memory: " + t.peakResidentBytes());
        }
    }

    @Test
    void equalInputGroupsRunOneSvdAndShareRows() throws Exception {
        int d = 24;
        Planted p = new Planted(d, sigma(d, 5, 0.85), 3), other = new Planted(d, sigma(d, 1, 0.5), 4);
        List<Map<String, float[][]>> batches = new ArrayList<>();
        for (int b = 0; b < 40; b++) {
            Map<String, float[][]> m = new LinkedHashMap<>();
            m.put("attn.q", p.rows(128));
            m.put("mlp.down", other.rows(128));
            batches.add(m);
        }
        List<TargetLayer> layers = List.of(new TargetLayer("attn.q", d, 24), new TargetLayer("attn.k", d, 8),
                new TargetLayer("attn.v", d, 8), new TargetLayer("mlp.down", d, 24));
        CountingSvd svd = new CountingSvd();
        EvaConfig config = EvaConfig.builder().r(3).rho(2).tau(0.95).maxSteps(40).build();
        EvaResult r = new EvaEngine(config, svd, new EvaRankAllocator())
                .run(new MemorySource(layers, List.of(List.of("attn.q", "attn.k", "attn.v")), batches));
        assertTrue(svd.batchSizes.stream().allMatch(s -> s <= 2), "at most one SVD per group per step: " + svd.batchSizes);
        assertEquals(2, svd.batchSizes.getFirst());
        assertEquals(12, r.totalRank());
        LayerResult q = r.layers().get(0), k = r.layers().get(1), v = r.layers().get(2);
        assertEquals("attn.q", k.group());
        assertTrue(Math.abs(q.rank() - k.rank()) <= 1 && Math.abs(k.rank() - v.rank()) <= 1 && q.rank() >= v.rank());
        int common = Math.min(q.rank(), v.rank()) * d;
        for (int i = 0; i < common; i++) {
            assertEquals(q.a()[i], k.a()[i]);
            assertEquals(q.a()[i], v.a()[i]);
        }
    }

    @Test
    void rhoOneGivesTheSameRankEverywhereAndAlphaFollowsRank() throws Exception {
        int d = 16;
        List<Map<String, float[][]>> batches = new ArrayList<>();
        Planted a = new Planted(d, sigma(d, 9, 0.6), 5), b = new Planted(d, sigma(d, 1, 0.95), 6);
        for (int i = 0; i < 30; i++) batches.add(Map.of("a", a.rows(64), "b", b.rows(64)));
        List<TargetLayer> layers = List.of(new TargetLayer("a", d, 4), new TargetLayer("b", d, 4));
        EvaResult one = new EvaEngine(EvaConfig.builder().r(4).rho(1).alpha(8).tau(0.9).maxSteps(30).build(),
                new CountingSvd(), new EvaRankAllocator()).run(new MemorySource(layers, List.of(), batches));
        for (LayerResult l : one.layers()) {
            assertEquals(4, l.rank());
            assertEquals(8.0, l.alpha());
        }
        EvaResult two = new EvaEngine(EvaConfig.builder().r(4).rho(2).alpha(8).tau(0.9).maxSteps(30).build(),
                new CountingSvd(), new EvaRankAllocator()).run(new MemorySource(layers, List.of(), batches));
        assertEquals(8, two.totalRank());
        assertTrue(two.layers().get(0).rank() != two.layers().get(1).rank(), "redistributed");
        // the ranks are the global top-8 of the final explained-variance ratios
        List<Double> all = new ArrayList<>();
        for (LayerResult l : two.layers()) for (double v : l.spectrum()) all.add(v);
        all.sort(java.util.Comparator.reverseOrder());
        double cut = all.get(7);
        for (LayerResult l : two.layers()) {
            long above = java.util.Arrays.stream(l.spectrum()).filter(v -> v >= cut).count();
            assertEquals(above, l.rank(), l.layer().module());
        }
        for (LayerResult l : two.layers()) assertEquals(8.0 * l.rank() / 4, l.alpha(), 1e-12);
    }

    @Test
    void whiteningDividesEachMembersCopyOnce() throws Exception {
        int d = 12;
        Planted p = new Planted(d, sigma(d, 4, 0.7), 8);
        List<Map<String, float[][]>> batches = new ArrayList<>();
        for (int i = 0; i < 20; i++) batches.add(Map.of("x", p.rows(100)));
        List<TargetLayer> layers = List.of(new TargetLayer("x", d, 3), new TargetLayer("y", d, 3));
        EvaConfig base = EvaConfig.builder().r(2).rho(1).tau(0.9).maxSteps(20).build();
        EvaResult plain = new EvaEngine(base, new CountingSvd(), new EvaRankAllocator())
                .run(new MemorySource(layers, List.of(List.of("x", "y")), batches));
        EvaResult white = new EvaEngine(base.toBuilder().whiten(true).build(), new CountingSvd(), new EvaRankAllocator())
                .run(new MemorySource(layers, List.of(List.of("x", "y")), batches));
        for (int l = 0; l < 2; l++) {
            float[] a = plain.layers().get(l).a(), w = white.layers().get(l).a();
            assertArrayEquals(white.layers().get(0).a(), w); // both members divided exactly once
            for (int i = 0; i < 2; i++) {
                double ratio = a[i * d] / w[i * d];
                double other = a[i * d + 1] / w[i * d + 1];
                assertEquals(ratio, other, 1e-4 * Math.abs(ratio), "row " + i + " scaled uniformly");
                assertTrue(ratio > 1, "divided by sqrt(S) > 1");
            }
        }
    }

    @Test
    void maxStepsNamesTheUnconvergedLayers() throws Exception {
        int d = 10;
        Planted p = new Planted(d, sigma(d, 1, 0.99), 9); // flat spectrum: components keep rotating
        List<Map<String, float[][]>> batches = new ArrayList<>();
        for (int i = 0; i < 5; i++) batches.add(Map.of("flat", p.rows(20), "few", p.rows(3)));
        List<TargetLayer> layers = List.of(new TargetLayer("flat", d, 2), new TargetLayer("few", d, 2));
        EvaConfig config = EvaConfig.builder().r(2).rho(2).tau(0.999999).maxSteps(7).build();
        MemorySource src = new MemorySource(layers, List.of(), batches);
        EvaNotConvergedException e = assertThrows(EvaNotConvergedException.class,
                () -> new EvaEngine(config, new CountingSvd(), new EvaRankAllocator()).run(src));
        assertTrue(e.getMessage().contains("few") && e.getMessage().contains("max_steps = 7"), e.getMessage());
        assertEquals(1, src.rewinds, "cycled over the data");
        assertEquals(0, e.partial().layers().get(1).steps(), "3 rows < k = 4: never stepped");
        EvaResult accepted = new EvaEngine(config.toBuilder().acceptUnconverged(true).build(), new CountingSvd(),
                new EvaRankAllocator()).run(new MemorySource(layers, List.of(), batches));
        assertFalse(accepted.converged());
        assertEquals(0, accepted.layers().get(1).rank(), "a layer without components gets no rank");
    }

    @Test
    void badInputIsNamed() throws Exception {
        int d = 6;
        List<TargetLayer> layers = List.of(new TargetLayer("l", d, 2));
        EvaConfig config = EvaConfig.builder().r(2).rho(1).maxSteps(5).build();
        EvaEngine engine = new EvaEngine(config, new CountingSvd(), new EvaRankAllocator());
        float[][] wrong = new float[10][d + 1];
        assertTrue(assertThrows(IllegalArgumentException.class, () -> engine.run(new MemorySource(layers, List.of(),
                List.of(Map.of("l", wrong))))).getMessage().contains("expected in_features = 6"));
        float[][] nan = new Planted(d, sigma(d, 1, 0.9), 1).rows(10);
        nan[3][2] = Float.NaN;
        assertTrue(assertThrows(IllegalArgumentException.class, () -> engine.run(new MemorySource(layers, List.of(),
                List.of(Map.of("l", nan))))).getMessage().contains("NaN at row 3, column 2"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> engine.run(new MemorySource(layers, List.of(),
                List.of()))).getMessage().contains("holds no batch"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new EvaEngine(EvaConfig.builder().r(7).build(),
                new CountingSvd(), new EvaRankAllocator()).run(new MemorySource(layers, List.of(), List.of())))
                .getMessage().contains("exceeds in_features = 6"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> engine.run(new MemorySource(layers, List.of(),
                List.of(Map.of("zz", new float[10][d]))))).getMessage().contains("'zz', which is not a target layer"));
    }

    @Test
    void mergedShardsSpanTheSameSubspaceAsOneFit() throws Exception {
        int d = 32, k = 6;
        Planted p = new Planted(d, sigma(d, 8, 0.75), 21);
        List<float[][]> shard1 = new ArrayList<>(), shard2 = new ArrayList<>();
        for (int i = 0; i < 10; i++) { shard1.add(p.rows(200)); shard2.add(p.rows(200)); }
        ComputeSvd svd = new ComputeSvd(BLAS);
        IncrementalPca a = fit(shard1, d, k, svd), b = fit(shard2, d, k, svd);
        List<float[][]> all = new ArrayList<>(shard1);
        all.addAll(shard2);
        IncrementalPca whole = fit(all, d, k, svd);
        IncrementalPca merged;
        try (Arena arena = Arena.ofConfined()) {
            IncrementalPca.Step step = IncrementalPca.prepareMerge(a, b, arena, 42);
            svd.topK(List.of(step.problem()), SvdBackend.Mode.EXACT);
            merged = IncrementalPca.fromMerge(d, k, step);
        }
        assertEquals(whole.samplesSeen(), merged.samplesSeen());
        for (int j = 0; j < d; j++) {
            assertEquals(whole.mean()[j], merged.mean()[j], 1e-9 * (1 + Math.abs(whole.mean()[j])));
            assertEquals(whole.variance()[j], merged.variance()[j], 1e-9 * (1 + whole.variance()[j]));
        }
        float[] v1 = whole.componentsCopy(), v2 = merged.componentsCopy();
        for (int i = 0; i < 4; i++) { // well-separated leading components
            double dot = 0;
            for (int j = 0; j < d; j++) dot += v1[i * d + j] * v2[i * d + j];
            assertTrue(Math.abs(dot) >= 0.999, "component " + i + " |cos| " + Math.abs(dot));
        }
    }

    static IncrementalPca fit(List<float[][]> batches, int d, int k, ComputeSvd svd) {
        IncrementalPca pca = new IncrementalPca(d, k);
        for (float[][] x : batches) {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment s = arena.allocate(ValueLayout.JAVA_FLOAT, (long) x.length * d);
                for (int i = 0; i < x.length; i++) MemorySegment.copy(x[i], 0, s, ValueLayout.JAVA_FLOAT, 4L * i * d, d);
                IncrementalPca.Step step = pca.prepare(s, x.length, arena, 42, false);
                svd.topK(List.of(step.problem()), SvdBackend.Mode.EXACT);
                pca.commit(step);
            }
        }
        return pca;
    }
}
