package dev.eva4j.cpu.openblas;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.eva4j.spi.Transpose;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** The argument checks GEMMs pass before native code; no library needed. */
class GemmChecksTest {
    private static final Transpose N = Transpose.NO, T = Transpose.YES;

    private static String message(Executable call) {
        return assertThrows(IllegalArgumentException.class, call).getMessage();
    }

    @Test
    void namesTheOperandItsNeedAndWhatItHolds() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ten = arena.allocate(4L * 10), big = arena.allocate(4L * 1000);
            assertEquals("sgemm: A needs 370 floats (m=10, k=10, lda=40) but holds 10", message(() ->
                    GemmChecks.check("sgemm", N, N, 10, 10, 10, ten, 40, 0, big, 10, 0, big, 10, 0, 1)));
            assertEquals("sgemm: B needs 100 floats (n=10, k=10, transposed, ldb=10) but holds 10", message(() ->
                    GemmChecks.check("sgemm", N, T, 10, 10, 10, big, 10, 0, ten, 10, 0, big, 10, 0, 1)));
            assertEquals("sgemm: C needs 29 floats (m=2, n=9, ldc=20) but holds 10", message(() ->
                    GemmChecks.check("sgemm", N, N, 2, 9, 1, big, 1, 0, big, 9, 0, ten, 20, 0, 1)));
            assertEquals("sgemm: lda=5 is smaller than a row of 10 (m=10, k=10, lda=5)", message(() ->
                    GemmChecks.check("sgemm", N, N, 10, 10, 10, big, 5, 0, big, 10, 0, big, 10, 0, 1)));
            // transposed A is stored k x m: a row holds m
            assertEquals("sgemm: lda=3 is smaller than a row of 4 (k=2, m=4, transposed, lda=3)", message(() ->
                    GemmChecks.check("sgemm", T, N, 4, 1, 2, big, 3, 0, big, 1, 0, big, 1, 0, 1)));
            assertDoesNotThrow(() -> GemmChecks.check("sgemm", T, N, 4, 1, 2, big, 4, 0, big, 1, 0, big, 1, 0, 1));
        }
    }

    @Test
    void rejectsNegativeSizesAndStrides() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment big = arena.allocate(4L * 1000);
            assertEquals("sgemm: k must be >= 0 but is -1", message(() ->
                    GemmChecks.check("sgemm", N, N, 1, 1, -1, big, 1, 0, big, 1, 0, big, 1, 0, 1)));
            assertEquals("b: batch must be >= 0 but is -2", message(() ->
                    GemmChecks.check("b", N, N, 1, 1, 1, big, 1, 0, big, 1, 0, big, 1, 1, -2)));
            assertEquals("b: strideA must be >= 0 but is -1", message(() ->
                    GemmChecks.check("b", N, N, 1, 1, 1, big, 1, -1, big, 1, 0, big, 1, 1, 2)));
        }
    }

    @Test
    void batchedNeedsCoverEveryMatrixAndCMayNotOverlap() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment big = arena.allocate(4L * 1000), a = arena.allocate(4L * 59);
            // 4 matrices of 2 x 3 (lda 3), 20 apart: 3 * 20 + 6 = 66 floats
            assertEquals("b: A needs 66 floats (m=2, k=3, lda=3, batch=4, strideA=20) but holds 59", message(() ->
                    GemmChecks.check("b", N, N, 2, 2, 3, a, 3, 20, big, 2, 0, big, 2, 4, 4)));
            assertEquals("b: the C matrices overlap: strideC=3 but one C spans 4 floats (m=2, n=2, ldc=2, batch=4,"
                    + " strideC=3)", message(() ->
                    GemmChecks.check("b", N, N, 2, 2, 3, big, 3, 0, big, 2, 0, big, 2, 3, 4)));
            assertDoesNotThrow(() -> GemmChecks.check("b", N, N, 2, 2, 3, big, 3, 0, big, 2, 0, big, 2, 4, 4));
        }
    }

    @Test
    void batchSpanSaturatesInsteadOfOverflowing() {
        assertEquals(0, GemmChecks.batchSpan(0, 10, 5));
        assertEquals(25, GemmChecks.batchSpan(3, 10, 5));
        assertEquals(Long.MAX_VALUE, GemmChecks.batchSpan(3, Long.MAX_VALUE / 2, 5));
    }
}
