package dev.eva4j.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.eva4j.spi.ComputeBackend;
import dev.eva4j.spi.SvdBackend;
import dev.eva4j.spi.TopKProblem;
import dev.eva4j.spi.Transpose;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Checks shared by the fake-library tests and the GPU tests: problems with a planted spectrum (A = U diag(s) V^T with
 * orthonormal U and V built in float64), so the truth is known without another SVD implementation.
 */
final class SvdChecks {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;

    private SvdChecks() {}

    /** rows x cols orthonormal columns (Gram-Schmidt twice on Gaussians), float64, row-major. */
    static double[] orthonormal(SplittableRandom r, int rows, int cols) {
        double[] q = new double[rows * cols];
        for (int i = 0; i < q.length; i++) q[i] = r.nextGaussian();
        for (int pass = 0; pass < 2; pass++) {
            for (int j = 0; j < cols; j++) {
                for (int p = 0; p < j; p++) {
                    double dot = 0;
                    for (int i = 0; i < rows; i++) dot += q[i * cols + j] * q[i * cols + p];
                    for (int i = 0; i < rows; i++) q[i * cols + j] -= dot * q[i * cols + p];
                }
                double n = 0;
                for (int i = 0; i < rows; i++) n += q[i * cols + j] * q[i * cols + j];
                n = Math.sqrt(n);
                for (int i = 0; i < rows; i++) q[i * cols + j] /= n;
            }
        }
        return q;
    }

    record Planted(int rows, int cols, double[] s, double[] v, MemorySegment a) {}

    /** A = U diag(s) V^T with s_i = 10 * 0.7^i (well separated), stored row-major float32. */
    static Planted planted(Arena arena, long seed, int rows, int cols) {
        SplittableRandom r = new SplittableRandom(seed);
        int p = Math.min(rows, cols);
        double[] u = orthonormal(r, rows, p), v = orthonormal(r, cols, p), s = new double[p];
        for (int i = 0; i < p; i++) s[i] = 10 * Math.pow(0.7, i);
        MemorySegment a = arena.allocate(F, (long) rows * cols);
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                double x = 0;
                for (int l = 0; l < p; l++) x += u[i * p + l] * s[l] * v[j * p + l];
                a.setAtIndex(F, (long) i * cols + j, (float) x);
            }
        }
        return new Planted(rows, cols, s, v, a);
    }

    /** Runs {@code mode} on the planted problem and checks values (relative) and vectors (|cos|). */
    static void checkTopK(SvdBackend svd, SvdBackend.Mode mode, Planted pl, int k, double valueTol, double cosTol,
                          Arena arena) {
        MemorySegment s = arena.allocate(F, k), vt = arena.allocate(F, (long) k * pl.cols());
        MemorySegment warm = MemorySegment.NULL;
        if (mode == SvdBackend.Mode.WARM) { // the truth slightly perturbed, as a previous step would give
            warm = arena.allocate(F, (long) k * pl.cols());
            SplittableRandom r = new SplittableRandom(9);
            for (int i = 0; i < k; i++) {
                for (int j = 0; j < pl.cols(); j++) {
                    warm.setAtIndex(F, (long) i * pl.cols() + j, (float) (pl.v()[j * Math.min(pl.rows(), pl.cols()) + i]
                            + 0.01 * r.nextGaussian() / Math.sqrt(pl.cols())));
                }
            }
        }
        svd.topK(List.of(new TopKProblem(pl.rows(), pl.cols(), k, pl.a(), s, vt, warm, 42)), mode);
        int p = Math.min(pl.rows(), pl.cols());
        for (int i = 0; i < k; i++) {
            double got = s.getAtIndex(F, i);
            assertEquals(pl.s()[i], got, valueTol * pl.s()[i], mode + " singular value " + i);
            double dot = 0, norm = 0;
            for (int j = 0; j < pl.cols(); j++) {
                double x = vt.getAtIndex(F, (long) i * pl.cols() + j);
                dot += x * pl.v()[j * p + i];
                norm += x * x;
            }
            assertTrue(Math.abs(dot) / Math.sqrt(norm) > 1 - cosTol, mode + " vector " + i + ": |cos| = "
                    + Math.abs(dot) / Math.sqrt(norm));
        }
    }

    /** sgemm of a compute backend against the float64 reference, every transposition. */
    static void checkSgemm(ComputeBackend b, double tol, Arena arena) {
        SplittableRandom r = new SplittableRandom(11);
        int m = 37, n = 29, k = 41;
        for (boolean ta : new boolean[] {false, true}) {
            for (boolean tb : new boolean[] {false, true}) {
                int lda = (ta ? m : k) + 1, ldb = (tb ? k : n) + 2, ldc = n + 1;
                float[] a = rnd(r, (ta ? k : m) * lda), bb = rnd(r, (tb ? n : k) * ldb), c = rnd(r, m * ldc);
                MemorySegment sa = arena.allocateFrom(F, a), sb = arena.allocateFrom(F, bb), sc = arena.allocateFrom(F, c);
                b.sgemm(Transpose.of(ta), Transpose.of(tb), m, n, k, 1.25f, sa, lda, sb, ldb, 0.5f, sc, ldc);
                for (int i = 0; i < m; i++) {
                    for (int j = 0; j < n; j++) {
                        double want = 0, mag = 0;
                        for (int l = 0; l < k; l++) {
                            double x = ta ? a[l * lda + i] : a[i * lda + l];
                            double y = tb ? bb[j * ldb + l] : bb[l * ldb + j];
                            want += x * y;
                            mag += Math.abs(x * y);
                        }
                        want = 1.25 * want + 0.5 * c[i * ldc + j];
                        mag = 1.25 * mag + 0.5 * Math.abs(c[i * ldc + j]);
                        assertEquals(want, sc.getAtIndex(F, (long) i * ldc + j), tol * mag,
                                "ta=" + ta + " tb=" + tb + " (" + i + "," + j + ")");
                    }
                }
            }
        }
    }

    static float[] rnd(SplittableRandom r, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) (r.nextDouble() * 2 - 1);
        return x;
    }

    /** sgesdd (wide and tall) reconstructs A; ssyevd/dsyevd give A v = lambda v. */
    static void checkHostLapack(ComputeBackend b, Arena arena) {
        for (int[] shape : new int[][] {{6, 9}, {9, 6}}) {
            int m = shape[0], n = shape[1], p = Math.min(m, n);
            Planted pl = planted(arena, 21, m, n);
            MemorySegment a = arena.allocate(F, (long) m * n);
            a.copyFrom(pl.a());
            MemorySegment s = arena.allocate(F, p), u = arena.allocate(F, (long) m * p), vt = arena.allocate(F, (long) p * n);
            b.sgesdd(m, n, a, s, u, vt);
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double x = 0;
                    for (int l = 0; l < p; l++) x += u.getAtIndex(F, (long) i * p + l) * s.getAtIndex(F, l) * vt.getAtIndex(F, (long) l * n + j);
                    assertEquals(pl.a().getAtIndex(F, (long) i * n + j), x, 1e-4, m + "x" + n + " reconstruction");
                }
            }
            for (int l = 0; l < p; l++) assertEquals(pl.s()[l], s.getAtIndex(F, l), 1e-4 * pl.s()[0]);
        }
        double[] sym = {4, 1, 2, 0, 3, 1, 0, 0, 5}; // only the upper triangle is read (row-major)
        MemorySegment d = arena.allocateFrom(ValueLayout.JAVA_DOUBLE, sym);
        MemorySegment w = arena.allocate(ValueLayout.JAVA_DOUBLE, 3);
        b.dsyevd(3, d, w);
        double[] full = {4, 1, 2, 1, 3, 1, 2, 1, 5};
        for (int j = 0; j < 3; j++) {
            double lambda = w.getAtIndex(ValueLayout.JAVA_DOUBLE, j);
            if (j > 0) assertTrue(lambda >= w.getAtIndex(ValueLayout.JAVA_DOUBLE, j - 1), "ascending");
            for (int i = 0; i < 3; i++) {
                double av = 0;
                for (int l = 0; l < 3; l++) av += full[i * 3 + l] * d.getAtIndex(ValueLayout.JAVA_DOUBLE, l * 3L + j);
                assertEquals(lambda * d.getAtIndex(ValueLayout.JAVA_DOUBLE, i * 3L + j), av, 1e-9);
            }
        }
    }
}
