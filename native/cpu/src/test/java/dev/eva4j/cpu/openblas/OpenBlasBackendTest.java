package dev.eva4j.cpu.openblas;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.eva4j.cpu.ComputeBackendContract;
import dev.eva4j.spi.ComputeBackend;
import dev.eva4j.spi.Transpose;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Locale;
import java.util.ServiceLoader;
import org.junit.jupiter.api.Test;

/** The {@link ComputeBackendContract} for {@link OpenBlasBackend}, plus what is specific to it. */
class OpenBlasBackendTest extends ComputeBackendContract {
    private static final OpenBlasBackend BACKEND = new OpenBlasBackend();

    @Override
    protected ComputeBackend backend() {
        return BACKEND;
    }

    /** The contract skips when the backend is unavailable; on the platform we bundle for, that is a failure. */
    @Test
    void availableOnLinuxX86_64() {
        assumeTrue(System.getProperty("os.name").toLowerCase(Locale.ROOT).startsWith("linux")
                && System.getProperty("os.arch").equals("amd64"));
        assertTrue(BACKEND.isAvailable(), BACKEND.unavailableReason());
        assertTrue(BACKEND.availability().reason().contains("OpenBLAS"), BACKEND.availability().reason());
    }

    @Test
    void registeredAsServiceUnderItsName() {
        ComputeBackend found = ServiceLoader.load(ComputeBackend.class).stream().map(ServiceLoader.Provider::get)
                .filter(b -> b.name().equals("openblas")).findFirst().orElseThrow();
        assertTrue(found instanceof OpenBlasBackend);
        assertEquals(100, found.priority());
    }

    @Test
    void loopFallbackMatchesBatchedCall() {
        assumeTrue(OpenBlasFunctions.SGEMM_BATCH_STRIDED != null, "library has no cblas_sgemm_batch_strided");
        // above the size where the batched call is used (smaller ones crash OpenBLAS 0.3.31, see the backend)
        int m = 120, n = 100, k = 90, batch = 3, lda = 121, ldb = 90, ldc = 103;
        assertTrue((long) m * n * k > OpenBlasBackend.BATCHED_MIN_MULTIPLY_ADDS);
        long sA = (long) k * lda + 2, sB = 0, sC = (long) m * ldc;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment a = floats(arena, randomFloats((int) (sA * batch))), b = floats(arena, randomFloats(n * ldb));
            float[] c0 = randomFloats((int) (sC * batch));
            MemorySegment c1 = floats(arena, c0), c2 = floats(arena, c0);
            BACKEND.sgemmStridedBatched(Transpose.YES, Transpose.YES, m, n, k, 1.5f, a, lda, sA, b, ldb, sB, 0.5f,
                    c1, ldc, sC, batch);
            BACKEND.loopStridedBatched(Transpose.YES, Transpose.YES, m, n, k, 1.5f, a, lda, sA, b, ldb, sB, 0.5f,
                    c2, ldc, sC, batch);
            for (long i = 0; i < sC * batch; i++) {
                float x = c1.getAtIndex(ValueLayout.JAVA_FLOAT, i), y = c2.getAtIndex(ValueLayout.JAVA_FLOAT, i);
                assertEquals(y, x, 2e-4f * Math.max(1, Math.abs(y)), "element " + i + " seed=" + seed);
            }
            assertTrue(c1.getAtIndex(ValueLayout.JAVA_FLOAT, 0) != c0[0], "C was not written");
        }
    }

    /**
     * GEMMs large enough to be split across Java threads (by rows of C when it is tall, by columns when it is wide),
     * every transpose, leading dimensions with padding, beta != 0: split results equal the single call's to float
     * rounding, and against a float64 product.
     */
    @Test
    void splitGemmsMatchTheSingleCall() {
        int[][] shapes = {{301, 97, 80}, {90, 333, 70}}; // tall: rows split; wide: columns split
        OpenBlasBackend split = new OpenBlasBackend();
        split.setThreads(3);
        OpenBlasBackend single = new OpenBlasBackend();
        single.setThreads(1);
        for (int[] shape : shapes) {
            int m = shape[0], n = shape[1], k = shape[2];
            assertTrue((long) m * n * k >= OpenBlasBackend.SPLIT_MIN_MULTIPLY_ADDS);
            for (Transpose ta : Transpose.values()) {
                for (Transpose tb : Transpose.values()) {
                    int lda = (ta.on() ? m : k) + 3, ldb = (tb.on() ? k : n) + 5, ldc = n + 2;
                    int aRows = ta.on() ? k : m, bRows = tb.on() ? n : k;
                    float[] av = randomFloats(aRows * lda), bv = randomFloats(bRows * ldb), cv = randomFloats(m * ldc);
                    try (Arena arena = Arena.ofConfined()) {
                        MemorySegment a = floats(arena, av), b = floats(arena, bv);
                        MemorySegment c1 = floats(arena, cv), c2 = floats(arena, cv);
                        split.sgemm(ta, tb, m, n, k, 0.75f, a, lda, b, ldb, -0.5f, c1, ldc);
                        single.sgemm(ta, tb, m, n, k, 0.75f, a, lda, b, ldb, -0.5f, c2, ldc);
                        for (int i = 0; i < m; i++) {
                            for (int j = 0; j < ldc; j++) {
                                float x = c1.getAtIndex(ValueLayout.JAVA_FLOAT, (long) i * ldc + j);
                                float y = c2.getAtIndex(ValueLayout.JAVA_FLOAT, (long) i * ldc + j);
                                String where = ta + "/" + tb + " " + m + "x" + n + "x" + k + " (" + i + "," + j + ")";
                                if (j >= n) {
                                    assertEquals(cv[i * ldc + j], x, "padding untouched " + where);
                                    continue;
                                }
                                double ref = -0.5 * cv[i * ldc + j];
                                for (int p = 0; p < k; p++) {
                                    double aip = ta.on() ? av[p * lda + i] : av[i * lda + p];
                                    double bpj = tb.on() ? bv[j * ldb + p] : bv[p * ldb + j];
                                    ref += 0.75 * aip * bpj;
                                }
                                assertEquals(y, x, 1e-5f * Math.max(1, Math.abs(y)), where);
                                assertEquals(ref, x, 1e-4 * Math.max(1, Math.abs(ref)), where + " vs float64");
                            }
                        }
                    }
                }
            }
        }
    }

    /**
     * The thread model: while one thread runs batched products (split across Java threads, each product a
     * single-threaded OpenBLAS call) another changes the thread count with setThreads and reads it back. The reader
     * must always see the count it set, the products must stay right, and OpenBLAS's own process-wide count stays
     * 1 throughout (this backend never changes it after loading).
     */
    @Test
    void threadCountChangesDuringCallsAreSafe() throws Throwable {
        assumeTrue(BACKEND.isAvailable(), BACKEND.unavailableReason());
        int original = BACKEND.threads();
        int m = 24, n = 20, k = 16, batch = 6;
        float[] av = randomFloats(batch * m * k), bv = randomFloats(batch * k * n);
        float[] expected = new float[batch * m * n];
        for (int t = 0; t < batch; t++) {
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double acc = 0;
                    for (int p = 0; p < k; p++) acc += (double) av[t * m * k + i * k + p] * bv[t * k * n + p * n + j];
                    expected[t * m * n + i * n + j] = (float) acc;
                }
            }
        }
        java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
        java.util.concurrent.atomic.AtomicReference<Throwable> failure = new java.util.concurrent.atomic.AtomicReference<>();
        java.util.concurrent.atomic.AtomicInteger products = new java.util.concurrent.atomic.AtomicInteger();
        Thread worker = new Thread(() -> {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment a = floats(arena, av), b = floats(arena, bv), c = arena.allocate(4L * batch * m * n, 64);
                while (!stop.get()) {
                    BACKEND.sgemmStridedBatched(Transpose.NO, Transpose.NO, m, n, k, 1f, a, k, (long) m * k, b, n,
                            (long) k * n, 0f, c, n, (long) m * n, batch);
                    for (int i = 0; i < expected.length; i++) {
                        float x = c.getAtIndex(ValueLayout.JAVA_FLOAT, i);
                        if (Math.abs(x - expected[i]) > 1e-4f * Math.max(1, Math.abs(expected[i]))) {
                            throw new AssertionError("element " + i + ": " + x + " != " + expected[i]);
                        }
                    }
                    products.incrementAndGet();
                }
            } catch (Throwable e) {
                failure.set(e);
            }
        });
        worker.start();
        int wrong = 0;
        try {
            long deadline = System.nanoTime() + 30_000_000_000L;
            for (int round = 0; failure.get() == null && System.nanoTime() < deadline
                    && (round < 4000 || products.get() < 300); round++) {
                int want = 2 + round % 3;
                BACKEND.setThreads(want);
                for (int r = 0; r < 5; r++) if (BACKEND.threads() != want) wrong++;
            }
        } finally {
            stop.set(true);
            worker.join(60_000);
            BACKEND.setThreads(original);
        }
        System.out.println("thread-count test: " + products.get() + " batched products, " + wrong + " wrong reads");
        if (failure.get() != null) throw new AssertionError("batched products failed", failure.get());
        assertTrue(products.get() > 0, "the worker ran no product");
        assertEquals(0, wrong, "threads() read a count other than the one just set (" + products.get() + " products)");
        assertEquals(1, (int) OpenBlasFunctions.GET_NUM_THREADS.invokeExact(), "OpenBLAS's own thread count");
    }

    @Test
    void emptyBatchAndEmptyMatricesWriteNothing() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment c = floats(arena, new float[] {7f});
            BACKEND.sgemmStridedBatched(Transpose.NO, Transpose.NO, 1, 1, 1, 1f, c, 1, 1, c, 1, 1, 0f, c, 1, 1, 0);
            BACKEND.sgemm(Transpose.NO, Transpose.NO, 0, 1, 1, 1f, c, 1, c, 1, 0f, c, 1);
            assertEquals(7f, c.getAtIndex(ValueLayout.JAVA_FLOAT, 0));
            // k = 0: C = beta C
            BACKEND.sgemm(Transpose.NO, Transpose.NO, 1, 1, 0, 1f, MemorySegment.NULL, 1, MemorySegment.NULL, 1,
                    2f, c, 1);
            assertEquals(14f, c.getAtIndex(ValueLayout.JAVA_FLOAT, 0));
        }
    }

    @Test
    void heapSegmentsAreRejected() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment heap = MemorySegment.ofArray(new float[100]), nat = arena.allocate(400);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> BACKEND.sgemm(
                    Transpose.NO, Transpose.NO, 10, 10, 10, 1f, nat, 10, heap, 10, 0f, nat, 10));
            assertTrue(e.getMessage().startsWith("sgemm: B is a heap segment"), e.getMessage());
            MemorySegment heapD = MemorySegment.ofArray(new double[4]), s = arena.allocate(16);
            e = assertThrows(IllegalArgumentException.class, () -> BACKEND.dgesdd(2, 2, heapD, s, s, s));
            assertTrue(e.getMessage().startsWith("dgesdd: A is a heap segment"), e.getMessage());
        }
    }

    @Test
    void lapackOperandSizesAreChecked() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment big = arena.allocate(8L * 100), small = arena.allocate(8L * 3);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> BACKEND.sgesdd(5, 4, big, big, small, big));
            assertEquals("sgesdd: U holds 6 elements, needs 20 (m=5, n=4, U m x p, p=4)", e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> BACKEND.dsyevd(4, big, small));
            assertEquals("dsyevd: W holds 3 elements, needs 4 (n=4)", e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> BACKEND.ssyevd(-1, big, big));
        }
    }

    @Test
    void nanInputIsAnArithmeticException() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment a = floats(arena, new float[] {1, 2, Float.NaN, 4}), s = arena.allocate(8),
                    u = arena.allocate(16), vt = arena.allocate(16);
            ArithmeticException e = assertThrows(ArithmeticException.class, () -> BACKEND.sgesdd(2, 2, a, s, u, vt));
            assertTrue(e.getMessage().contains("LAPACKE_sgesdd") && e.getMessage().contains("NaN"), e.getMessage());
            MemorySegment w = arena.allocate(8);
            e = assertThrows(ArithmeticException.class, () -> BACKEND.ssyevd(2, floats(arena,
                    new float[] {1, Float.NaN, 0, 1}), w));
            assertTrue(e.getMessage().contains("LAPACKE_ssyevd"), e.getMessage());
        }
    }

    @Test
    void closedSegmentsAreRefused() {
        MemorySegment a;
        try (Arena arena = Arena.ofConfined()) {
            a = arena.allocate(4L * 10_000);
        }
        MemorySegment closed = a;
        assertThrows(IllegalStateException.class, () -> BACKEND.sgemm(Transpose.NO, Transpose.NO, 100, 100, 1, 1f,
                closed, 1, closed, 100, 0f, closed, 100));
    }
}
