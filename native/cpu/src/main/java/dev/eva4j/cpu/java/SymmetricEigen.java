package dev.eva4j.cpu.java;

/**
 * Symmetric eigen-decomposition in float64: Householder reduction to tridiagonal form, then the implicit QL
 * algorithm with Wilkinson-style shifts (EISPACK tred2 / tql2, as in JAMA, public domain).
 */
final class SymmetricEigen {
    /** QL iterations allowed per eigenvalue before giving up (typically 1 - 3 are needed). */
    static final int MAX_ITERATIONS = 60;

    /** values[n] ascending; vectors[n x n] row-major, column j the unit eigenvector of values[j]. */
    record Result(double[] values, double[] vectors) {}

    private SymmetricEigen() {}

    /** a: row-major n x n, only the upper triangle (j >= i) is read. */
    static Result decompose(int n, double[] a) {
        double[][] v = new double[n][n];
        for (int i = 0; i < n; i++) {
            for (int j = i; j < n; j++) {
                v[i][j] = a[i * n + j];
                v[j][i] = a[i * n + j];
            }
        }
        double[] d = new double[n], e = new double[n];
        tred2(n, v, d, e);
        // z[j] = column j of v: the QL rotations and the sort then touch contiguous rows
        double[][] z = new double[n][n];
        for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) z[j][i] = v[i][j];
        tql2(n, z, d, e);
        double[] vectors = new double[n * n];
        for (int j = 0; j < n; j++) {
            if (JacobiSvd.largestComponent(z[j]) < 0) JacobiSvd.negate(z[j]);
            for (int i = 0; i < n; i++) vectors[i * n + j] = z[j][i];
        }
        return new Result(d, vectors);
    }

    /** Householder tridiagonalisation of symmetric v (n x n): on return v the orthogonal transform, d the
     *  diagonal, e[1 .. n] the sub-diagonal. */
    private static void tred2(int n, double[][] v, double[] d, double[] e) {
        for (int j = 0; j < n; j++) d[j] = v[n - 1][j];
        for (int i = n - 1; i > 0; i--) {
            double scale = 0, h = 0;
            for (int k = 0; k < i; k++) scale += Math.abs(d[k]);
            if (scale == 0) {
                e[i] = d[i - 1];
                for (int j = 0; j < i; j++) {
                    d[j] = v[i - 1][j];
                    v[i][j] = 0;
                    v[j][i] = 0;
                }
            } else {
                for (int k = 0; k < i; k++) {
                    d[k] /= scale;
                    h += d[k] * d[k];
                }
                double f = d[i - 1];
                double g = Math.sqrt(h);
                if (f > 0) g = -g;
                e[i] = scale * g;
                h -= f * g;
                d[i - 1] = f - g;
                for (int j = 0; j < i; j++) e[j] = 0;
                for (int j = 0; j < i; j++) {
                    f = d[j];
                    v[j][i] = f;
                    g = e[j] + v[j][j] * f;
                    for (int k = j + 1; k <= i - 1; k++) {
                        g += v[k][j] * d[k];
                        e[k] += v[k][j] * f;
                    }
                    e[j] = g;
                }
                f = 0;
                for (int j = 0; j < i; j++) {
                    e[j] /= h;
                    f += e[j] * d[j];
                }
                double hh = f / (h + h);
                for (int j = 0; j < i; j++) e[j] -= hh * d[j];
                for (int j = 0; j < i; j++) {
                    f = d[j];
                    g = e[j];
                    for (int k = j; k <= i - 1; k++) v[k][j] -= (f * e[k] + g * d[k]);
                    d[j] = v[i - 1][j];
                    v[i][j] = 0;
                }
            }
            d[i] = h;
        }
        // accumulate the transformations
        for (int i = 0; i < n - 1; i++) {
            v[n - 1][i] = v[i][i];
            v[i][i] = 1;
            double h = d[i + 1];
            if (h != 0) {
                for (int k = 0; k <= i; k++) d[k] = v[k][i + 1] / h;
                for (int j = 0; j <= i; j++) {
                    double g = 0;
                    for (int k = 0; k <= i; k++) g += v[k][i + 1] * v[k][j];
                    for (int k = 0; k <= i; k++) v[k][j] -= g * d[k];
                }
            }
            for (int k = 0; k <= i; k++) v[k][i + 1] = 0;
        }
        for (int j = 0; j < n; j++) {
            d[j] = v[n - 1][j];
            v[n - 1][j] = 0;
        }
        v[n - 1][n - 1] = 1;
        e[0] = 0;
    }

    /** Implicit QL on the tridiagonal (d, e); z[j] (column j of the transform, as a row) is rotated along.
     *  On return d ascending and z[j] the eigenvector of d[j]. */
    private static void tql2(int n, double[][] z, double[] d, double[] e) {
        for (int i = 1; i < n; i++) e[i - 1] = e[i];
        e[n - 1] = 0;
        double f = 0, tst1 = 0, eps = Math.ulp(1.0);
        for (int l = 0; l < n; l++) {
            tst1 = Math.max(tst1, Math.abs(d[l]) + Math.abs(e[l]));
            int m = l;
            while (m < n && Math.abs(e[m]) > eps * tst1) m++;
            if (m > l) {
                int iter = 0;
                do {
                    if (++iter > MAX_ITERATIONS) {
                        throw new ArithmeticException("implicit QL did not converge for eigenvalue " + l + " of "
                                + n + " in " + MAX_ITERATIONS + " iterations");
                    }
                    // implicit shift
                    double g = d[l];
                    double p = (d[l + 1] - g) / (2 * e[l]);
                    double r = Math.hypot(p, 1);
                    if (p < 0) r = -r;
                    d[l] = e[l] / (p + r);
                    d[l + 1] = e[l] * (p + r);
                    double dl1 = d[l + 1];
                    double h = g - d[l];
                    for (int i = l + 2; i < n; i++) d[i] -= h;
                    f += h;
                    // implicit QL transformation
                    p = d[m];
                    double c = 1, c2 = c, c3 = c, el1 = e[l + 1], s = 0, s2 = 0;
                    for (int i = m - 1; i >= l; i--) {
                        c3 = c2;
                        c2 = c;
                        s2 = s;
                        g = c * e[i];
                        h = c * p;
                        r = Math.hypot(p, e[i]);
                        e[i + 1] = s * r;
                        s = e[i] / r;
                        c = p / r;
                        p = c * d[i] - s * g;
                        d[i + 1] = h + s * (c * g + s * d[i]);
                        double[] zi = z[i], zi1 = z[i + 1];
                        for (int k = 0; k < n; k++) {
                            h = zi1[k];
                            zi1[k] = s * zi[k] + c * h;
                            zi[k] = c * zi[k] - s * h;
                        }
                    }
                    p = -s * s2 * c3 * el1 * e[l] / dl1;
                    e[l] = s * p;
                    d[l] = c * p;
                } while (Math.abs(e[l]) > eps * tst1);
            }
            d[l] += f;
            e[l] = 0;
        }
        // selection sort, ascending
        for (int i = 0; i < n - 1; i++) {
            int k = i;
            double p = d[i];
            for (int j = i + 1; j < n; j++) {
                if (d[j] < p) {
                    k = j;
                    p = d[j];
                }
            }
            if (k != i) {
                d[k] = d[i];
                d[i] = p;
                double[] t = z[i];
                z[i] = z[k];
                z[k] = t;
            }
        }
    }
}
