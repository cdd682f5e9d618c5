package dev.eva4j.cpu;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.eva4j.spi.Transpose;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** The argument checks host GEMMs and LAPACK calls pass before native or Java work; no library needed. */
class HostArgsTest {
    private static final Transpose N = Transpose.NO, T = Transpose.YES;

    private static String message(Executable call) {
        return assertThrows(IllegalArgumentException.class, call).getMessage();
    }

    @Test
    void namesTheOperandItsNeedAndWhatItHolds() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ten = arena.allocate(4L * 10), big = arena.allocate(4L * 1000);
            assertEquals("sgemm: A holds 10 elements, needs 370 (m=10, k=10, lda=40)", message(() ->
                    HostArgs.gemm("sgemm", N, N, 10, 10, 10, ten, 40, 0, big, 10, 0, big, 10, 0, 1, true)));
            assertEquals("sgemm: B holds 10 elements, needs 100 (n=10, k=10, transposed, ldb=10)", message(() ->
                    HostArgs.gemm("sgemm", N, T, 10, 10, 10, big, 10, 0, ten, 10, 0, big, 10, 0, 1, true)));
            assertEquals("sgemm: C holds 10 elements, needs 29 (m=2, n=9, ldc=20)", message(() ->
                    HostArgs.gemm("sgemm", N, N, 2, 9, 1, big, 1, 0, big, 9, 0, ten, 20, 0, 1, true)));
            assertEquals("sgemm: lda=5 is smaller than a row of 10 (m=10, k=10, lda=5)", message(() ->
                    HostArgs.gemm("sgemm", N, N, 10, 10, 10, big, 5, 0, big, 10, 0, big, 10, 0, 1, true)));
            // transposed A is stored k x m: a row holds m
            assertEquals("sgemm: lda=3 is smaller than a row of 4 (k=2, m=4, transposed, lda=3)", message(() ->
                    HostArgs.gemm("sgemm", T, N, 4, 1, 2, big, 3, 0, big, 1, 0, big, 1, 0, 1, true)));
            assertDoesNotThrow(() -> HostArgs.gemm("sgemm", T, N, 4, 1, 2, big, 4, 0, big, 1, 0, big, 1, 0, 1, true));
        }
    }

    @Test
    void rejectsNegativeSizesAndStrides() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment big = arena.allocate(4L * 1000);
            assertEquals("sgemm: k must be >= 0, got -1", message(() ->
                    HostArgs.gemm("sgemm", N, N, 1, 1, -1, big, 1, 0, big, 1, 0, big, 1, 0, 1, true)));
            assertEquals("b: batch must be >= 0, got -2", message(() ->
                    HostArgs.gemm("b", N, N, 1, 1, 1, big, 1, 0, big, 1, 0, big, 1, 1, -2, true)));
            assertEquals("b: strideA must be >= 0, got -1", message(() ->
                    HostArgs.gemm("b", N, N, 1, 1, 1, big, 1, -1, big, 1, 0, big, 1, 1, 2, true)));
        }
    }

    @Test
    void batchedNeedsCoverEveryMatrixAndCMayNotOverlap() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment big = arena.allocate(4L * 1000), a = arena.allocate(4L * 59);
            // 4 matrices of 2 x 3 (lda 3), 20 apart: 3 * 20 + 6 = 66 floats
            assertEquals("b: A holds 59 elements, needs 66 (m=2, k=3, lda=3, batch=4, strideA=20)", message(() ->
                    HostArgs.gemm("b", N, N, 2, 2, 3, a, 3, 20, big, 2, 0, big, 2, 4, 4, true)));
            assertEquals("b: the C matrices overlap: strideC=3 but one C spans 4 floats (m=2, n=2, ldc=2, batch=4,"
                    + " strideC=3)", message(() ->
                    HostArgs.gemm("b", N, N, 2, 2, 3, big, 3, 0, big, 2, 0, big, 2, 3, 4, true)));
            assertDoesNotThrow(() -> HostArgs.gemm("b", N, N, 2, 2, 3, big, 3, 0, big, 2, 0, big, 2, 4, 4, true));
        }
    }

    @Test
    void heapNullAndReadOnlySegments() {
        MemorySegment heap = MemorySegment.ofArray(new float[4]);
        assertEquals("gesdd: A is a heap segment; native code needs a native one (allocate it from an Arena)",
                message(() -> HostArgs.operand("gesdd", "A", heap, 4, 4, "m=2, n=2", true, false)));
        assertDoesNotThrow(() -> HostArgs.operand("gesdd", "A", heap, 4, 4, "m=2, n=2", false, true));
        assertEquals("gesdd: A is null (m=2, n=2)",
                message(() -> HostArgs.operand("gesdd", "A", null, 4, 4, "m=2, n=2", true, true)));
        assertEquals("gesdd: A is written but the segment is read-only",
                message(() -> HostArgs.operand("gesdd", "A", heap.asReadOnly(), 4, 4, "m=2, n=2", false, true)));
    }

    @Test
    void batchSpanSaturatesInsteadOfOverflowing() {
        assertEquals(0, HostArgs.batchSpan(0, 10, 5));
        assertEquals(25, HostArgs.batchSpan(3, 10, 5));
        assertEquals(Long.MAX_VALUE, HostArgs.batchSpan(3, Long.MAX_VALUE / 2, 5));
    }
}
