package com.example.eva4j.compute;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.eva4j.spi.Capability;
import dev.eva4j.spi.ComputeBackend;
import dev.eva4j.spi.Transpose;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import java.util.ServiceLoader;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** What the example backend declares, and its GEMM against a float64 loop (the kernels: NaiveBackendContractTest). */
class NaiveJavaBackendTest {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;
    private final NaiveJavaBackend backend = new NaiveJavaBackend();

    @Test
    void registeredAsAServiceBelowEva4jsBackends() {
        ComputeBackend found = ServiceLoader.load(ComputeBackend.class).stream().map(ServiceLoader.Provider::get)
                .filter(b -> b.name().equals("naive-java")).findFirst().orElseThrow();
        assertEquals(NaiveJavaBackend.class, found.getClass());
        assertTrue(found.isAvailable());
        assertTrue(found.priority() < 10, "below eva4j's java backend");
    }

    @Test
    void hostMemoryButNoNativeLinearAlgebra() {
        assertEquals(Set.of(Capability.HOST_MEMORY), backend.capabilities());
        assertFalse(backend.has(Capability.NATIVE_LINEAR_ALGEBRA));
        assertEquals("naive-java", backend.kernels().name());
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment m = arena.allocate(F, 4);
            UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class,
                    () -> backend.sgesdd(2, 2, m, m, m, m));
            assertTrue(e.getMessage().startsWith("naive-java has no host LAPACK (sgesdd)"), e.getMessage());
            assertThrows(UnsupportedOperationException.class, () -> backend.dsyevd(1, m, m));
        }
    }

    /** Every transpose pair, odd sizes, padded leading dimensions, alpha and beta, a batch with a shared B. */
    @Test
    void gemmMatchesAFloat64Loop() {
        Random rnd = new Random(11);
        int m = 7, n = 5, k = 3, batch = 3, pad = 2;
        for (Transpose ta : Transpose.values()) {
            for (Transpose tb : Transpose.values()) {
                int lda = (ta.on() ? m : k) + pad, ldb = (tb.on() ? k : n) + pad, ldc = n + pad;
                long strideA = (long) (ta.on() ? k : m) * lda, strideC = (long) m * ldc;
                try (Arena arena = Arena.ofConfined()) {
                    MemorySegment a = random(arena, batch * strideA, rnd);
                    MemorySegment b = random(arena, (long) (tb.on() ? n : k) * ldb, rnd); // shared: stride 0
                    MemorySegment c = random(arena, batch * strideC, rnd);
                    float[] before = c.toArray(F);
                    backend.sgemmStridedBatched(ta, tb, m, n, k, 1.5f, a, lda, strideA, b, ldb, 0, 0.5f, c, ldc,
                            strideC, batch);
                    for (int t = 0; t < batch; t++) {
                        for (int i = 0; i < m; i++) {
                            for (int j = 0; j < n; j++) {
                                double sum = 0;
                                for (int p = 0; p < k; p++) {
                                    double x = a.getAtIndex(F, t * strideA + (ta.on() ? p * lda + i : i * lda + p));
                                    double y = b.getAtIndex(F, tb.on() ? j * ldb + p : p * ldb + j);
                                    sum += x * y;
                                }
                                long at = t * strideC + (long) i * ldc + j;
                                double want = 1.5 * sum + 0.5 * before[(int) at];
                                assertEquals(want, c.getAtIndex(F, at), 1e-6 * Math.max(1, Math.abs(want)),
                                        ta + "/" + tb + " batch " + t + " (" + i + ", " + j + ")");
                            }
                            for (int j = n; j < ldc; j++) { // padding untouched
                                long at = t * strideC + (long) i * ldc + j;
                                assertEquals(before[(int) at], c.getAtIndex(F, at));
                            }
                        }
                    }
                }
            }
        }
    }

    @Test
    void betaZeroIgnoresWhatCHolds() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment a = arena.allocateFrom(F, 1, 2), b = arena.allocateFrom(F, 3, 4);
            MemorySegment c = arena.allocateFrom(F, Float.NaN);
            backend.sgemm(Transpose.NO, Transpose.NO, 1, 1, 2, 1f, a, 2, b, 1, 0f, c, 1);
            assertEquals(11f, c.getAtIndex(F, 0));
        }
    }

    @Test
    void aShortOperandIsNamed() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment a = arena.allocate(F, 6), b = arena.allocate(F, 5), c = arena.allocate(F, 4);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> backend.sgemm(Transpose.NO, Transpose.NO, 2, 2, 3, 1f, a, 3, b, 2, 0f, c, 2));
            assertEquals("sgemm: B holds 5 elements, needs 6 (m=2, n=2, k=3, batch=1, ldb=2)", e.getMessage());
            e = assertThrows(IllegalArgumentException.class,
                    () -> backend.sgemm(Transpose.NO, Transpose.NO, 2, 2, 3, 1f, a, 2, b, 2, 0f, c, 2));
            assertEquals("sgemm: lda=2 is below the 3 columns of A", e.getMessage());
        }
    }

    private static MemorySegment random(Arena arena, long n, Random rnd) {
        MemorySegment s = arena.allocate(F, n);
        for (long i = 0; i < n; i++) s.setAtIndex(F, i, (float) rnd.nextGaussian());
        return s;
    }
}
