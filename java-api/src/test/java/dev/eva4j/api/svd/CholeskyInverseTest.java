package dev.eva4j.api.svd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** The Cholesky path of {@link ComputeSvd#orthonormalize}: Y R^-1 has orthonormal columns; dependent columns refuse. */
class CholeskyInverseTest {
    /** Y (rows x q) with unit-norm columns and some correlation between them. */
    static double[] sketch(int rows, int q, double mix, long seed) {
        Random r = new Random(seed);
        double[] y = new double[rows * q];
        for (int i = 0; i < rows; i++) {
            double common = r.nextGaussian();
            for (int j = 0; j < q; j++) y[i * q + j] = mix * common + r.nextGaussian();
        }
        for (int j = 0; j < q; j++) {
            double n = 0;
            for (int i = 0; i < rows; i++) n += y[i * q + j] * y[i * q + j];
            for (int i = 0; i < rows; i++) y[i * q + j] /= Math.sqrt(n);
        }
        return y;
    }

    static double[] gram(double[] y, int rows, int q) {
        double[] g = new double[q * q];
        for (int a = 0; a < q; a++) for (int b = 0; b < q; b++) {
            double s = 0;
            for (int i = 0; i < rows; i++) s += y[i * q + a] * y[i * q + b];
            g[a * q + b] = s;
        }
        return g;
    }

    @Test
    void yTimesTheInverseFactorHasOrthonormalColumns() {
        int rows = 300, q = 24;
        double[] y = sketch(rows, q, 1.5, 5);
        float[] inv = new float[q * q];
        assertTrue(ComputeSvd.choleskyInverse(gram(y, rows, q), q, inv));
        for (int i = 0; i < q; i++) for (int j = 0; j < i; j++) assertEquals(0f, inv[i * q + j], "upper triangular");
        double[] z = new double[rows * q];
        for (int i = 0; i < rows; i++) for (int c = 0; c < q; c++) {
            double s = 0;
            for (int k = 0; k < q; k++) s += y[i * q + k] * inv[k * q + c];
            z[i * q + c] = s;
        }
        double[] zz = gram(z, rows, q);
        for (int a = 0; a < q; a++) for (int b = 0; b < q; b++) assertEquals(a == b ? 1 : 0, zz[a * q + b], 1e-5);
    }

    @Test
    void nearlyDependentColumnsAreLeftToTheEigenDecomposition() {
        int rows = 200, q = 8;
        double[] y = sketch(rows, q, 0.5, 6);
        for (int i = 0; i < rows; i++) y[i * q + 7] = y[i * q + 6] * (1 + 1e-6); // column 7 ~ column 6
        assertFalse(ComputeSvd.choleskyInverse(gram(y, rows, q), q, new float[q * q]));
        double[] singular = new double[q * q]; // all zero: no pivot
        assertFalse(ComputeSvd.choleskyInverse(singular, q, new float[q * q]));
    }
}
