package dev.eva4j.cpu.eva;

import java.util.Random;

/** Rows drawn from a planted covariance: x = mu + Q diag(sigma) z with a random orthogonal Q (fixed seed). */
final class Planted {
    final int d;
    final double[][] q; // d x d orthogonal, columns are the true directions
    final double[] sigma;
    final double[] mu;
    final Random rnd;

    Planted(int d, double[] sigma, long seed) {
        this.d = d;
        this.sigma = sigma;
        this.rnd = new Random(seed);
        this.q = randomOrthogonal(d, rnd);
        this.mu = new double[d];
        for (int i = 0; i < d; i++) mu[i] = rnd.nextGaussian() * 3;
    }

    float[][] rows(int n) {
        float[][] x = new float[n][d];
        double[] z = new double[d];
        for (int r = 0; r < n; r++) {
            for (int j = 0; j < d; j++) z[j] = rnd.nextGaussian() * sigma[j];
            for (int i = 0; i < d; i++) {
                double v = mu[i];
                for (int j = 0; j < d; j++) v += q[i][j] * z[j];
                x[r][i] = (float) v;
            }
        }
        return x;
    }

    static double[][] randomOrthogonal(int d, Random rnd) {
        double[][] a = new double[d][d];
        for (double[] row : a) for (int j = 0; j < d; j++) row[j] = rnd.nextGaussian();
        // Gram-Schmidt on columns, twice
        for (int pass = 0; pass < 2; pass++) {
            for (int c = 0; c < d; c++) {
                for (int p = 0; p < c; p++) {
                    double dot = 0;
                    for (int i = 0; i < d; i++) dot += a[i][c] * a[i][p];
                    for (int i = 0; i < d; i++) a[i][c] -= dot * a[i][p];
                }
                double nrm = 0;
                for (int i = 0; i < d; i++) nrm += a[i][c] * a[i][c];
                nrm = Math.sqrt(nrm);
                for (int i = 0; i < d; i++) a[i][c] /= nrm;
            }
        }
        return a;
    }

    /** Sample covariance (population normalisation) of all rows, float64. */
    static double[] covariance(java.util.List<float[][]> batches, int d) {
        long n = 0;
        double[] mean = new double[d];
        for (float[][] b : batches) for (float[] r : b) { for (int j = 0; j < d; j++) mean[j] += r[j]; n++; }
        for (int j = 0; j < d; j++) mean[j] /= n;
        double[] c = new double[d * d];
        for (float[][] b : batches) {
            for (float[] r : b) {
                for (int i = 0; i < d; i++) {
                    double xi = r[i] - mean[i];
                    for (int j = i; j < d; j++) c[i * d + j] += xi * (r[j] - mean[j]);
                }
            }
        }
        for (int i = 0; i < d; i++) for (int j = i; j < d; j++) { c[i * d + j] /= n; c[j * d + i] = c[i * d + j]; }
        return c;
    }
}
