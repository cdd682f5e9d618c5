package dev.eva4j.cpu.java;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** One-sided Jacobi SVD on the hard cases: rank-deficient, zero, ill-conditioned, wide versus tall. */
class JacobiSvdTest {
    private static final long SEED = 7L;

    @ParameterizedTest(name = "{0}x{1} rank {2}")
    @CsvSource({"60,40,7", "40,60,7", "30,30,1", "50,20,19"})
    void rankDeficientGivesZerosAndStillOrthonormalFactors(int m, int n, int rank) {
        Random rnd = new Random(SEED);
        double[] x = gaussian(rnd, m * rank), y = gaussian(rnd, rank * n), a = new double[m * n];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                for (int q = 0; q < rank; q++) a[i * n + j] += x[i * rank + q] * y[q * n + j];
            }
        }
        JacobiSvd.Result r = JacobiSvd.decompose(m, n, a);
        int p = Math.min(m, n);
        assertTrue(r.s()[rank - 1] > 1e-3 * r.s()[0], "the first " + rank + " values are not negligible");
        for (int q = rank; q < p; q++) {
            assertTrue(r.s()[q] <= 1e-13 * r.s()[0], "s[" + q + "] = " + r.s()[q] + " should vanish");
        }
        assertFactorisation(m, n, a, r, 1e-12);
    }

    @Test
    void zeroMatrixHasZeroValuesAndOrthonormalFactors() {
        int m = 9, n = 5;
        JacobiSvd.Result r = JacobiSvd.decompose(m, n, new double[m * n]);
        for (double s : r.s()) assertEquals(0, s, 0);
        assertFactorisation(m, n, new double[m * n], r, 1e-14);
    }

    @Test
    void illConditionedKeepsSmallSingularValues() {
        // A = Q1 diag(s) Q2^T with s from 1 down to 1e-12: each value to within eps * ||A|| absolute
        int m = 45, n = 30;
        Random rnd = new Random(SEED);
        double[] q1 = orthonormalColumns(rnd, m, n), q2 = orthonormalColumns(rnd, n, n), s = new double[n];
        for (int i = 0; i < n; i++) s[i] = Math.pow(10, -12.0 * i / (n - 1));
        double[] a = new double[m * n];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                for (int q = 0; q < n; q++) a[i * n + j] += q1[i * n + q] * s[q] * q2[j * n + q];
            }
        }
        JacobiSvd.Result r = JacobiSvd.decompose(m, n, a);
        for (int i = 0; i < n; i++) {
            assertEquals(s[i], r.s()[i], 1e-14, "s[" + i + "]");
        }
        assertTrue(Math.abs(r.s()[n - 1] - 1e-12) <= 1e-2 * 1e-12, "smallest value relative error, got " + r.s()[n - 1]);
        assertFactorisation(m, n, a, r, 1e-13);
    }

    @Test
    void wideIsTheTransposeOfTall() {
        int m = 23, n = 37;
        double[] a = gaussian(new Random(SEED), m * n), at = new double[n * m];
        for (int i = 0; i < m; i++) for (int j = 0; j < n; j++) at[j * m + i] = a[i * n + j];
        JacobiSvd.Result wide = JacobiSvd.decompose(m, n, a), tall = JacobiSvd.decompose(n, m, at);
        for (int q = 0; q < m; q++) assertEquals(tall.s()[q], wide.s()[q], 1e-12 * wide.s()[0]);
        assertFactorisation(m, n, a, wide, 1e-12);
    }

    @Test
    void signsAreFixedByTheLargestComponentOfEachLeftVector() {
        int m = 12, n = 8;
        JacobiSvd.Result r = JacobiSvd.decompose(m, n, gaussian(new Random(SEED), m * n));
        for (int q = 0; q < n; q++) {
            double[] col = new double[m];
            for (int i = 0; i < m; i++) col[i] = r.u()[i * n + q];
            assertTrue(JacobiSvd.largestComponent(col) > 0, "column " + q + " of U");
        }
    }

    @Test
    void tooFewSweepsThrowsArithmeticException() {
        int n = 12;
        Random rnd = new Random(SEED);
        double[][] w = new double[n][], v = new double[n][n];
        for (int j = 0; j < n; j++) {
            w[j] = gaussian(rnd, n);
            v[j][j] = 1;
        }
        ArithmeticException e = assertThrows(ArithmeticException.class, () -> JacobiSvd.orthogonalise(w, v, n, 1));
        assertTrue(e.getMessage().contains("did not converge"), e.getMessage());
    }

    // ---- helpers ------------------------------------------------------------------------------------------------

    /** U (m x p) and Vt (p x n) orthonormal, values descending and >= 0, U diag(s) Vt = A, all to tol * max(1, s0). */
    static void assertFactorisation(int m, int n, double[] a, JacobiSvd.Result r, double tol) {
        int p = Math.min(m, n);
        double scale = Math.max(1, r.s()[0]);
        for (int q = 1; q < p; q++) assertTrue(r.s()[q - 1] >= r.s()[q] && r.s()[q] >= 0, "descending at " + q);
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double sum = 0;
                for (int q = 0; q < p; q++) sum += r.u()[i * p + q] * r.s()[q] * r.vt()[q * n + j];
                assertEquals(a[i * n + j], sum, tol * scale, "reconstruction at (" + i + "," + j + ")");
            }
        }
        for (int x = 0; x < p; x++) {
            for (int y = x; y < p; y++) {
                double du = 0, dv = 0;
                for (int i = 0; i < m; i++) du += r.u()[i * p + x] * r.u()[i * p + y];
                for (int j = 0; j < n; j++) dv += r.vt()[x * n + j] * r.vt()[y * n + j];
                assertEquals(x == y ? 1 : 0, du, tol * 10, "U columns " + x + "," + y);
                assertEquals(x == y ? 1 : 0, dv, tol * 10, "Vt rows " + x + "," + y);
            }
        }
    }

    static double[] gaussian(Random rnd, int count) {
        double[] v = new double[count];
        for (int i = 0; i < count; i++) v[i] = rnd.nextGaussian();
        return v;
    }

    /** A rows x cols (rows >= cols) matrix with orthonormal columns, by modified Gram-Schmidt on Gaussians. */
    static double[] orthonormalColumns(Random rnd, int rows, int cols) {
        double[] q = gaussian(rnd, rows * cols);
        for (int j = 0; j < cols; j++) {
            for (int pass = 0; pass < 2; pass++) {
                for (int k = 0; k < j; k++) {
                    double d = 0;
                    for (int i = 0; i < rows; i++) d += q[i * cols + k] * q[i * cols + j];
                    for (int i = 0; i < rows; i++) q[i * cols + j] -= d * q[i * cols + k];
                }
            }
            double norm = 0;
            for (int i = 0; i < rows; i++) norm += q[i * cols + j] * q[i * cols + j];
            norm = Math.sqrt(norm);
            for (int i = 0; i < rows; i++) q[i * cols + j] /= norm;
        }
        return q;
    }
}
