package dev.eva4j.cpu.java;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** Householder + QL eigen on known spectra, repeated eigenvalues and a diagonal input. */
class SymmetricEigenTest {

    @Test
    void recoversAKnownSpectrumWithRepeatedValues() {
        int n = 20;
        Random rnd = new Random(11);
        double[] q = JacobiSvdTest.orthonormalColumns(rnd, n, n), lambda = new double[n];
        for (int i = 0; i < n; i++) lambda[i] = i < 5 ? 2.0 : i - 10; // 2.0 five times, then -5 .. 9
        double[] a = new double[n * n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                for (int k = 0; k < n; k++) a[i * n + j] += q[i * n + k] * lambda[k] * q[j * n + k];
            }
        }
        SymmetricEigen.Result r = SymmetricEigen.decompose(n, a);
        double[] want = lambda.clone();
        java.util.Arrays.sort(want);
        for (int i = 0; i < n; i++) assertEquals(want[i], r.values()[i], 1e-12, "eigenvalue " + i);
        assertEigenpairs(n, a, r, 1e-12);
    }

    @Test
    void diagonalInputGivesSortedDiagonalAndUnitVectors() {
        double[] a = {3, 0, 0, 0, -1, 0, 0, 0, 2};
        SymmetricEigen.Result r = SymmetricEigen.decompose(3, a);
        assertEquals(-1, r.values()[0], 1e-15);
        assertEquals(2, r.values()[1], 1e-15);
        assertEquals(3, r.values()[2], 1e-15);
        // eigenvector of -1 is e_1 (column 0), of 3 is e_0 (column 2); signs fixed positive
        assertEquals(1, r.vectors()[1 * 3 + 0], 1e-15);
        assertEquals(1, r.vectors()[0 * 3 + 2], 1e-15);
    }

    @Test
    void readsOnlyTheUpperTriangle() {
        int n = 30;
        Random rnd = new Random(12);
        double[] sym = new double[n * n], poisoned = new double[n * n];
        for (int i = 0; i < n; i++) {
            for (int j = i; j < n; j++) {
                sym[i * n + j] = sym[j * n + i] = rnd.nextGaussian();
            }
        }
        for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) poisoned[i * n + j] = j >= i ? sym[i * n + j] : Double.NaN;
        SymmetricEigen.Result r = SymmetricEigen.decompose(n, poisoned);
        assertEigenpairs(n, sym, r, 1e-12);
    }

    /** A v_j = w_j v_j for every column, columns orthonormal, values ascending. */
    static void assertEigenpairs(int n, double[] a, SymmetricEigen.Result r, double tol) {
        double scale = Math.max(1, Math.max(Math.abs(r.values()[0]), Math.abs(r.values()[n - 1])));
        for (int j = 1; j < n; j++) assertTrue(r.values()[j - 1] <= r.values()[j], "ascending at " + j);
        double[] v = r.vectors();
        for (int j = 0; j < n; j++) {
            for (int i = 0; i < n; i++) {
                double av = 0;
                for (int k = 0; k < n; k++) av += a[i * n + k] * v[k * n + j];
                assertEquals(r.values()[j] * v[i * n + j], av, tol * scale, "residual at (" + i + "," + j + ")");
            }
            for (int k = j; k < n; k++) {
                double d = 0;
                for (int i = 0; i < n; i++) d += v[i * n + j] * v[i * n + k];
                assertEquals(j == k ? 1 : 0, d, tol * 10, "columns " + j + "," + k);
            }
        }
    }
}
