package dev.eva4j.cpu.java;

import java.util.Comparator;
import java.util.stream.IntStream;

/**
 * Thin SVD by one-sided (Hestenes) Jacobi in float64. The taller orientation X (R x C, R >= C: A itself, or A^T
 * when m < n) has its columns rotated pairwise until all are mutually orthogonal; then the column norms are the
 * singular values, the normalised columns the left vectors of X, and the accumulated rotations its right vectors.
 * Columns are held as contiguous rows of {@code w[C][R]} so every rotation runs at unit stride.
 */
final class JacobiSvd {
    static final double EPS = Math.ulp(1.0);
    /** Sweeps allowed before giving up; Jacobi converges quadratically, typically in 6 - 12. */
    static final int MAX_SWEEPS = 60;

    /** s[p] descending, u[m x p] and vt[p x n] row-major, p = min(m, n). */
    record Result(double[] s, double[] u, double[] vt) {}

    private JacobiSvd() {}

    /** a: row-major m x n, not modified. */
    static Result decompose(int m, int n, double[] a) {
        boolean tall = m >= n;
        int rows = Math.max(m, n), cols = Math.min(m, n);
        // w[j][i] = X(i, j): column j of X = column j of A (tall) or row j of A (wide)
        double[][] w = new double[cols][rows];
        for (int j = 0; j < cols; j++) {
            for (int i = 0; i < rows; i++) w[j][i] = tall ? a[i * n + j] : a[j * n + i];
        }
        // v[j][q] = V_X(q, j): right vectors of X as rows
        double[][] v = new double[cols][cols];
        for (int j = 0; j < cols; j++) v[j][j] = 1;
        orthogonalise(w, v, rows, MAX_SWEEPS);

        double[] norm = new double[cols];
        for (int j = 0; j < cols; j++) norm[j] = Math.sqrt(Rotations.dot(w[j], w[j], rows));
        Integer[] order = IntStream.range(0, cols).boxed().sorted(Comparator.comparingDouble(j -> -norm[j]))
                .toArray(Integer[]::new);
        double[] s = new double[cols];
        double[][] left = new double[cols][], right = new double[cols][];
        // a converged column is orthogonal to the others relative to its own norm, so only columns too small to
        // square safely (or exactly zero) need a replacement left vector
        double negligible = Math.max(1e-150, norm[order[0]] * 1e-30);
        for (int q = 0; q < cols; q++) {
            int j = order[q];
            s[q] = norm[j];
            right[q] = v[j];
            if (norm[j] > negligible) {
                left[q] = w[j];
                for (int i = 0; i < rows; i++) left[q][i] /= norm[j];
            }
        }
        completeBasis(left, rows);

        // A = X (tall): U = left, V = right.  A = X^T (wide): U = right, V = left.
        double[][] uCols = tall ? left : right, vCols = tall ? right : left;
        for (int q = 0; q < cols; q++) {
            if (largestComponent(uCols[q]) < 0) {
                negate(uCols[q]);
                negate(vCols[q]);
            }
        }
        double[] u = new double[m * cols], vt = new double[cols * n];
        for (int q = 0; q < cols; q++) {
            for (int i = 0; i < m; i++) u[i * cols + q] = uCols[q][i];
            System.arraycopy(vCols[q], 0, vt, q * n, n);
        }
        return new Result(s, u, vt);
    }

    /**
     * Rotates pairs of rows of w (columns of X, length len) until each pair's cosine is below tol, applying the
     * same rotations to v. Squared norms are cached and refreshed every sweep.
     *
     * @throws ArithmeticException when a pair still needs rotating after maxSweeps sweeps
     */
    static void orthogonalise(double[][] w, double[][] v, int len, int maxSweeps) {
        int cols = w.length;
        double tol = Math.max(1, Math.sqrt(len)) * EPS;
        double[] sq = new double[cols];
        for (int sweep = 0; sweep < maxSweeps; sweep++) {
            for (int j = 0; j < cols; j++) sq[j] = Rotations.dot(w[j], w[j], len);
            boolean rotated = false;
            for (int j = 0; j < cols - 1; j++) {
                for (int k = j + 1; k < cols; k++) {
                    double alpha = sq[j], beta = sq[k];
                    double gamma = Rotations.dot(w[j], w[k], len);
                    if (!(Math.abs(gamma) > tol * Math.sqrt(alpha) * Math.sqrt(beta))) continue;
                    rotated = true;
                    // Jacobi rotation diagonalising [[alpha, gamma], [gamma, beta]] (Golub & Van Loan 8.5.2)
                    double zeta = (beta - alpha) / (2 * gamma);
                    double t = Math.abs(zeta) > 1e150 ? 0.5 / zeta
                            : Math.copySign(1, zeta) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
                    double c = 1 / Math.sqrt(1 + t * t), s = c * t;
                    Rotations.rotate(w[j], w[k], len, c, s);
                    Rotations.rotate(v[j], v[k], cols, c, s);
                    sq[j] = alpha - t * gamma;
                    sq[k] = beta + t * gamma;
                }
            }
            if (!rotated) return;
        }
        throw new ArithmeticException("one-sided Jacobi SVD did not converge in " + maxSweeps + " sweeps ("
                + len + " x " + cols + ")");
    }

    /**
     * Fills the null entries of basis (orthonormal vectors of length len) with unit vectors orthogonal to all
     * others: Gram-Schmidt (twice) on e_0, e_1, ..., keeping a candidate when enough of it is left. Since the
     * squared residuals of all e_i sum to len - (vectors so far), one passes 1 / (4 len) before the e_i run out.
     */
    static void completeBasis(double[][] basis, int len) {
        int next = 0;
        for (int q = 0; q < basis.length; q++) {
            if (basis[q] != null) continue;
            while (true) {
                if (next >= len) throw new ArithmeticException("could not complete an orthonormal basis of " + len);
                double[] x = new double[len];
                x[next++] = 1;
                for (int pass = 0; pass < 2; pass++) {
                    for (double[] b : basis) {
                        if (b == null) continue;
                        double d = Rotations.dot(b, x, len);
                        for (int i = 0; i < len; i++) x[i] -= d * b[i];
                    }
                }
                double sq = Rotations.dot(x, x, len);
                if (sq > 1.0 / (4 * len)) {
                    double inv = 1 / Math.sqrt(sq);
                    for (int i = 0; i < len; i++) x[i] *= inv;
                    basis[q] = x;
                    break;
                }
            }
        }
    }

    /** The component of largest magnitude (the first such), with its sign: decides the sign convention. */
    static double largestComponent(double[] x) {
        double best = 0;
        for (double e : x) if (Math.abs(e) > Math.abs(best)) best = e;
        return best;
    }

    static void negate(double[] x) {
        for (int i = 0; i < x.length; i++) x[i] = -x[i];
    }

}
