package dev.eva4j.api.svd;

import dev.eva4j.spi.ComputeBackend;
import dev.eva4j.spi.SvdBackend.Mode;
import dev.eva4j.spi.TopKProblem;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

/**
 * {@link ComputeSvd}'s modes in float64 throughout, for {@link dev.eva4j.spi.DType#F64} problems: the same
 * algorithms (the same Gaussian sketch for a seed), with the compute backend's {@code dgesdd} and {@code dsyevd} and
 * the products in plain Java doubles (the compute SPI has no float64 GEMM), spread over the common fork-join pool.
 */
final class ComputeSvd64 {
    private static final ValueLayout.OfDouble D = ValueLayout.JAVA_DOUBLE;
    private final ComputeBackend compute;

    ComputeSvd64(ComputeBackend compute) {
        this.compute = compute;
    }

    void topK(TopKProblem p, Mode mode) {
        switch (mode) {
            case EXACT -> exact(p);
            case LOWRANK -> randomized(p, false, ComputeSvd.LOWRANK_POWER_ITERATIONS);
            case WARM -> {
                if (p.hasWarmStart()) randomized(p, true, ComputeSvd.WARM_POWER_ITERATIONS);
                else randomized(p, false, ComputeSvd.LOWRANK_POWER_ITERATIONS);
            }
        }
    }

    private static double[] read(MemorySegment s, long count) {
        return s.asSlice(0, 8 * count).toArray(D);
    }

    private void exact(TopKProblem p) {
        int m = p.rows(), n = p.cols(), k = p.k();
        double[] a = read(p.matrix(), (long) m * n);
        try (Arena arena = Arena.ofConfined()) {
            if (m >= n) {
                MemorySegment seg = arena.allocateFrom(D, a);
                MemorySegment s = arena.allocate(D, n), u = arena.allocate(D, (long) m * n), vt = arena.allocate(D, (long) n * n);
                compute.dgesdd(m, n, seg, s, u, vt);
                MemorySegment.copy(s, 0, p.singularValues(), 0, 8L * k);
                MemorySegment.copy(vt, 0, p.vt(), 0, 8L * k * n);
            } else {
                double[] at = new double[m * n];
                for (int i = 0; i < m; i++) for (int j = 0; j < n; j++) at[j * m + i] = a[i * n + j];
                tallSvdRightVectors(at, n, m, k, p, arena);
            }
        }
    }

    /** A's top-k singular values and right-singular vectors from the tall n x r matrix at = A^T (or B^T). */
    private void tallSvdRightVectors(double[] at, int n, int r, int k, TopKProblem p, Arena arena) {
        MemorySegment seg = arena.allocateFrom(D, at);
        MemorySegment s = arena.allocate(D, r), u = arena.allocate(D, (long) n * r), vt = arena.allocate(D, (long) r * r);
        compute.dgesdd(n, r, seg, s, u, vt);
        MemorySegment.copy(s, 0, p.singularValues(), 0, 8L * k);
        for (int i = 0; i < k; i++) {
            for (int j = 0; j < n; j++) p.vt().setAtIndex(D, (long) i * n + j, u.getAtIndex(D, (long) j * r + i));
        }
    }

    private void randomized(TopKProblem p, boolean warm, int powerIterations) {
        int m = p.rows(), n = p.cols(), k = p.k();
        int q = Math.min(2 * k, Math.min(m, n));
        double[] a = read(p.matrix(), (long) m * n);
        double[] omega = new double[n * q];
        SplittableRandom rnd = new SplittableRandom(p.seed());
        int first = 0;
        if (warm) {
            for (int j = 0; j < k; j++) for (int i = 0; i < n; i++) omega[i * q + j] = p.warmStart().getAtIndex(D, (long) j * n + i);
            first = k;
        }
        for (int i = 0; i < n; i++) for (int j = first; j < q; j++) omega[i * q + j] = gaussian(rnd);
        try (Arena arena = Arena.ofConfined()) {
            double[] y = times(a, m, n, omega, q); // A Omega
            orthonormalize(y, m, q, arena);
            for (int it = 0; it < powerIterations; it++) {
                double[] z = transposeTimes(a, m, n, y, q); // A^T Q
                orthonormalize(z, n, q, arena);
                y = times(a, m, n, z, q);
                orthonormalize(y, m, q, arena);
            }
            tallSvdRightVectors(transposeTimes(a, m, n, y, q), n, q, k, p, arena); // B^T = A^T Q
        }
    }

    /** A (m x n) times X (n x q). */
    private static double[] times(double[] a, int m, int n, double[] x, int q) {
        double[] out = new double[m * q];
        IntStream.range(0, m).parallel().forEach(i -> {
            int o = i * q;
            for (int l = 0; l < n; l++) {
                double v = a[i * n + l];
                if (v == 0) continue;
                int xo = l * q;
                for (int j = 0; j < q; j++) out[o + j] += v * x[xo + j];
            }
        });
        return out;
    }

    /** A^T (n x m) times Y (m x q), summed over A's rows in blocks so that threads never share an output row. */
    private static double[] transposeTimes(double[] a, int m, int n, double[] y, int q) {
        double[] out = new double[n * q];
        int block = 64;
        IntStream.range(0, (n + block - 1) / block).parallel().forEach(b -> {
            int from = b * block, to = Math.min(n, from + block);
            for (int i = 0; i < m; i++) {
                int yo = i * q;
                for (int l = from; l < to; l++) {
                    double v = a[i * n + l];
                    if (v == 0) continue;
                    int o = l * q;
                    for (int j = 0; j < q; j++) out[o + j] += v * y[yo + j];
                }
            }
        });
        return out;
    }

    /** Y (rows x q) <- an orthonormal basis of its column span (CholeskyQR2 through an eigen-decomposition). */
    private void orthonormalize(double[] y, int rows, int q, Arena arena) {
        MemorySegment gd = arena.allocate(D, (long) q * q), w = arena.allocate(D, q);
        for (int pass = 0; pass < 2; pass++) {
            double[] norm = new double[q];
            for (int i = 0; i < rows; i++) for (int j = 0; j < q; j++) norm[j] += y[i * q + j] * y[i * q + j];
            for (int j = 0; j < q; j++) norm[j] = norm[j] > 0 ? 1 / Math.sqrt(norm[j]) : 0;
            for (int i = 0; i < rows; i++) for (int j = 0; j < q; j++) y[i * q + j] *= norm[j];
            double[] g = new double[q * q];
            for (int i = 0; i < rows; i++) {
                for (int a = 0; a < q; a++) {
                    double v = y[i * q + a];
                    for (int b = 0; b < q; b++) g[a * q + b] += v * y[i * q + b];
                }
            }
            MemorySegment.copy(g, 0, gd, D, 0, q * q);
            compute.dsyevd(q, gd, w);
            double wMax = Math.max(w.getAtIndex(D, q - 1), 0);
            double[] t = new double[q * q];
            for (int j = 0; j < q; j++) {
                double lambda = w.getAtIndex(D, j);
                double scale = lambda > wMax * 1e-24 && lambda > 0 ? 1 / Math.sqrt(lambda) : 0; // drop null directions
                for (int i = 0; i < q; i++) t[i * q + j] = gd.getAtIndex(D, (long) i * q + j) * scale;
            }
            double[] out = times(y, rows, q, t, q);
            System.arraycopy(out, 0, y, 0, rows * q);
        }
    }

    private static double gaussian(SplittableRandom rnd) {
        double u1 = rnd.nextDouble(), u2 = rnd.nextDouble();
        return Math.sqrt(-2 * Math.log(1 - u1)) * Math.cos(2 * Math.PI * u2);
    }
}
