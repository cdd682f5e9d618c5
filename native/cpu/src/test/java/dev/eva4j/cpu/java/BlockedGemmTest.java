package dev.eva4j.cpu.java;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.eva4j.spi.Transpose;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import java.util.stream.Stream;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

/**
 * The blocked GEMM path at sizes that cross every block boundary (MR, NR, KC, MC, NC) and leave ragged edges,
 * the degenerate cases (k = 0, alpha = 0), the arenas that decide whether workers read operands in place or from
 * heap copies, and argument checks. Reference: float64 dot products; tolerance 1e-5 of the sum of |terms|.
 */
class BlockedGemmTest {
    private static final int MR = GemmKernel.MR, NR = GemmKernel.NR;
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;
    private final JavaBackend backend = new JavaBackend();
    private final long seed = 20240601L;

    /** Sizes from the block constants, so they keep crossing the boundaries if the constants change. */
    static Stream<Arguments> boundaryCases() {
        int mc = BlockedGemm.MC, kc = BlockedGemm.KC, nc = BlockedGemm.NC;
        return Stream.of(
                // ragged micro-tiles in m and n, k one past a KC block, m one micro-tile and a row past an MC block
                Arguments.of(false, false, mc + MR + 1, 3 * NR + 5, kc + 1, "confined", 2),
                Arguments.of(true, false, mc + MR + 1, 3 * NR + 5, kc + 1, "shared", 2),
                Arguments.of(false, true, mc + MR + 1, 3 * NR + 5, kc + 1, "heap", 2),
                Arguments.of(true, true, mc + MR + 1, 3 * NR + 5, kc + 1, "shared", 1),
                // n one micro-panel and a bit past an NC block, two KC blocks plus a remainder (one thread, so
                // the band is not halved below NC; then two threads over 2 NC + 3 NR + 1, each band crossing NC)
                Arguments.of(false, false, MR + 1, nc + NR + 3, 2 * kc + 7, "shared", 1),
                Arguments.of(true, true, MR + 1, nc + NR + 3, 2 * kc + 7, "confined", 1),
                Arguments.of(true, false, MR + 1, 2 * nc + 3 * NR + 1, kc - 1, "shared", 2),
                // tall: the threads split the rows; m crosses two MC blocks, n below one micro-panel
                Arguments.of(false, true, 2 * mc + 5, NR - 3, 300, "shared", 2),
                Arguments.of(true, false, 2 * mc + 5, NR - 3, 300, "confined", 3),
                // exact multiples of the micro-tile
                Arguments.of(false, false, 4 * MR, 4 * NR, 64, "shared", 2));
    }

    @ParameterizedTest(name = "ta={0} tb={1} {2}x{3}x{4} {5} threads={6}")
    @MethodSource("boundaryCases")
    void blockedMatchesReference(boolean ta, boolean tb, int m, int n, int k, String arena, int threads) {
        backend.setThreads(threads);
        Random rnd = new Random(seed + m * 31L + n);
        int lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 1, ldc = n + 2;
        float[] a = gaussian(rnd, (ta ? k : m) * lda), b = gaussian(rnd, (tb ? n : k) * ldb), c = gaussian(rnd, m * ldc);
        float alpha = 0.75f, beta = -0.5f;
        float[] got = run(arena, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        assertClose(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, got);
    }

    @Test
    void oneAndTwoThreadsGiveIdenticalBits() {
        Random rnd = new Random(seed);
        int m = 150, n = 333, k = 270;
        float[] a = gaussian(rnd, m * k), b = gaussian(rnd, k * n), c = new float[m * n];
        backend.setThreads(1);
        float[] one = run("shared", false, false, m, n, k, 1f, a, k, b, n, 0f, c, n);
        backend.setThreads(2);
        float[] two = run("shared", false, false, m, n, k, 1f, a, k, b, n, 0f, c, n);
        assertArrayEquals(one, two);
        assertTrue(one[0] != 0f, "product is not all zero");
    }

    @Test
    void zeroDepthOnlyScalesC() {
        Random rnd = new Random(seed);
        int m = 40, n = 50, ldc = 53;
        float[] c = gaussian(rnd, m * ldc);
        float[] got = run("confined", false, false, m, n, 0, 2f, new float[0], 1, new float[0], n, 0.5f, c, ldc);
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < ldc; j++) {
                float want = j < n ? 0.5f * c[i * ldc + j] : c[i * ldc + j];
                assertEquals(want, got[i * ldc + j], 0f, "C(" + i + "," + j + ")");
            }
        }
    }

    @Test
    void betaZeroClearsNaNAndAlphaZeroIgnoresAB() {
        int m = 70, n = 90, k = 80;
        float[] nan = new float[Math.max(m, n) * k];
        java.util.Arrays.fill(nan, Float.NaN);
        float[] c = new float[m * n];
        java.util.Arrays.fill(c, Float.NaN);
        float[] ones = new float[Math.max(m, n) * k];
        java.util.Arrays.fill(ones, 1f);
        // beta = 0: NaN in C must not survive
        float[] got = run("shared", false, false, m, n, k, 1f, ones, k, ones, n, 0f, c, n);
        for (float v : got) assertEquals(k, v, 0f);
        // alpha = 0: A and B are not read (their NaNs do not reach C); C = beta C
        float[] c2 = new float[m * n];
        java.util.Arrays.fill(c2, 3f);
        got = run("confined", false, false, m, n, k, 0f, nan, k, nan, n, 2f, c2, n);
        for (float v : got) assertEquals(6f, v, 0f);
    }

    @Test
    void stridedBatchSharesAStrideZeroOperandAndRejectsOverlappingC() {
        Random rnd = new Random(seed);
        int m = 33, n = 41, k = 29, batch = 3;
        float[] a = gaussian(rnd, m * k), b = gaussian(rnd, batch * k * n), c = new float[batch * m * n];
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment sc = arena.allocateFrom(F, c);
            backend.sgemmStridedBatched(Transpose.NO, Transpose.NO, m, n, k, 1f, arena.allocateFrom(F, a), k, 0,
                    arena.allocateFrom(F, b), n, (long) k * n, 0f, sc, n, (long) m * n, batch);
            for (int t = 0; t < batch; t++) {
                float[] bt = java.util.Arrays.copyOfRange(b, t * k * n, (t + 1) * k * n);
                float[] ct = sc.asSlice((long) t * m * n * 4, (long) m * n * 4).toArray(F);
                assertClose(false, false, m, n, k, 1f, a, k, bt, n, 0f, new float[m * n], n, ct);
            }
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () ->
                    backend.sgemmStridedBatched(Transpose.NO, Transpose.NO, m, n, k, 1f, arena.allocateFrom(F, a), k,
                            0, arena.allocateFrom(F, b), n, (long) k * n, 0f, sc, n, 0, batch));
            assertTrue(e.getMessage().contains("C"), e.getMessage());
        }
    }

    @Test
    void rejectionsNameTheOperand() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment big = arena.allocate(4L * 1000), small = arena.allocate(4L * 50);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> backend.sgemm(
                    Transpose.NO, Transpose.YES, 10, 10, 10, 1f, big, 10, small, 10, 0f, big, 10));
            assertTrue(e.getMessage().startsWith("sgemm: B holds 50 elements, needs 100"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> backend.sgemm(
                    Transpose.NO, Transpose.NO, 10, 10, 10, 1f, big, 10, big, 10, 0f, big, 9));
            assertTrue(e.getMessage().startsWith("sgemm: ldc=9 is smaller than a row of 10"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> backend.sgemm(
                    Transpose.NO, Transpose.NO, -1, 10, 10, 1f, big, 10, big, 10, 0f, big, 10));
        }
    }

    // ---- helpers ------------------------------------------------------------------------------------------------

    /** Runs sgemm with operands in the named kind of segment and returns C as stored afterwards. */
    private float[] run(String arenaKind, boolean ta, boolean tb, int m, int n, int k, float alpha, float[] a, int lda,
                        float[] b, int ldb, float beta, float[] c, int ldc) {
        if (arenaKind.equals("heap")) {
            float[] out = c.clone();
            backend.sgemm(Transpose.of(ta), Transpose.of(tb), m, n, k, alpha, MemorySegment.ofArray(a.clone()), lda,
                    MemorySegment.ofArray(b.clone()), ldb, beta, MemorySegment.ofArray(out), ldc);
            return out;
        }
        try (Arena arena = arenaKind.equals("shared") ? Arena.ofShared() : Arena.ofConfined()) {
            MemorySegment sc = arena.allocateFrom(F, c);
            backend.sgemm(Transpose.of(ta), Transpose.of(tb), m, n, k, alpha, arena.allocateFrom(F, a), lda,
                    arena.allocateFrom(F, b), ldb, beta, sc, ldc);
            return sc.toArray(F);
        }
    }

    private void assertClose(boolean ta, boolean tb, int m, int n, int k, float alpha, float[] a, int lda, float[] b,
                             int ldb, float beta, float[] c, int ldc, float[] got) {
        double maxErr = 0;
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < ldc; j++) {
                if (j >= n) {
                    assertEquals(c[i * ldc + j], got[i * ldc + j], 0f, "padding of C written at (" + i + "," + j + ")");
                    continue;
                }
                double s = 0, mag = 0;
                for (int p = 0; p < k; p++) {
                    double t = (double) (ta ? a[p * lda + i] : a[i * lda + p]) * (tb ? b[j * ldb + p] : b[p * ldb + j]);
                    s += t;
                    mag += Math.abs(t);
                }
                double want = alpha * s + beta * c[i * ldc + j];
                double err = Math.abs(got[i * ldc + j] - want);
                maxErr = Math.max(maxErr, err);
                double tol = 1e-5 * (Math.abs(alpha) * mag + Math.abs(beta * c[i * ldc + j])) + 1e-30;
                if (err > tol) {
                    throw new AssertionError(String.format("ta=%s tb=%s %dx%dx%d: C(%d,%d)=%g want %g (tol %g, "
                            + "first C %g) seed=%d", ta, tb, m, n, k, i, j, got[i * ldc + j], want, tol, got[0], seed));
                }
            }
        }
    }

    static float[] gaussian(Random rnd, int count) {
        float[] v = new float[count];
        for (int i = 0; i < count; i++) v[i] = (float) rnd.nextGaussian();
        return v;
    }
}
