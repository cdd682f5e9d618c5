package dev.eva4j.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.eva4j.spi.ComputeBackend;
import dev.eva4j.spi.Transpose;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * What every {@link ComputeBackend} must do, checked against a plain-Java float64 reference on fresh random inputs
 * (the seed is printed on failure). Subclasses name the backend under test.
 */
public abstract class ComputeBackendContract {

    protected abstract ComputeBackend backend();

    protected long seed;
    protected Random rnd;

    @BeforeEach
    void freshSeed() {
        seed = System.nanoTime();
        rnd = new Random(seed);
        assumeTrue(backend().isAvailable(), () -> backend().name() + " unavailable: " + backend().unavailableReason());
    }

    // ---- helpers ----------------------------------------------------------------------------------------------

    protected static MemorySegment floats(Arena arena, float[] v) {
        return arena.allocateFrom(ValueLayout.JAVA_FLOAT, v);
    }

    protected static MemorySegment doubles(Arena arena, double[] v) {
        return arena.allocateFrom(ValueLayout.JAVA_DOUBLE, v);
    }

    protected float[] randomFloats(int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (rnd.nextGaussian());
        return v;
    }

    /** Reference: C = alpha op(A) op(B) + beta C in float64; also returns the magnitude bound per element. */
    static double[][] refGemm(boolean ta, boolean tb, int m, int n, int k, double alpha, float[] a, int lda,
                              float[] b, int ldb, double beta, float[] c, int ldc, int offA, int offB, int offC) {
        double[] out = new double[m * n];
        double[] mag = new double[m * n];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0, sa = 0;
                for (int p = 0; p < k; p++) {
                    double av = ta ? a[offA + p * lda + i] : a[offA + i * lda + p];
                    double bv = tb ? b[offB + j * ldb + p] : b[offB + p * ldb + j];
                    s += av * bv;
                    sa += Math.abs(av * bv);
                }
                double cv = c[offC + i * ldc + j];
                out[i * n + j] = alpha * s + beta * cv;
                mag[i * n + j] = Math.abs(alpha) * sa + Math.abs(beta * cv);
            }
        }
        return new double[][] {out, mag};
    }

    private void checkGemm(boolean ta, boolean tb, int m, int n, int k, int padA, int padB, int padC,
                           float alpha, float beta) {
        int lda = (ta ? m : k) + padA, ldb = (tb ? k : n) + padB, ldc = n + padC;
        int rowsA = ta ? k : m, rowsB = tb ? n : k;
        float[] a = randomFloats(rowsA * lda), b = randomFloats(rowsB * ldb), c = randomFloats(m * ldc);
        double[][] ref = refGemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, 0, 0, 0);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment sc = floats(arena, c);
            backend().sgemm(Transpose.of(ta), Transpose.of(tb), m, n, k, alpha, floats(arena, a), lda,
                    floats(arena, b), ldb, beta, sc, ldc);
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < ldc; j++) {
                    float got = sc.getAtIndex(ValueLayout.JAVA_FLOAT, (long) i * ldc + j);
                    if (j >= n) {
                        assertEquals(c[i * ldc + j], got, 0f, "padding of C was written at (" + i + "," + j + ")");
                        continue;
                    }
                    double want = ref[0][i * n + j], tol = 1e-5 * ref[1][i * n + j] + 1e-30;
                    if (Math.abs(got - want) > tol) {
                        throw new AssertionError(String.format(
                                "%s sgemm ta=%s tb=%s m=%d n=%d k=%d: C(%d,%d)=%g want %g (tol %g) seed=%d",
                                backend().name(), ta, tb, m, n, k, i, j, got, want, tol, seed));
                    }
                }
            }
        }
    }

    // ---- GEMM ---------------------------------------------------------------------------------------------------

    @ParameterizedTest(name = "ta={0} tb={1}")
    @CsvSource({"false,false", "false,true", "true,false", "true,true"})
    void sgemmEveryTransposeWithPaddedLeadingDims(boolean ta, boolean tb) {
        checkGemm(ta, tb, 37, 29, 45, 3, 5, 2, 1.0f, 0.0f);
        checkGemm(ta, tb, 64, 48, 80, 0, 0, 0, 0.5f, -1.5f);
        checkGemm(ta, tb, 1, 1, 1, 0, 1, 0, 2.0f, 1.0f);
        checkGemm(ta, tb, 131, 7, 257, 1, 0, 9, -1.0f, 0.25f);
        checkGemm(ta, tb, 5, 300, 3, 0, 0, 0, 1.0f, 1.0f);
    }

    @Test
    void sgemmLargerThanCacheBlocks() {
        checkGemm(false, false, 300, 260, 520, 0, 0, 0, 1.0f, 0.0f);
        checkGemm(true, true, 257, 301, 129, 2, 3, 4, 1.0f, 1.0f);
    }

    @Test
    void sgemmRejectsTooSmallOperands() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment small = arena.allocate(4L * 10), big = arena.allocate(4L * 1000);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> backend().sgemm(
                    Transpose.NO, Transpose.NO, 10, 10, 10, 1f, small, 10, big, 10, 0f, big, 10));
            assertTrue(e.getMessage().contains("A"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> backend().sgemm(
                    Transpose.NO, Transpose.NO, 10, 10, 10, 1f, big, 5, big, 10, 0f, big, 10));
        }
    }

    @Test
    void stridedBatchedMatchesIndependentGemms() {
        int m = 19, n = 23, k = 17, batch = 5;
        for (boolean ta : new boolean[] {false, true}) {
            for (boolean tb : new boolean[] {false, true}) {
                int lda = (ta ? m : k) + 1, ldb = (tb ? k : n), ldc = n + 2;
                long sA = (long) (ta ? k : m) * lda + 3, sB = 0 /* B shared */, sC = (long) m * ldc + 1;
                float[] a = randomFloats((int) (sA * batch)), b = randomFloats((tb ? n : k) * ldb);
                float[] c = randomFloats((int) (sC * batch));
                float alpha = 0.75f, beta = 0.5f;
                try (Arena arena = Arena.ofConfined()) {
                    MemorySegment sc = floats(arena, c);
                    backend().sgemmStridedBatched(Transpose.of(ta), Transpose.of(tb), m, n, k, alpha,
                            floats(arena, a), lda, sA, floats(arena, b), ldb, sB, beta, sc, ldc, sC, batch);
                    for (int t = 0; t < batch; t++) {
                        double[][] ref = refGemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc,
                                (int) (t * sA), 0, (int) (t * sC));
                        for (int i = 0; i < m; i++) {
                            for (int j = 0; j < n; j++) {
                                float got = sc.getAtIndex(ValueLayout.JAVA_FLOAT, t * sC + (long) i * ldc + j);
                                double want = ref[0][i * n + j];
                                assertTrue(Math.abs(got - want) <= 1e-5 * ref[1][i * n + j] + 1e-30,
                                        () -> "batch " + backend().name() + " got " + got + " want " + want
                                                + " seed=" + seed);
                            }
                        }
                    }
                }
            }
        }
    }

    // ---- SVD ----------------------------------------------------------------------------------------------------

    @ParameterizedTest(name = "{0}x{1}")
    @CsvSource({"40,25", "25,40", "33,33", "1,7", "64,3"})
    void gesddReconstructsWithOrthonormalFactors(int m, int n) {
        int p = Math.min(m, n);
        float[] a = randomFloats(m * n);
        for (boolean dbl : new boolean[] {false, true}) {
            try (Arena arena = Arena.ofConfined()) {
                ValueLayout el = dbl ? ValueLayout.JAVA_DOUBLE : ValueLayout.JAVA_FLOAT;
                MemorySegment sa = arena.allocate(el.byteSize() * m * n);
                for (int i = 0; i < m * n; i++) put(sa, el, i, a[i]);
                MemorySegment s = arena.allocate(el.byteSize() * p), u = arena.allocate(el.byteSize() * m * p),
                        vt = arena.allocate(el.byteSize() * p * n);
                if (dbl) backend().dgesdd(m, n, sa, s, u, vt);
                else backend().sgesdd(m, n, sa, s, u, vt);
                double tol = dbl ? 1e-10 : 2e-5;
                double norm = 0;
                for (float x : a) norm = Math.max(norm, Math.abs(x));
                for (int i = 1; i < p; i++) {
                    assertTrue(get(s, el, i - 1) >= get(s, el, i) && get(s, el, i) >= 0, "singular values descending");
                }
                for (int i = 0; i < m; i++) {
                    for (int j = 0; j < n; j++) {
                        double r = 0;
                        for (int q = 0; q < p; q++) r += get(u, el, i * p + q) * get(s, el, q) * get(vt, el, q * n + j);
                        double err = Math.abs(r - a[i * n + j]);
                        assertTrue(err <= tol * Math.max(1, get(s, el, 0)), backend().name()
                                + (dbl ? " dgesdd" : " sgesdd") + " reconstruction error " + err + " seed=" + seed);
                    }
                }
                assertOrthonormal(u, el, m, p, true, tol, "U");
                assertOrthonormal(vt, el, p, n, false, tol, "Vt");
            }
        }
    }

    // ---- symmetric eigen ----------------------------------------------------------------------------------------

    @ParameterizedTest(name = "n={0}")
    @CsvSource({"1", "2", "17", "64"})
    void syevdSatisfiesEigenEquation(int n) {
        double[] sym = new double[n * n];
        for (int i = 0; i < n; i++) {
            for (int j = i; j < n; j++) {
                double v = rnd.nextGaussian();
                sym[i * n + j] = v;
                sym[j * n + i] = v;
            }
        }
        for (boolean dbl : new boolean[] {false, true}) {
            try (Arena arena = Arena.ofConfined()) {
                ValueLayout el = dbl ? ValueLayout.JAVA_DOUBLE : ValueLayout.JAVA_FLOAT;
                MemorySegment a = arena.allocate(el.byteSize() * n * n), w = arena.allocate(el.byteSize() * n);
                // only the upper triangle is read: poison the strict lower one
                for (int i = 0; i < n; i++) {
                    for (int j = 0; j < n; j++) put(a, el, i * n + j, j >= i ? sym[i * n + j] : 1e6);
                }
                float[] asF = new float[n * n];
                for (int i = 0; i < n * n; i++) asF[i] = (float) sym[i];
                if (dbl) backend().dsyevd(n, a, w);
                else backend().ssyevd(n, a, w);
                double tol = dbl ? 1e-10 : 5e-5;
                for (int j = 1; j < n; j++) assertTrue(get(w, el, j - 1) <= get(w, el, j), "eigenvalues ascending");
                double scale = Math.max(Math.abs(get(w, el, 0)), Math.abs(get(w, el, n - 1)));
                for (int j = 0; j < n; j++) {
                    for (int i = 0; i < n; i++) {
                        double av = 0;
                        for (int q = 0; q < n; q++) av += (dbl ? sym[i * n + q] : asF[i * n + q]) * get(a, el, q * n + j);
                        double err = Math.abs(av - get(w, el, j) * get(a, el, i * n + j));
                        assertTrue(err <= tol * Math.max(1, scale), backend().name() + " syevd residual " + err
                                + " (double=" + dbl + ") seed=" + seed);
                    }
                }
                assertOrthonormal(a, el, n, n, true, tol, "eigenvectors");
            }
        }
    }

    // ---- threads ------------------------------------------------------------------------------------------------

    @Test
    void threadCountIsSettable() {
        int before = backend().threads();
        assertTrue(before >= 1);
        try {
            backend().setThreads(1);
            assertEquals(1, backend().threads());
            checkGemm(false, false, 70, 70, 70, 0, 0, 0, 1f, 0f);
        } finally {
            backend().setThreads(before);
        }
        assertThrows(IllegalArgumentException.class, () -> backend().setThreads(0));
    }

    // ---- utilities ----------------------------------------------------------------------------------------------

    static void put(MemorySegment s, ValueLayout el, long i, double v) {
        if (el == ValueLayout.JAVA_DOUBLE) s.setAtIndex(ValueLayout.JAVA_DOUBLE, i, v);
        else s.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) v);
    }

    static double get(MemorySegment s, ValueLayout el, long i) {
        return el == ValueLayout.JAVA_DOUBLE ? s.getAtIndex(ValueLayout.JAVA_DOUBLE, i)
                : s.getAtIndex(ValueLayout.JAVA_FLOAT, i);
    }

    /** Columns (byColumns) or rows of a rows x cols matrix are orthonormal. */
    void assertOrthonormal(MemorySegment x, ValueLayout el, int rows, int cols, boolean byColumns, double tol,
                           String what) {
        int count = byColumns ? cols : rows, len = byColumns ? rows : cols;
        for (int p = 0; p < count; p++) {
            for (int q = p; q < count; q++) {
                double dot = 0;
                for (int i = 0; i < len; i++) {
                    dot += byColumns ? get(x, el, (long) i * cols + p) * get(x, el, (long) i * cols + q)
                            : get(x, el, (long) p * cols + i) * get(x, el, (long) q * cols + i);
                }
                double want = p == q ? 1 : 0;
                assertEquals(want, dot, tol * 10, backend().name() + " " + what + " not orthonormal at " + p + ","
                        + q + " seed=" + seed);
            }
        }
    }
}
