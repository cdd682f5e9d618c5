package dev.eva4j.models.train;

import dev.eva4j.spi.ComputeBackend;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The few dense host computations the weight-based initialisations need, once per adapted layer and never in a
 * training step: a thin SVD (through a backend's LAPACK {@code dgesdd}), the leading columns of a Householder QR, and
 * PiSSA's residual {@code W - s B A}. Everything here is float64 on the Java heap; matrices are row-major.
 */
final class HostLinearAlgebra {
    private HostLinearAlgebra() {}

    /** A thin SVD A = U diag(s) Vt: s [p] descending, u [m, p], vt [p, n], p = min(m, n). */
    record Svd(int m, int n, double[] s, double[] u, double[] vt) {
        int p() {
            return s.length;
        }
    }

    /** The leading {@code r} columns of Q and rows of R of A = QR: q [m, r], rr [r, n] (upper trapezoidal). */
    record Qr(int m, int n, int r, double[] q, double[] rr) {}

    /**
     * The thin SVD of a [m, n] through {@code lapack.dgesdd} on host segments of a confined arena.
     *
     * @throws ArithmeticException when LAPACK does not converge
     */
    static Svd svd(ComputeBackend lapack, int m, int n, float[] a) {
        int p = Math.min(m, n);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment sa = arena.allocate(8L * m * n, 64);
            for (int i = 0; i < a.length; i++) sa.setAtIndex(ValueLayout.JAVA_DOUBLE, i, a[i]);
            MemorySegment ss = arena.allocate(8L * p, 64);
            MemorySegment su = arena.allocate(8L * m * p, 64);
            MemorySegment svt = arena.allocate(8L * p * n, 64);
            lapack.dgesdd(m, n, sa, ss, su, svt);
            return new Svd(m, n, ss.toArray(ValueLayout.JAVA_DOUBLE), su.toArray(ValueLayout.JAVA_DOUBLE),
                    svt.toArray(ValueLayout.JAVA_DOUBLE));
        }
    }

    /**
     * Q[:, :r] and R[:r, :] of the thin QR of a [m, n] by Householder reflections with LAPACK's sign convention
     * ({@code dgeqrf}/{@code dorgqr}, hence PyTorch's {@code torch.linalg.qr}): R's diagonal entry of column j is
     * -sign(a_jj) * ||a[j:, j]||. Only the first r reflections are formed: later ones change neither R's first r rows
     * nor Q's first r columns. Cost O(m n r).
     */
    static Qr qrLeading(int m, int n, float[] a, int r) {
        if (r < 1 || r > Math.min(m, n)) throw new IllegalArgumentException("qr: r = " + r + " outside [1, min(m, n) = "
                + Math.min(m, n) + "]");
        double[] w = new double[m * n];
        for (int i = 0; i < w.length; i++) w[i] = a[i];
        double[][] v = new double[r][]; // v[j] has m - j entries, v[j][0] = 1
        double[] tau = new double[r];
        for (int j = 0; j < r; j++) {
            double alpha = w[j * n + j];
            double xnorm = 0;
            for (int i = j + 1; i < m; i++) xnorm = Math.hypot(xnorm, w[i * n + j]);
            double[] vj = new double[m - j];
            vj[0] = 1;
            if (xnorm == 0) {
                tau[j] = 0; // H = I, as dlarfg
            } else {
                double beta = -Math.copySign(Math.hypot(alpha, xnorm), alpha);
                tau[j] = (beta - alpha) / beta;
                double f = 1 / (alpha - beta);
                for (int i = j + 1; i < m; i++) vj[i - j] = w[i * n + j] * f;
                w[j * n + j] = beta;
                for (int i = j + 1; i < m; i++) w[i * n + j] = 0;
                // apply H = I - tau v v^T to the columns right of j
                for (int c = j + 1; c < n; c++) {
                    double dot = 0;
                    for (int i = j; i < m; i++) dot += vj[i - j] * w[i * n + c];
                    dot *= tau[j];
                    for (int i = j; i < m; i++) w[i * n + c] -= dot * vj[i - j];
                }
            }
            v[j] = vj;
        }
        double[] rr = new double[r * n];
        for (int i = 0; i < r; i++) {
            for (int c = i; c < n; c++) rr[i * n + c] = w[i * n + c];
        }
        // Q E_r = H_0 (H_1 (... (H_{r-1} E_r)))
        double[] q = new double[m * r];
        for (int i = 0; i < r; i++) q[i * r + i] = 1;
        for (int j = r - 1; j >= 0; j--) {
            if (tau[j] == 0) continue;
            double[] vj = v[j];
            for (int c = 0; c < r; c++) {
                double dot = 0;
                for (int i = j; i < m; i++) dot += vj[i - j] * q[i * r + c];
                dot *= tau[j];
                for (int i = j; i < m; i++) q[i * r + c] -= dot * vj[i - j];
            }
        }
        return new Qr(m, n, r, q, rr);
    }

    /**
     * w - scale * b a in float64, rounded to float32. Shapes: w [out, in]; b [out, r]; a [r, in].
     */
    static float[] residual(float[] w, float[] b, float[] a, int out, int in, int r, double scale) {
        float[] res = new float[out * in];
        double[] row = new double[in];
        for (int o = 0; o < out; o++) {
            java.util.Arrays.fill(row, 0);
            for (int k = 0; k < r; k++) {
                double bk = b[o * r + k];
                if (bk == 0) continue;
                int base = k * in;
                for (int i = 0; i < in; i++) row[i] += bk * a[base + i];
            }
            for (int i = 0; i < in; i++) res[o * in + i] = (float) (w[o * in + i] - scale * row[i]);
        }
        return res;
    }
}
