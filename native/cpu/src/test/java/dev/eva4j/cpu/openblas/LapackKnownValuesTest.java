package dev.eva4j.cpu.openblas;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** LAPACKE results against values known in closed form, and how LAPACKE's info becomes an exception. */
class LapackKnownValuesTest {
    private final OpenBlasBackend backend = new OpenBlasBackend();

    @BeforeEach
    void needsLibrary() {
        assumeTrue(backend.isAvailable(), backend::unavailableReason);
    }

    /** Singular values of row-major m x n {@code a} through dgesdd. */
    private double[] dgesddValues(int m, int n, double... a) {
        int p = Math.min(m, n);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(8L * p);
            backend.dgesdd(m, n, arena.allocateFrom(ValueLayout.JAVA_DOUBLE, a), s, arena.allocate(8L * m * p),
                    arena.allocate(8L * p * n));
            return s.toArray(ValueLayout.JAVA_DOUBLE);
        }
    }

    @Test
    void dgesddSingularValuesOfKnownMatrices() {
        // [[3,2,2],[2,3,-2]]: A A^T = [[17,8],[8,17]], eigenvalues 25 and 9
        double[] s = dgesddValues(2, 3, 3, 2, 2, 2, 3, -2);
        assertEquals(5.0, s[0], 1e-13);
        assertEquals(3.0, s[1], 1e-13);
        // its transpose, tall
        s = dgesddValues(3, 2, 3, 2, 2, 3, 2, -2);
        assertEquals(5.0, s[0], 1e-13);
        assertEquals(3.0, s[1], 1e-13);
        // [[4,0],[3,-5]]: A^T A = [[25,-15],[-15,25]], eigenvalues 40 and 10
        s = dgesddValues(2, 2, 4, 0, 3, -5);
        assertEquals(Math.sqrt(40), s[0], 1e-13);
        assertEquals(Math.sqrt(10), s[1], 1e-13);
        // rank 1: outer product of (1,2,2) and (2,1): singular value |u| |v| = 3 sqrt(5), then 0
        s = dgesddValues(3, 2, 2, 1, 4, 2, 4, 2);
        assertEquals(3 * Math.sqrt(5), s[0], 1e-13);
        assertEquals(0.0, s[1], 1e-13);
    }

    @Test
    void dsyevdEigenvaluesOfAKnownMatrix() {
        // [[2,1],[1,2]]: eigenvalues 1 and 3, eigenvectors (1,-1)/sqrt2 and (1,1)/sqrt2 as columns
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment a = arena.allocateFrom(ValueLayout.JAVA_DOUBLE, 2, 1, -99 /* lower: not read */, 2);
            MemorySegment w = arena.allocate(16);
            backend.dsyevd(2, a, w);
            assertEquals(1.0, w.getAtIndex(ValueLayout.JAVA_DOUBLE, 0), 1e-14);
            assertEquals(3.0, w.getAtIndex(ValueLayout.JAVA_DOUBLE, 1), 1e-14);
            double r = Math.sqrt(0.5);
            // column 1 (eigenvalue 3) is +-(1,1)/sqrt2
            assertEquals(Math.abs(a.getAtIndex(ValueLayout.JAVA_DOUBLE, 1)), r, 1e-14);
            assertEquals(a.getAtIndex(ValueLayout.JAVA_DOUBLE, 1), a.getAtIndex(ValueLayout.JAVA_DOUBLE, 3), 1e-14);
        }
    }

    @Test
    void lapackeInfoBecomesAnExceptionNamingCallAndMeaning() {
        LapackeStatus.checkGesdd("LAPACKE_sgesdd", 0, "m=2, n=2");
        ArithmeticException notConverged = assertThrows(ArithmeticException.class,
                () -> LapackeStatus.checkGesdd("LAPACKE_sgesdd", 3, "m=2, n=2"));
        assertEquals("LAPACKE_sgesdd did not converge: the bidiagonal divide and conquer (?bdsdc) failed to converge"
                + " (info=3, m=2, n=2)", notConverged.getMessage());
        notConverged = assertThrows(ArithmeticException.class,
                () -> LapackeStatus.checkSyevd("LAPACKE_dsyevd", 7, 4, "n=4"));
        assertEquals("LAPACKE_dsyevd did not converge: it failed to compute an eigenvalue of the submatrix in rows and"
                + " columns 1 through 2 (info=7, n=4)", notConverged.getMessage());
        IllegalStateException bad = assertThrows(IllegalStateException.class,
                () -> LapackeStatus.checkSyevd("LAPACKE_dsyevd", -6, 4, "n=4"));
        assertEquals("LAPACKE_dsyevd: argument 6 (lda) had an illegal value (info=-6, n=4)", bad.getMessage());
        ArithmeticException nan = assertThrows(ArithmeticException.class,
                () -> LapackeStatus.checkGesdd("LAPACKE_dgesdd", -5, "m=1, n=1"));
        assertTrue(nan.getMessage().contains("NaN"), nan.getMessage());
        IllegalStateException memory = assertThrows(IllegalStateException.class,
                () -> LapackeStatus.checkSyevd("LAPACKE_ssyevd", -1010, 9, "n=9"));
        assertTrue(memory.getMessage().contains("could not allocate its workspace"), memory.getMessage());
    }
}
