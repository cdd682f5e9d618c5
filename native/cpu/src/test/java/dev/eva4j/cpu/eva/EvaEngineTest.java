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
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class EvaEngineTest {
    static final OpenBlasBackend BLAS = new OpenBlasBackend();

    /** ComputeSvd over OpenBLAS as an SvdBackend, counting calls and problems. */
    static final class CountingSvd implements SvdBackend {
        final ComputeSvd svd = new ComputeSvd(BLAS);
        final List<Integer> batchSizes = new ArrayList<>();
        public String name() { return "test"; }
        public int priority() { return 0; }
        public Availability availability() { return BLAS.availability(); }
        @Override public boolean supportsFloat64() { return true; }
        public void topK(List<TopKProblem> batch, Mode mode) {
            batchSizes.add(batch.size());
            svd.topK(batch, mode);
        }
    }

    /** CountingSvd, then every right-singular vector negated: a valid SVD with the other signs. */
    static final class NegatingSvd implements SvdBackend {
        final CountingSvd inner = new CountingSvd();
        public String name() { return "negating"; }
        public int priority() { return 0; }
        public Availability availability() { return BLAS.availability(); }
        public void topK(List<TopKProblem> batch, Mode mode) {
            inner.topK(batch, mode);
            for (TopKProblem p : batch) {
                for (long i = 0; i < (long) p.k() * p.cols(); i++) {
                    p.vt().setAtIndex(ValueLayout.JAVA_FLOAT, i, -p.vt().getAtIndex(ValueLayout.JAVA_FLOAT, i));
                }
            }
        }
    }

    /** Planted rows of exactly {@code rank} directions (the other sigmas are 0). */
    static double[] lowRank(int d, int rank, double first, double ratio) {
        double[] s = new double[d];
        for (int j = 0; j < rank; j++) s[j] = first * Math.pow(ratio, j);
        return s;
    }

    static double[] sigma(int d, double first, double ratio) {
        double[] s = new double[d];
        for (int j = 0; j < d; j++) s[j] = first * Math.pow(ratio, j);
        return s;
    }

    /**
     * The adapter's numbers against an independent computation: the float64 eigenvectors and eigenvalues of the
     * sample covariance of exactly the rows the layer saw. The rows span k = 8 directions (plus float32 rounding),
     * so tracking k components loses nothing and the incremental PCA must match the batch answer to the precision
     * of its arithmetic. Signs included: each A row must equal the eigenvector whose largest-magnitude entry is
     * positive (the sign rule).
     */
    @ParameterizedTest
    @EnumSource(EvaConfig.Precision.class)
    void adapterMatchesFloat64CovarianceEigenvectors(EvaConfig.Precision precision) throws Exception {
        int d = 40, n = 256, batches = 30, k = 8;
        Planted planted = new Planted(d, lowRank(d, k, 10, 0.7), 11);
        List<float[][]> data = new ArrayList<>();
        List<Map<String, float[][]>> source = new ArrayList<>();
        for (int b = 0; b < batches; b++) {
            float[][] x = planted.rows(n);
            data.add(x);
            source.add(Map.of("layer", x));
        }
        EvaConfig config = EvaConfig.builder().r(4).rho(2).tau(0.99999).maxSteps(batches).acceptUnconverged(true)
                .svd(SvdBackend.Mode.EXACT).precision(precision).build();
        MemorySource src = new MemorySource(List.of(new TargetLayer("layer", d, 7)), List.of(), source);
        EvaResult result = new EvaEngine(config, new CountingSvd(), new EvaRankAllocator()).run(src);
        LayerResult layer = result.layers().getFirst();
        int steps = layer.steps();
        assertTrue(steps >= 2, "steps " + steps);
        assertEquals((long) steps * n, layer.tokens());
        // float32: M, the SVD and the stored components round to 6e-8 relative at every step (measured: EVR 1.6e-6
        // relative, 1 - cos 1.5e-7 after 26 steps); float64: nothing but the float32 rows' own rounding
        double evrTol = precision == EvaConfig.Precision.FLOAT64 ? 1e-12 : 5e-6;
        double cosTol = precision == EvaConfig.Precision.FLOAT64 ? 1e-12 : 1e-6;

        double[] cov = Planted.covariance(data.subList(0, steps), d);
        double trace = 0;
        for (int i = 0; i < d; i++) trace += cov[i * d + i];
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment a = arena.allocateFrom(ValueLayout.JAVA_DOUBLE, cov), w = arena.allocate(ValueLayout.JAVA_DOUBLE, d);
            BLAS.dsyevd(d, a, w);
            int rank = layer.rank();
            assertEquals(4, rank);
            double worstEvr = 0, worstCos = 0, worstNorm = 0;
            for (int i = 0; i < k; i++) { // eigenvalues descending = columns d-1, d-2, ...
                int col = d - 1 - i;
                double lambda = w.getAtIndex(ValueLayout.JAVA_DOUBLE, col);
                worstEvr = Math.max(worstEvr, Math.abs(layer.spectrum()[i] - lambda / trace) / (lambda / trace));
                if (i < rank) {
                    double[] v = new double[d];
                    int arg = 0;
                    for (int j = 0; j < d; j++) {
                        v[j] = a.getAtIndex(ValueLayout.JAVA_DOUBLE, (long) j * d + col);
                        if (Math.abs(v[j]) > Math.abs(v[arg])) arg = j;
                    }
                    double sign = Math.signum(v[arg]), dot = 0, norm = 0;
                    for (int j = 0; j < d; j++) {
                        double x = layer.a()[i * d + j];
                        dot += x * sign * v[j];
                        norm += x * x;
                    }
                    worstCos = Math.max(worstCos, 1 - dot / Math.sqrt(norm)); // A is float32: its norm is 1 +- 1e-8
                    worstNorm = Math.max(worstNorm, Math.abs(Math.sqrt(norm) - 1));
                }
            }
            String measured = precision + " after " + steps + " steps: worst relative EVR error " + worstEvr
                    + ", worst 1 - signed cos " + worstCos + ", worst | |A row| - 1 | " + worstNorm;
            assertTrue(worstEvr <= evrTol && worstCos <= cosTol && worstNorm <= 1e-6, measured);
        }
    }

    /** docs/eva.md, "One incremental-PCA step", step 4: whatever signs the SVD returns, each component's largest-magnitude entry ends positive. */
    @Test
    void signFlipMakesEachComponentsLargestEntryPositive() throws Exception {
        int d = 20;
        Planted p = new Planted(d, sigma(d, 6, 0.7), 31);
        List<Map<String, float[][]>> batches = new ArrayList<>();
        for (int i = 0; i < 12; i++) batches.add(Map.of("x", p.rows(80)));
        List<TargetLayer> layers = List.of(new TargetLayer("x", d, 4));
        EvaConfig config = EvaConfig.builder().r(4).rho(1).tau(0.95).maxSteps(12).acceptUnconverged(true).build();
        EvaResult plain = new EvaEngine(config, new CountingSvd(), new EvaRankAllocator())
                .run(new MemorySource(layers, List.of(), batches));
        EvaResult negated = new EvaEngine(config, new NegatingSvd(), new EvaRankAllocator())
                .run(new MemorySource(layers, List.of(), batches));
        assertEquals(plain.steps(), negated.steps(), "the cosine rule sees the same signs");
        float[] a = plain.layers().getFirst().a();
        assertArrayEquals(a, negated.layers().getFirst().a());
        for (int i = 0; i < 4; i++) {
            int arg = 0;
            for (int j = 0; j < d; j++) if (Math.abs(a[i * d + j]) > Math.abs(a[i * d + arg])) arg = j;
            assertTrue(a[i * d + arg] > 0, "row " + i + ": largest entry " + a[i * d + arg]);
        }
    }

    /**
     * A layer that converged at a small rank stops receiving rows; when a later redistribution raises its rank past
     * its converged components it resumes (docs/eva.md, "Convergence and ranks"). The allocator is scripted: layer "a" gets
     * rank 1 for the first 3 allocations, then 3.
     */
    @Test
    void convergedLayerResumesWhenItsRankGrows() throws Exception {
        int d = 12;
        // "a": one dominant direction (converges at once), then a flat tail whose components keep rotating
        double[] sa = new double[d];
        java.util.Arrays.fill(sa, 1);
        sa[0] = 30;
        // "b": a flat spectrum, so it stays unconverged and the loop goes on
        Planted pa = new Planted(d, sa, 41), pb = new Planted(d, sigma(d, 1, 0.97), 42);
        List<Map<String, float[][]>> batches = new ArrayList<>();
        for (int i = 0; i < 10; i++) batches.add(Map.of("a", pa.rows(200), "b", pb.rows(200)));
        List<TargetLayer> layers = List.of(new TargetLayer("a", d, 4), new TargetLayer("b", d, 4));
        int[] calls = new int[1];
        dev.eva4j.spi.RankAllocator scripted = new dev.eva4j.spi.RankAllocator() {
            public String name() { return "scripted"; }
            public int priority() { return 0; }
            public Availability availability() { return Availability.ok("test"); }
            public int[] allocate(List<double[]> spectra, int budget, int[] maxRanks) {
                return ++calls[0] <= 3 ? new int[] {1, 3} : new int[] {3, 1};
            }
        };
        EvaConfig config = EvaConfig.builder().r(2).rho(2).tau(0.99).maxSteps(8).acceptUnconverged(true).build();
        RecordingSource src = new RecordingSource(layers, batches);
        EvaResult r = new EvaEngine(config, new CountingSvd(), scripted).run(src);
        // step 1: no cosines yet; step 2: component 0 of "a" converges -> done at rank 1 (allocation 2)
        assertEquals(Set.of("a", "b"), src.requests.get(0));
        assertEquals(Set.of("a", "b"), src.requests.get(1));
        assertFalse(src.requests.get(2).contains("a"), "a converged at rank 1: " + src.requests);
        assertFalse(src.requests.get(3).contains("a"), "allocation 3 still gives a rank 1: " + src.requests);
        assertTrue(src.requests.get(4).contains("a"), "allocation 4 gives a rank 3: a resumes: " + src.requests);
        LayerResult a = r.layers().get(0);
        assertEquals(3, a.rank());
        assertEquals(2 + (r.steps() - 4), a.steps(), "a stepped in steps 1-2 and again from step 5 on");
    }

    /** Records the layer set of every request() before a batch. */
    static final class RecordingSource implements dev.eva4j.api.eva.ActivationSource {
        final MemorySource inner;
        final List<Set<String>> requests = new ArrayList<>();

        RecordingSource(List<TargetLayer> layers, List<Map<String, float[][]>> batches) {
            inner = new MemorySource(layers, List.of(), batches);
        }

        @Override public List<TargetLayer> layers() { return inner.layers(); }
        @Override public List<List<String>> groups() { return inner.groups(); }
        @Override public void request(Set<String> modules) {
            if (requests.size() == inner.served) requests.add(Set.copyOf(modules));
        }
        @Override public Map<String, dev.eva4j.api.eva.Rows> next() { return inner.next(); }
        @Override public void rewind() { inner.rewind(); }
        @Override public void close() { inner.close(); }
    }

    /**
     * The loop stops at the first step where the rule holds (the first rank_l components of every layer have
     * cos >= tau), not a step later and not before: replayed independently step by step with IncrementalPca and
     * the same SVD, and the source served exactly that many batches.
     */
    @Test
    void stopsExactlyWhenTheConvergenceRuleIsMet() throws Exception {
        int d = 16, k = 3;
        Planted p = new Planted(d, sigma(d, 4, 0.8), 51);
        List<float[][]> data = new ArrayList<>();
        List<Map<String, float[][]>> batches = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            float[][] x = p.rows(60);
            data.add(x);
            batches.add(Map.of("x", x));
        }
        double tau = 0.999;
        // replay: rho = 1 keeps rank = k = 3, so the rule is "components 0..2 all have cos >= tau"
        ComputeSvd svd = new ComputeSvd(BLAS);
        IncrementalPca pca = new IncrementalPca(d, k);
        int expected = -1;
        double[] minCos = new double[data.size() + 1];
        for (int t = 1; t <= data.size() && expected < 0; t++) {
            double[] sims = step(pca, data.get(t - 1), d, svd, SvdBackend.Mode.LOWRANK);
            if (sims == null) continue;
            minCos[t] = java.util.Arrays.stream(sims).min().orElseThrow();
            if (minCos[t] >= tau) expected = t;
        }
        assertTrue(expected > 2, "the data must need a few steps: " + expected);
        MemorySource src = new MemorySource(List.of(new TargetLayer("x", d, 4)), List.of(), batches);
        EvaConfig config = EvaConfig.builder().r(k).rho(1).tau(tau).maxSteps(40).build();
        EvaResult r = new EvaEngine(config, new CountingSvd(), new EvaRankAllocator()).run(src);
        assertTrue(r.converged());
        assertEquals(expected, r.steps());
        assertEquals(expected, src.served, "no batch read after the rule was met");
        // the boundary: tau equal to that step's smallest cosine is met (cos >= tau) at the same step; the next
        // double above it is not, so the run goes on (earlier steps stay below either tau)
        assertTrue(minCos[expected] < 1, "a cosine below 1 to step above");
        List<TargetLayer> layer = List.of(new TargetLayer("x", d, 4));
        EvaResult atBoundary = new EvaEngine(config.toBuilder().tau(minCos[expected]).build(), new CountingSvd(),
                new EvaRankAllocator()).run(new MemorySource(layer, List.of(), batches));
        assertEquals(expected, atBoundary.steps());
        EvaResult above = new EvaEngine(config.toBuilder().tau(Math.nextUp(minCos[expected])).acceptUnconverged(true).build(),
                new CountingSvd(), new EvaRankAllocator()).run(new MemorySource(layer, List.of(), batches));
        assertTrue(above.steps() > expected, "steps " + above.steps());
    }

    static double[] step(IncrementalPca pca, float[][] x, int d, ComputeSvd svd, SvdBackend.Mode mode) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(ValueLayout.JAVA_FLOAT, (long) x.length * d);
            for (int i = 0; i < x.length; i++) MemorySegment.copy(x[i], 0, s, ValueLayout.JAVA_FLOAT, 4L * i * d, d);
            IncrementalPca.Step step = pca.prepare(s, x.length, arena, 42, false);
            svd.topK(List.of(step.problem()), mode);
            return pca.commit(step);
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
            // the run's own CPU time, within what the process's threads could have used in its wall time (the
            // process CPU clock may count in 10 ms ticks, so a run of a few ms can read 0; see the next test)
            assertTrue(t.cpuSeconds() >= 0, t.toString());
            assertTrue(t.cpuSeconds() <= t.totalSeconds() * Runtime.getRuntime().availableProcessors() + 0.05,
                    t.toString());
            assertTrue(t.jitSeconds() >= 0, t.toString());
            // /proc/stat counts in 10 ms ticks: a run shorter than one tick has no steal figure (-1)
            assertTrue(t.stealFraction() == -1 || t.stealFraction() >= 0 && t.stealFraction() <= 1, t.toString());
        }
    }

    /** CPU time spent on purpose shows up in the timings' process CPU time. */
    @Test
    void timingsCountTheProcessCpuTime() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(System.getProperty("os.name").startsWith("Linux"));
        int d = 16;
        Planted planted = new Planted(d, sigma(d, 4, 0.7), 5);
        List<Map<String, float[][]>> source = new ArrayList<>();
        for (int b = 0; b < 3; b++) source.add(Map.of("layer", planted.rows(64)));
        EvaConfig config = EvaConfig.builder().r(2).rho(2).tau(0.9).maxSteps(3).acceptUnconverged(true).build();
        MemorySource busy = new MemorySource(List.of(new TargetLayer("layer", d, 3)), List.of(), source) {
            @Override
            public Map<String, dev.eva4j.api.eva.Rows> next() {
                long until = System.nanoTime() + 100_000_000L; // 0.1 s of CPU per batch on this thread
                double x = 0;
                while (System.nanoTime() < until) x += Math.sqrt(x + 1);
                if (x < 0) throw new AssertionError();
                return super.next();
            }
        };
        EvaResult.Timings t = new EvaEngine(config, new CountingSvd(), new EvaRankAllocator()).run(busy).timings();
        assertTrue(t.cpuSeconds() >= 0.2, "three batches of 0.1 s of CPU each: " + t);
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

    /**
     * Whitening divides row i by S_i^(1/2) exactly once per member (not S^1.5, the reference's in-place defect).
     * S_i comes from an independent float64 computation: evr_i * sum of squared deviations of the rows seen.
     */
    @Test
    void whiteningDividesEachMembersCopyBySqrtOfTheSingularValue() throws Exception {
        int d = 12, n = 100;
        Planted p = new Planted(d, sigma(d, 4, 0.7), 8);
        List<float[][]> data = new ArrayList<>();
        List<Map<String, float[][]>> batches = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            float[][] x = p.rows(n);
            data.add(x);
            batches.add(Map.of("x", x));
        }
        List<TargetLayer> layers = List.of(new TargetLayer("x", d, 3), new TargetLayer("y", d, 3));
        EvaConfig base = EvaConfig.builder().r(2).rho(1).tau(0.9).maxSteps(20).build();
        EvaResult plain = new EvaEngine(base, new CountingSvd(), new EvaRankAllocator())
                .run(new MemorySource(layers, List.of(List.of("x", "y")), batches));
        EvaResult white = new EvaEngine(base.toBuilder().whiten(true).build(), new CountingSvd(), new EvaRankAllocator())
                .run(new MemorySource(layers, List.of(List.of("x", "y")), batches));
        assertArrayEquals(white.layers().get(0).a(), white.layers().get(1).a(), "both members divided the same");
        int steps = white.layers().get(0).steps();
        double[] cov = Planted.covariance(data.subList(0, steps), d);
        double total = 0; // sum_j var_j * n_seen
        for (int j = 0; j < d; j++) total += cov[j * d + j] * steps * n;
        for (int l = 0; l < 2; l++) {
            LayerResult pl = plain.layers().get(l), wl = white.layers().get(l);
            for (int i = 0; i < 2; i++) {
                double sqrtS = Math.pow(pl.spectrum()[i] * total, 0.25); // S_i = sqrt(evr_i * total)
                for (int j = 0; j < d; j++) {
                    assertEquals(pl.a()[i * d + j] / sqrtS, wl.a()[i * d + j], 1e-5 * Math.abs(pl.a()[i * d + j] / sqrtS) + 1e-9,
                            "member " + l + " row " + i + " column " + j);
                }
            }
        }
    }

    /**
     * Rank-deficient rows (column 2 duplicates column 0, columns 3-5 are constant): whitening would divide by a
     * zero singular value; it fails naming the layer instead, in either precision. Without whitening the adapter is
     * finite.
     */
    @ParameterizedTest
    @EnumSource(EvaConfig.Precision.class)
    void whiteningRefusesZeroSingularValues(EvaConfig.Precision precision) throws Exception {
        int d = 6;
        java.util.Random rnd = new java.util.Random(61);
        List<Map<String, float[][]>> batches = new ArrayList<>();
        for (int b = 0; b < 4; b++) {
            float[][] x = new float[50][d];
            for (float[] row : x) {
                row[0] = (float) rnd.nextGaussian();
                row[1] = (float) rnd.nextGaussian();
                row[2] = row[0];
                row[3] = 1.5f;
                row[4] = -2f;
                row[5] = 0.25f;
            }
            batches.add(Map.of("dup", x));
        }
        List<TargetLayer> layers = List.of(new TargetLayer("dup", d, 3));
        EvaConfig config = EvaConfig.builder().r(4).rho(1).tau(0.9).maxSteps(4).acceptUnconverged(true)
                .precision(precision).build();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new EvaEngine(
                config.toBuilder().whiten(true).build(), new CountingSvd(), new EvaRankAllocator())
                .run(new MemorySource(layers, List.of(), batches)));
        assertTrue(e.getMessage().contains("layer 'dup'") && e.getMessage().contains("cannot whiten component 2")
                && e.getMessage().contains("rank-deficient"), e.getMessage());
        EvaResult plain = new EvaEngine(config, new CountingSvd(), new EvaRankAllocator())
                .run(new MemorySource(layers, List.of(), batches));
        for (float v : plain.layers().getFirst().a()) assertTrue(Float.isFinite(v));
    }

    @Test
    void maxStepsNamesTheUnconvergedLayers() throws Exception {
        int d = 10;
        Planted p = new Planted(d, sigma(d, 1, 0.99), 9); // flat spectrum: components keep rotating
        List<Map<String, float[][]>> batches = new ArrayList<>();
        for (int i = 0; i < 5; i++) batches.add(Map.of("flat", p.rows(20), "steep", new Planted(d, sigma(d, 9, 0.3), 10).rows(20)));
        List<TargetLayer> layers = List.of(new TargetLayer("flat", d, 2), new TargetLayer("steep", d, 2));
        EvaConfig config = EvaConfig.builder().r(2).rho(2).tau(0.999999).maxSteps(7).build();
        MemorySource src = new MemorySource(layers, List.of(), batches);
        EvaNotConvergedException e = assertThrows(EvaNotConvergedException.class,
                () -> new EvaEngine(config, new CountingSvd(), new EvaRankAllocator()).run(src));
        assertTrue(e.getMessage().contains("flat") && e.getMessage().contains("max_steps = 7"), e.getMessage());
        assertEquals(1, src.rewinds, "cycled over the data");
        EvaResult accepted = new EvaEngine(config.toBuilder().acceptUnconverged(true).build(), new CountingSvd(),
                new EvaRankAllocator()).run(new MemorySource(layers, List.of(), batches));
        assertFalse(accepted.converged());
        assertTrue(accepted.unconverged().contains("flat"), accepted.unconverged().toString());
    }

    /**
     * Data that can never give a step (every position masked: no rows; or fewer than k rows in every batch, like a
     * one-token file) fails after one pass naming the cause, instead of cycling to max_steps and reporting
     * "did not converge".
     */
    @Test
    void dataThatNeverGivesAStepNamesTheCause() throws Exception {
        int d = 10;
        Planted p = new Planted(d, sigma(d, 5, 0.6), 12);
        List<TargetLayer> layers = List.of(new TargetLayer("ok", d, 2), new TargetLayer("few", d, 2));
        EvaConfig config = EvaConfig.builder().r(2).rho(2).tau(0.9).maxSteps(1000).build();
        List<Map<String, float[][]>> oneToken = new ArrayList<>(), masked = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            oneToken.add(Map.of("ok", p.rows(40), "few", p.rows(1)));
            masked.add(Map.of("ok", p.rows(40), "few", new float[0][]));
        }
        MemorySource few = new MemorySource(layers, List.of(), oneToken);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new EvaEngine(config, new CountingSvd(), new EvaRankAllocator()).run(few));
        assertTrue(e.getMessage().contains("layer 'few' never received the k = 4 rows")
                && e.getMessage().contains("at most 1 real-token rows"), e.getMessage());
        assertEquals(3, few.served, "one pass, not max_steps");
        assertEquals(0, few.rewinds);
        MemorySource none = new MemorySource(layers, List.of(), masked);
        e = assertThrows(IllegalArgumentException.class,
                () -> new EvaEngine(config, new CountingSvd(), new EvaRankAllocator()).run(none));
        assertTrue(e.getMessage().contains("layer 'few' received no rows") && e.getMessage().contains("every position is masked"),
                e.getMessage());
        List<Map<String, float[][]>> absent = List.of(Map.of("ok", p.rows(40)), Map.of("ok", p.rows(40)));
        e = assertThrows(IllegalArgumentException.class, () -> new EvaEngine(config, new CountingSvd(),
                new EvaRankAllocator()).run(new MemorySource(layers, List.of(), absent)));
        assertTrue(e.getMessage().contains("layer 'few' received no rows in a full pass over the data: the activation "
                + "source never supplied"), e.getMessage());
        // with max_steps reached before the data ends, the same cause is named (not "did not converge")
        MemorySource capped = new MemorySource(layers, List.of(), oneToken);
        e = assertThrows(IllegalArgumentException.class, () -> new EvaEngine(config.toBuilder().maxSteps(2).build(),
                new CountingSvd(), new EvaRankAllocator()).run(capped));
        assertTrue(e.getMessage().contains("never received the k = 4 rows one step needs in 2 step(s)"), e.getMessage());
    }

    /**
     * Steps in chunks bounded by memory give exactly the result of one batch per step: with a 1-byte bound every
     * group is solved alone (one problem per backend call), and every number of the result is the same.
     */
    @Test
    void chunkedStepsGiveIdenticalResults() throws Exception {
        int d = 16;
        List<Map<String, float[][]>> batches = new ArrayList<>();
        Planted[] planted = new Planted[4];
        for (int g = 0; g < 4; g++) planted[g] = new Planted(d, sigma(d, 3 + g, 0.6 + 0.05 * g), 70 + g);
        for (int i = 0; i < 15; i++) {
            Map<String, float[][]> m = new LinkedHashMap<>();
            for (int g = 0; g < 4; g++) m.put("l" + g, planted[g].rows(64));
            batches.add(m);
        }
        List<TargetLayer> layers = new ArrayList<>();
        for (int g = 0; g < 4; g++) layers.add(new TargetLayer("l" + g, d, 8));
        EvaConfig config = EvaConfig.builder().r(3).rho(2).tau(0.99).maxSteps(15).acceptUnconverged(true).build();
        CountingSvd whole = new CountingSvd(), chunked = new CountingSvd(), pairs = new CountingSvd();
        EvaResult a = new EvaEngine(config, whole, new EvaRankAllocator()).run(new MemorySource(layers, List.of(), batches));
        EvaResult b = new EvaEngine(config, chunked, new EvaRankAllocator(), 1).run(new MemorySource(layers, List.of(), batches));
        // 64 rows x 16 features x 4 bytes = 4 KiB per first-step M: a 9 KiB bound holds two such groups
        EvaResult c = new EvaEngine(config, pairs, new EvaRankAllocator(), 9 << 10).run(new MemorySource(layers, List.of(), batches));
        assertEquals(4, whole.batchSizes.getFirst(), "all groups in one call by default");
        assertTrue(chunked.batchSizes.stream().allMatch(n -> n == 1), chunked.batchSizes.toString());
        assertEquals(List.of(2, 2), pairs.batchSizes.subList(0, 2), pairs.batchSizes.toString());
        for (EvaResult other : List.of(b, c)) {
            assertEquals(a.steps(), other.steps());
            for (int l = 0; l < 4; l++) {
                assertEquals(a.layers().get(l).rank(), other.layers().get(l).rank());
                assertArrayEquals(a.layers().get(l).a(), other.layers().get(l).a());
                assertArrayEquals(a.layers().get(l).spectrum(), other.layers().get(l).spectrum());
            }
        }
    }

    /** float64 needs an SVD backend that says it computes in float64; one that does not is refused up front. */
    @Test
    void float64RefusesAFloat32OnlyBackend() {
        EvaConfig config = EvaConfig.builder().precision(EvaConfig.Precision.FLOAT64).build();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new EvaEngine(config, new NegatingSvd(), new EvaRankAllocator()));
        assertTrue(e.getMessage().contains("'negating' computes in float32 only"), e.getMessage());
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

    /**
     * The cancel flag is read once per step, before the next batch: set after step 3, the run ends with a
     * CancellationException and the source served exactly 3 batches. Ranks are reported after every step's
     * redistribution, summing to the budget.
     */
    @Test
    void cancelFlagStopsBetweenStepsAndRanksAreReported() throws Exception {
        int d = 16, n = 64;
        Planted planted = new Planted(d, sigma(d, 10, 0.8), 3);
        List<Map<String, float[][]>> batches = new ArrayList<>();
        for (int b = 0; b < 20; b++) batches.add(Map.of("a", planted.rows(n), "b", planted.rows(n)));
        List<TargetLayer> layers = List.of(new TargetLayer("a", d, 4), new TargetLayer("b", d, 4));
        EvaConfig config = EvaConfig.builder().r(2).rho(2).tau(1.0).maxSteps(1000).svd(SvdBackend.Mode.EXACT).build();
        MemorySource src = new MemorySource(layers, List.of(), batches);
        int[] lastStep = {-1};
        List<Map<String, Integer>> ranks = new ArrayList<>();
        dev.eva4j.api.eva.ProgressListener listener = new dev.eva4j.api.eva.ProgressListener() {
            @Override public void step(int step, int maxSteps, int done, int count, long tokens) { lastStep[0] = step; }
            @Override public void ranks(int step, Map<String, Integer> r) { ranks.add(r); }
        };
        java.util.concurrent.CancellationException e = assertThrows(java.util.concurrent.CancellationException.class,
                () -> new EvaEngine(config, new CountingSvd(), new EvaRankAllocator()).run(src, listener,
                        () -> lastStep[0] >= 3));
        assertTrue(e.getMessage().contains("3 step"), e.getMessage());
        assertEquals(3, src.served);
        assertEquals(3, ranks.size());
        for (Map<String, Integer> r : ranks) {
            assertEquals(List.of("a", "b"), List.copyOf(r.keySet()));
            assertEquals(4, r.values().stream().mapToInt(Integer::intValue).sum());
        }
        // never cancelled: the overload runs as the two-argument one
        MemorySource again = new MemorySource(layers, List.of(), batches);
        EvaConfig capped = config.toBuilder().maxSteps(5).acceptUnconverged(true).build();
        assertEquals(5, new EvaEngine(capped, new CountingSvd(), new EvaRankAllocator())
                .run(again, dev.eva4j.api.eva.ProgressListener.NONE, () -> false).steps());
    }
}
