package dev.eva4j.cpu.svd;

import static dev.eva4j.cpu.svd.SvdFixtures.F;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.eva4j.api.svd.ComputeSvd;
import dev.eva4j.cpu.openblas.OpenBlasBackend;
import dev.eva4j.cpu.svd.SvdFixtures.Reference;
import dev.eva4j.spi.SvdBackend.Mode;
import dev.eva4j.spi.TopKProblem;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link ComputeSvd} over {@link OpenBlasBackend} against float64 dgesdd references on matrices with a planted
 * spectrum. All inputs are seeded: a failure reproduces.
 */
class ComputeSvdTest {
    private static final OpenBlasBackend BLAS = new OpenBlasBackend();
    private static final double SV_TOL = SvdFixtures.SV_TOL, COS_MIN = SvdFixtures.COS_MIN;

    private final ComputeSvd svd = new ComputeSvd(BLAS);

    @BeforeEach
    void needsOpenBlas() {
        assumeTrue(BLAS.isAvailable(), BLAS::unavailableReason);
    }

    static Stream<Arguments> shapes() {
        List<Arguments> out = new ArrayList<>();
        int[][] sizes = {{300, 128}, {2081, 256}, {64, 500}};
        for (int[] s : sizes) for (int k : new int[] {1, 8, 32}) out.add(Arguments.of(s[0], s[1], k));
        return out.stream();
    }

    static Stream<Arguments> shapesAndModes() {
        return shapes().flatMap(a -> Stream.of(Mode.EXACT, Mode.LOWRANK)
                .map(mode -> Arguments.of(a.get()[0], a.get()[1], a.get()[2], mode)));
    }

    /** Planted matrices by (m, n, k), shared across tests (read only); global arena, freed at exit. */
    private static final java.util.Map<List<Integer>, Reference> PLANTED = new java.util.concurrent.ConcurrentHashMap<>();

    private static Reference gapped(int m, int n, int k) {
        return PLANTED.computeIfAbsent(List.of(m, n, k), key -> SvdFixtures.planted(BLAS, Arena.global(), m, n,
                SvdFixtures.gappedSpectrum(Math.min(m, n), k), seedOf(m, n, k)));
    }

    private static long seedOf(int m, int n, int k) {
        return 1_000_003L * m + 1009L * n + k;
    }

    private static void assertAccurate(String what, Reference ref, TopKProblem p) {
        assertAccurate(what, ref, p, SV_TOL, COS_MIN);
    }

    private static void assertAccurate(String what, Reference ref, TopKProblem p, double svTol, double cosMin) {
        int[] checked = new int[1];
        List<String> failures = SvdFixtures.compare(ref, p, svTol, cosMin, checked);
        assertTrue(failures.isEmpty(), () -> what + ": " + failures);
        assertEquals(p.k(), checked[0], what + ": every planted component is separated, so all are compared");
    }

    @ParameterizedTest(name = "{3} {0}x{1} k={2}")
    @MethodSource("shapesAndModes")
    void matchesFloat64ReferenceOnPlantedSpectrum(int m, int n, int k, Mode mode) {
        try (Arena arena = Arena.ofConfined()) {
            Reference ref = gapped(m, n, k);
            TopKProblem p = SvdFixtures.problem(arena, m, n, k, ref.a(), MemorySegment.NULL, 42);
            svd.topK(List.of(p), mode);
            assertAccurate(mode + " " + m + "x" + n + " k=" + k, ref, p);
        }
    }

    @ParameterizedTest(name = "WARM {0}x{1} k={2}")
    @MethodSource("shapes")
    void warmFromPerturbedComponentsIsAsAccurate(int m, int n, int k) {
        try (Arena arena = Arena.ofConfined()) {
            Reference ref = gapped(m, n, k);
            MemorySegment warm = SvdFixtures.perturbedComponents(arena, ref, k, 0.05, 7);
            TopKProblem p = SvdFixtures.problem(arena, m, n, k, ref.a(), warm, 42);
            svd.topK(List.of(p), Mode.WARM);
            assertAccurate("WARM " + m + "x" + n + " k=" + k, ref, p, SvdFixtures.WARM_SV_TOL, SvdFixtures.WARM_COS_MIN);
        }
    }

    /** The warm start must matter: from components far from the answer a single power iteration is not enough. */
    @Test
    void warmStartIsUsed() {
        int m = 2081, n = 256, k = 8;
        try (Arena arena = Arena.ofConfined()) {
            // slowly decaying spectrum: one power iteration from a random start cannot resolve it
            double[] sigma = new double[n];
            for (int i = 0; i < n; i++) sigma[i] = Math.pow(0.985, i);
            Reference ref = SvdFixtures.planted(BLAS, arena, m, n, sigma, 3);
            double[] good = runWarm(arena, ref, SvdFixtures.perturbedComponents(arena, ref, k, 0.01, 5), k);
            MemorySegment random = arena.allocate(F, (long) k * n);
            java.util.Random rnd = new java.util.Random(9);
            for (long i = 0; i < (long) k * n; i++) random.setAtIndex(F, i, (float) rnd.nextGaussian());
            double[] bad = runWarm(arena, ref, random, k);
            assertTrue(good[0] < 5e-3, "good warm start: subspace error " + good[0]);
            assertTrue(bad[0] > 10 * good[0], "random warm start: subspace error " + bad[0] + " vs " + good[0]);
        }
    }

    private double[] runWarm(Arena arena, Reference ref, MemorySegment warm, int k) {
        TopKProblem p = SvdFixtures.problem(arena, ref.m(), ref.n(), k, ref.a(), warm, 42);
        svd.topK(List.of(p), Mode.WARM);
        double[] refTop = new double[k * ref.n()];
        System.arraycopy(ref.vt(), 0, refTop, 0, refTop.length);
        return new double[] {SvdFixtures.subspaceError(BLAS, p.vt(), refTop, k, ref.n())};
    }

    /**
     * A spectrum falling by 10^(1/4) per index: the first sketch A*Omega has a condition number far beyond what a
     * float32 Gram matrix resolves (sigma_1 / sigma_q = 10^((q-1)/4)), so this is where an orthonormalisation
     * through the Gram matrix would lose the trailing sketch directions. Top-k values stay above 1e-3 * sigma_1
     * so that float32 can hold them to 1e-4.
     */
    @ParameterizedTest(name = "{0} 2081x256 k={1}")
    @MethodSource("steepCases")
    void steepSpectrum(Mode mode, int k) {
        int m = 2081, n = 256;
        try (Arena arena = Arena.ofConfined()) {
            double[] sigma = new double[n];
            for (int i = 0; i < n; i++) sigma[i] = Math.pow(10, -i * 2.5 / (k - 1));
            Reference ref = SvdFixtures.planted(BLAS, arena, m, n, sigma, 99 + k);
            MemorySegment warm = mode == Mode.WARM ? SvdFixtures.perturbedComponents(arena, ref, k, 0.05, 4) : MemorySegment.NULL;
            TopKProblem p = SvdFixtures.problem(arena, m, n, k, ref.a(), warm, 42);
            svd.topK(List.of(p), mode);
            assertAccurate(mode + " steep k=" + k, ref, p);
        }
    }

    /**
     * Entries near 1e20 (2^67 times a planted matrix, an exact scaling): the sketch's squared column norms overflow
     * float32, so its Gram matrix cannot be formed as is. Every mode must still find the planted components, with
     * the singular values scaled by 2^67.
     */
    @ParameterizedTest
    @org.junit.jupiter.params.provider.EnumSource(Mode.class)
    void valuesWhoseSquaresOverflowFloat32(Mode mode) {
        int m = 300, n = 128, k = 8;
        double scale = Math.scalb(1.0, 67);
        Reference ref = gapped(m, n, k);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment big = arena.allocate(F, (long) m * n);
            for (long i = 0; i < (long) m * n; i++) big.setAtIndex(F, i, (float) (ref.a().getAtIndex(F, i) * scale));
            double[] s = ref.s().clone();
            for (int i = 0; i < s.length; i++) s[i] *= scale;
            Reference scaled = new Reference(m, n, big, s, ref.vt());
            MemorySegment warm = mode == Mode.WARM ? SvdFixtures.perturbedComponents(arena, ref, k, 0.05, 3) : MemorySegment.NULL;
            TopKProblem p = SvdFixtures.problem(arena, m, n, k, big, warm, 5);
            svd.topK(List.of(p), mode);
            for (float v : p.vt().toArray(F)) assertTrue(Float.isFinite(v), mode + ": non-finite component");
            assertAccurate(mode + " x 2^67", scaled, p, mode == Mode.WARM ? SvdFixtures.WARM_SV_TOL : SV_TOL,
                    mode == Mode.WARM ? SvdFixtures.WARM_COS_MIN : COS_MIN);
        }
    }

    static Stream<Arguments> steepCases() {
        return Stream.of(Mode.values()).flatMap(mode -> Stream.of(Arguments.of(mode, 8), Arguments.of(mode, 32)));
    }

    @ParameterizedTest(name = "{0}x{1} k={2}")
    @MethodSource("shapes")
    void warmWithoutStartIsLowrank(int m, int n, int k) {
        try (Arena arena = Arena.ofConfined()) {
            Reference ref = gapped(m, n, k);
            TopKProblem lowrank = SvdFixtures.problem(arena, m, n, k, ref.a(), MemorySegment.NULL, 11);
            TopKProblem warm = SvdFixtures.problem(arena, m, n, k, ref.a(), MemorySegment.NULL, 11);
            svd.topK(List.of(lowrank), Mode.LOWRANK);
            svd.topK(List.of(warm), Mode.WARM);
            assertArrayEquals(lowrank.singularValues().toArray(F), warm.singularValues().toArray(F));
            assertArrayEquals(lowrank.vt().toArray(F), warm.vt().toArray(F));
        }
    }

    @Test
    void lowrankIsDeterministicPerSeed() {
        int m = 300, n = 128, k = 8;
        try (Arena arena = Arena.ofConfined()) {
            // a slowly decaying spectrum so that the answer depends visibly on the sketch
            double[] sigma = new double[n];
            for (int i = 0; i < n; i++) sigma[i] = Math.pow(0.97, i);
            Reference ref = SvdFixtures.planted(BLAS, arena, m, n, sigma, 17);
            TopKProblem a = SvdFixtures.problem(arena, m, n, k, ref.a(), MemorySegment.NULL, 1234);
            TopKProblem b = SvdFixtures.problem(arena, m, n, k, ref.a(), MemorySegment.NULL, 1234);
            TopKProblem c = SvdFixtures.problem(arena, m, n, k, ref.a(), MemorySegment.NULL, 1235);
            svd.topK(List.of(a), Mode.LOWRANK);
            svd.topK(List.of(b), Mode.LOWRANK);
            svd.topK(List.of(c), Mode.LOWRANK);
            assertArrayEquals(a.singularValues().toArray(F), b.singularValues().toArray(F));
            assertArrayEquals(a.vt().toArray(F), b.vt().toArray(F));
            assertFalse(java.util.Arrays.equals(a.vt().toArray(F), c.vt().toArray(F)), "another seed, another sketch");
        }
    }

    /** One call with a batch gives each problem what a call of its own gives. */
    @Test
    void batchEqualsSeparateCalls() {
        try (Arena arena = Arena.ofConfined()) {
            Reference r1 = gapped(300, 128, 8);
            Reference r2 = gapped(64, 500, 32);
            for (Mode mode : Mode.values()) {
                TopKProblem a1 = SvdFixtures.problem(arena, 300, 128, 8, r1.a(), MemorySegment.NULL, 5);
                TopKProblem a2 = SvdFixtures.problem(arena, 64, 500, 32, r2.a(), MemorySegment.NULL, 6);
                TopKProblem b1 = SvdFixtures.problem(arena, 300, 128, 8, r1.a(), MemorySegment.NULL, 5);
                TopKProblem b2 = SvdFixtures.problem(arena, 64, 500, 32, r2.a(), MemorySegment.NULL, 6);
                svd.topK(List.of(a1, a2), mode);
                svd.topK(List.of(b1), mode);
                svd.topK(List.of(b2), mode);
                assertArrayEquals(b1.vt().toArray(F), a1.vt().toArray(F), mode + " first");
                assertArrayEquals(b2.vt().toArray(F), a2.vt().toArray(F), mode + " second");
                assertAccurate(mode + " batch first", r1, a1);
                assertAccurate(mode + " batch second", r2, a2);
            }
        }
    }

    /**
     * Every answer of a batch (in shared memory, which a parallel solver could use) is bit-identical to solving that
     * problem alone, round after round: no state leaks from one problem or call into the next.
     */
    @Test
    void parallelBatchEqualsSeparateCallsBitForBit() {
        try (Arena arena = Arena.ofShared()) {
            Reference r1 = gapped(300, 128, 8);
            Reference r2 = gapped(64, 500, 32);
            for (Mode mode : Mode.values()) {
                TopKProblem s1 = SvdFixtures.problem(arena, 300, 128, 8, r1.a(), MemorySegment.NULL, 5);
                TopKProblem s2 = SvdFixtures.problem(arena, 64, 500, 32, r2.a(), MemorySegment.NULL, 6);
                svd.topK(List.of(s1), mode);
                svd.topK(List.of(s2), mode);
                for (int round = 0; round < 3; round++) {
                    List<TopKProblem> batch = new ArrayList<>();
                    for (int i = 0; i < 8; i++) {
                        batch.add(i % 2 == 0 ? SvdFixtures.problem(arena, 300, 128, 8, r1.a(), MemorySegment.NULL, 5)
                                : SvdFixtures.problem(arena, 64, 500, 32, r2.a(), MemorySegment.NULL, 6));
                    }
                    svd.topK(batch, mode);
                    for (int i = 0; i < batch.size(); i++) {
                        TopKProblem alone = i % 2 == 0 ? s1 : s2;
                        assertArrayEquals(alone.singularValues().toArray(F), batch.get(i).singularValues().toArray(F),
                                mode + " round " + round + " problem " + i + ": singular values");
                        assertArrayEquals(alone.vt().toArray(F), batch.get(i).vt().toArray(F),
                                mode + " round " + round + " problem " + i + ": components");
                    }
                }
            }
        }
    }

    /** The input is read only. */
    @ParameterizedTest
    @EnumSource(Mode.class)
    void inputIsNotModified(Mode mode) {
        try (Arena arena = Arena.ofConfined()) {
            Reference r = gapped(300, 128, 8);
            float[] before = r.a().toArray(F);
            MemorySegment warm = mode == Mode.WARM ? SvdFixtures.perturbedComponents(arena, r, 8, 0.05, 3) : MemorySegment.NULL;
            float[] warmBefore = mode == Mode.WARM ? warm.toArray(F) : null;
            svd.topK(List.of(SvdFixtures.problem(arena, 300, 128, 8, r.a(), warm, 5)), mode);
            assertArrayEquals(before, r.a().toArray(F));
            if (warmBefore != null) assertArrayEquals(warmBefore, warm.toArray(F));
        }
    }

    static Stream<Arguments> rankDeficientCases() {
        List<Arguments> out = new ArrayList<>();
        for (Mode mode : Mode.values()) {
            for (int[] c : new int[][] {{300, 128, 8, 5}, {300, 128, 32, 5}, {64, 500, 32, 40}, {300, 128, 8, 0}}) {
                out.add(Arguments.of(mode, c[0], c[1], c[2], c[3]));
            }
        }
        return out.stream();
    }

    /** Rank below the sketch width q = 2k: the leading triplets are still right, the rest are ~0, nothing is NaN. */
    @ParameterizedTest(name = "{0} {1}x{2} k={3} rank={4}")
    @MethodSource("rankDeficientCases")
    void rankDeficientInputGivesNoNaN(Mode mode, int m, int n, int k, int rank) {
        try (Arena arena = Arena.ofConfined()) {
            int p = Math.min(m, n);
            double[] sigma = new double[p];
            for (int i = 0; i < rank; i++) sigma[i] = Math.pow(0.8, i);
            Reference ref = SvdFixtures.planted(BLAS, arena, m, n, sigma, seedOf(m, n, rank));
            MemorySegment warm = MemorySegment.NULL;
            if (mode == Mode.WARM) { // a warm start spanning the whole range and beyond it
                warm = SvdFixtures.perturbedComponents(arena, ref, k, 0.05, 8);
            }
            TopKProblem prob = SvdFixtures.problem(arena, m, n, k, ref.a(), warm, 42);
            svd.topK(List.of(prob), mode);
            float[] s = prob.singularValues().toArray(F);
            float[] vt = prob.vt().toArray(F);
            for (float x : s) assertTrue(Float.isFinite(x), "singular values " + java.util.Arrays.toString(s));
            for (float x : vt) assertTrue(Float.isFinite(x), "vt has a non-finite entry");
            int known = Math.min(rank, k);
            // WARM is held to its own documented bounds (a single Rayleigh-Ritz step from its start)
            double svTol = mode == Mode.WARM ? SvdFixtures.WARM_SV_TOL : SV_TOL;
            double cosMin = mode == Mode.WARM ? SvdFixtures.WARM_COS_MIN : COS_MIN;
            for (int i = 0; i < known; i++) {
                assertEquals(ref.s()[i], s[i], svTol * ref.s()[i], "sigma_" + i);
                double[] v = SvdFixtures.row(prob.vt(), i, n);
                double dot = 0;
                for (int j = 0; j < n; j++) dot += v[j] * ref.vt()[i * n + j];
                assertTrue(Math.abs(dot) >= cosMin, "|cos| of component " + i + " = " + Math.abs(dot));
            }
            for (int i = known; i < k; i++) assertTrue(s[i] >= 0 && s[i] <= 1e-5, "sigma_" + i + " = " + s[i]);
            for (int i = 0; i < k; i++) { // rows stay unit vectors even where the singular value is 0
                double norm = 0;
                for (int j = 0; j < n; j++) norm += (double) vt[i * n + j] * vt[i * n + j];
                assertEquals(1, Math.sqrt(norm), 1e-4, "norm of row " + i);
            }
        }
    }

    /**
     * Float64 problems are solved in float64 throughout: against the dgesdd reference of the same values, EXACT gives
     * singular values to {@link SvdFixtures#F64_SV_TOL} and directions to {@link SvdFixtures#F64_COS_MIN}, 1e5-1e6
     * times tighter than float32 can be; LOWRANK and WARM (from a start within 0.05) hold float32's bounds, which
     * their sketches, not the arithmetic, set.
     */
    @ParameterizedTest(name = "F64 {3} {0}x{1} k={2}")
    @MethodSource("shapesAndAllModes")
    void float64ProblemsAreSolvedInFloat64(int m, int n, int k, Mode mode) {
        try (Arena arena = Arena.ofConfined()) {
            Reference ref = gapped(m, n, k);
            MemorySegment a = arena.allocate(SvdFixtures.D, (long) m * n);
            for (long i = 0; i < (long) m * n; i++) a.setAtIndex(SvdFixtures.D, i, ref.a().getAtIndex(F, i));
            MemorySegment warm = MemorySegment.NULL;
            if (mode == Mode.WARM) {
                MemorySegment w32 = SvdFixtures.perturbedComponents(arena, ref, k, 0.05, 7);
                warm = arena.allocate(SvdFixtures.D, (long) k * n);
                for (long i = 0; i < (long) k * n; i++) warm.setAtIndex(SvdFixtures.D, i, w32.getAtIndex(F, i));
            }
            TopKProblem p = new TopKProblem(m, n, k, a, arena.allocate(SvdFixtures.D, k),
                    arena.allocate(SvdFixtures.D, (long) k * n), warm, 42, dev.eva4j.spi.DType.F64);
            svd.topK(List.of(p), mode);
            double worstSv = 0, worstCos = 1;
            for (int i = 0; i < k; i++) {
                double s = p.singularValues().getAtIndex(SvdFixtures.D, i);
                worstSv = Math.max(worstSv, Math.abs(s - ref.s()[i]) / ref.s()[i]);
                double dot = 0, norm = 0;
                for (int j = 0; j < n; j++) {
                    double v = p.vt().getAtIndex(SvdFixtures.D, (long) i * n + j);
                    dot += v * ref.vt()[i * n + j];
                    norm += v * v;
                }
                assertEquals(1, Math.sqrt(norm), 1e-12, "norm of row " + i);
                worstCos = Math.min(worstCos, Math.abs(dot));
            }
            // EXACT is limited by the arithmetic only; LOWRANK and WARM by their sketch (measured in float64: LOWRANK
            // up to 1.3e-6 relative, WARM 3.3e-5, the same as in float32), so they keep float32's bounds
            double svTol = switch (mode) {
                case EXACT -> SvdFixtures.F64_SV_TOL;
                case LOWRANK -> SV_TOL;
                case WARM -> SvdFixtures.WARM_SV_TOL;
            };
            double cosMin = switch (mode) {
                case EXACT -> SvdFixtures.F64_COS_MIN;
                case LOWRANK -> COS_MIN;
                case WARM -> SvdFixtures.WARM_COS_MIN;
            };
            assertTrue(worstSv <= svTol, mode + ": singular values off by " + worstSv + " relative");
            assertTrue(worstCos >= cosMin, mode + ": |cos| down to " + worstCos);
        }
    }

    static Stream<Arguments> shapesAndAllModes() {
        return shapes().flatMap(a -> Stream.of(Mode.values())
                .map(mode -> Arguments.of(a.get()[0], a.get()[1], a.get()[2], mode)));
    }

    /** A float64 problem on the same seed follows the same sketch: it agrees with the float32 answer to float32 accuracy. */
    @Test
    void float64AgreesWithFloat32() {
        int m = 300, n = 128, k = 8;
        try (Arena arena = Arena.ofConfined()) {
            Reference ref = gapped(m, n, k);
            TopKProblem p32 = SvdFixtures.problem(arena, m, n, k, ref.a(), MemorySegment.NULL, 42);
            MemorySegment a = arena.allocate(SvdFixtures.D, (long) m * n);
            for (long i = 0; i < (long) m * n; i++) a.setAtIndex(SvdFixtures.D, i, ref.a().getAtIndex(F, i));
            TopKProblem p64 = new TopKProblem(m, n, k, a, arena.allocate(SvdFixtures.D, k),
                    arena.allocate(SvdFixtures.D, (long) k * n), MemorySegment.NULL, 42, dev.eva4j.spi.DType.F64);
            svd.topK(List.of(p32, p64), Mode.LOWRANK);
            for (int i = 0; i < k; i++) {
                assertEquals(p64.singularValues().getAtIndex(SvdFixtures.D, i), p32.singularValues().getAtIndex(F, i),
                        SV_TOL * ref.s()[i], "sigma_" + i);
            }
        }
    }
}
