package dev.eva4j.cpu.svd;

import dev.eva4j.spi.ComputeBackend;
import dev.eva4j.spi.TopKProblem;
import dev.eva4j.spi.Transpose;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Matrices with a planted spectrum and their float64 reference SVDs (LAPACK dgesdd of the float32 matrix as given,
 * widened), plus the comparisons the SVD tests and the timing main share.
 */
final class SvdFixtures {
    private SvdFixtures() {}

    static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;
    static final ValueLayout.OfDouble D = ValueLayout.JAVA_DOUBLE;

    /**
     * The accuracy ComputeSvd documents for EXACT and LOWRANK in float32 (and these tests hold it to): singular
     * values to 2e-6 relative, |cos| >= 1 - 1e-6 per separated component, rows of unit length to 1e-6.
     */
    static final double SV_TOL = 2e-6, COS_MIN = 1 - 1e-6;
    /**
     * WARM (one Rayleigh-Ritz step, no power iteration) started within 0.05 of the answer: measured worst 3.3e-5
     * relative on the singular values and |cos| >= 1 - 4.1e-6 over ComputeSvdTest's shapes; documented as 5e-5 and
     * 1 - 1e-5.
     */
    static final double WARM_SV_TOL = 5e-5, WARM_COS_MIN = 1 - 1e-5;
    /** Float64 EXACT problems: singular values to 1e-11 relative, |cos| >= 1 - 1e-12 (LOWRANK/WARM: as float32). */
    static final double F64_SV_TOL = 1e-11, F64_COS_MIN = 1 - 1e-12;

    /** A float32 row-major m x n matrix and the float64 thin SVD of exactly that matrix (p = min(m, n) triplets). */
    record Reference(int m, int n, MemorySegment a, double[] s, double[] vt) {
        int p() {
            return Math.min(m, n);
        }

        /** Row i of the reference Vt. */
        double[] v(int i) {
            double[] r = new double[n];
            System.arraycopy(vt, i * n, r, 0, n);
            return r;
        }
    }

    /**
     * A = U diag(sigma) V^T with U (m x p), V (n x p) Haar-random orthonormal (from the SVD of a Gaussian matrix),
     * rounded to float32; sigma has p entries (zeros allowed).
     */
    static Reference planted(ComputeBackend blas, Arena arena, int m, int n, double[] sigma, long seed) {
        int p = Math.min(m, n);
        if (sigma.length != p) throw new IllegalArgumentException("sigma needs " + p + " values");
        Random rnd = new Random(seed);
        double[][] uv = randomOrthonormal(blas, m, n, rnd);
        double[] u = uv[0], vt = uv[1]; // m x p, p x n
        // the product in float32 (sgemm): the reference is the SVD of the rounded matrix as given, so this only
        // perturbs the planted values at float32 resolution
        MemorySegment us = arena.allocate(F, (long) m * p), vs = arena.allocate(F, (long) p * n);
        for (long i = 0; i < m; i++) {
            for (int l = 0; l < p; l++) us.setAtIndex(F, i * p + l, (float) (u[(int) (i * p + l)] * sigma[l]));
        }
        for (long i = 0; i < (long) p * n; i++) vs.setAtIndex(F, i, (float) vt[(int) i]);
        MemorySegment seg = arena.allocate(F, (long) m * n);
        blas.sgemm(Transpose.NO, Transpose.NO, m, n, p, 1f, us, p, vs, n, 0f, seg, n);
        return reference(blas, m, n, seg);
    }

    /** The float64 SVD of the float32 matrix {@code a} (m x n) as given. */
    static Reference reference(ComputeBackend blas, int m, int n, MemorySegment a) {
        int p = Math.min(m, n);
        try (Arena tmp = Arena.ofConfined()) {
            MemorySegment ad = tmp.allocate(D, (long) m * n);
            for (long i = 0; i < (long) m * n; i++) ad.setAtIndex(D, i, a.getAtIndex(F, i));
            MemorySegment s = tmp.allocate(D, p), u = tmp.allocate(D, (long) m * p), vt = tmp.allocate(D, (long) p * n);
            blas.dgesdd(m, n, ad, s, u, vt);
            return new Reference(m, n, a, s.toArray(D), vt.toArray(D));
        }
    }

    /** U (m x p) and V^T (p x n) with orthonormal columns / rows: the SVD factors of a Gaussian m x n matrix. */
    static double[][] randomOrthonormal(ComputeBackend blas, int m, int n, Random rnd) {
        int p = Math.min(m, n);
        try (Arena tmp = Arena.ofConfined()) {
            MemorySegment g = tmp.allocate(D, (long) m * n);
            for (long i = 0; i < (long) m * n; i++) g.setAtIndex(D, i, rnd.nextGaussian());
            MemorySegment s = tmp.allocate(D, p), u = tmp.allocate(D, (long) m * p), vt = tmp.allocate(D, (long) p * n);
            blas.dgesdd(m, n, g, s, u, vt);
            return new double[][] {u.toArray(D), vt.toArray(D)};
        }
    }

    /**
     * The planted spectrum of the accuracy tests: the top k values fall by 12% each (1, 0.88, ...), then a tail
     * at half the k-th value falling by 3% per index (gaps inside the tail are below 10%: not checked).
     */
    static double[] gappedSpectrum(int p, int k) {
        double[] s = new double[p];
        for (int i = 0; i < p; i++) {
            s[i] = i < k ? Math.pow(0.88, i) : 0.5 * Math.pow(0.88, k - 1) * Math.pow(0.97, i - k);
        }
        return s;
    }

    /** A problem over {@code a} with fresh output segments. */
    static TopKProblem problem(Arena arena, int m, int n, int k, MemorySegment a, MemorySegment warm, long seed) {
        return new TopKProblem(m, n, k, a, arena.allocate(F, k), arena.allocate(F, (long) k * n), warm, seed);
    }

    /** k x n float32 rows: the reference's first k right-singular vectors, each plus Gaussian noise of norm eps. */
    static MemorySegment perturbedComponents(Arena arena, Reference ref, int k, double eps, long seed) {
        Random rnd = new Random(seed);
        int n = ref.n();
        MemorySegment w = arena.allocate(F, (long) k * n);
        for (int i = 0; i < k; i++) {
            double[] noise = new double[n];
            double norm = 0;
            for (int j = 0; j < n; j++) {
                noise[j] = rnd.nextGaussian();
                norm += noise[j] * noise[j];
            }
            double scale = eps / Math.sqrt(norm);
            for (int j = 0; j < n; j++) w.setAtIndex(F, (long) i * n + j, (float) (ref.vt()[i * n + j] + scale * noise[j]));
        }
        return w;
    }

    /**
     * Failures of {@code problem}'s output against the reference: every value finite, rows of unit length,
     * singular values within {@code svTol} relative, and |cos| >= {@code cosMin} for every component whose
     * neighbouring reference values differ from it by at least 10%. Empty when all hold.
     * {@code checked[0]} receives how many components had their direction compared.
     */
    static List<String> compare(Reference ref, TopKProblem problem, double svTol, double cosMin, int[] checked) {
        List<String> failures = new ArrayList<>();
        int k = problem.k(), n = ref.n();
        double[] s = new double[k];
        int directions = 0;
        for (int i = 0; i < k; i++) {
            s[i] = problem.singularValues().getAtIndex(F, i);
            double[] v = row(problem.vt(), i, n);
            double norm = 0, dot = 0;
            boolean finite = Double.isFinite(s[i]);
            for (int j = 0; j < n; j++) {
                finite &= Double.isFinite(v[j]);
                norm += v[j] * v[j];
                dot += v[j] * ref.vt()[i * n + j];
            }
            norm = Math.sqrt(norm);
            if (!finite) {
                failures.add("component " + i + " is not finite");
                continue;
            }
            if (Math.abs(norm - 1) > 1e-6) failures.add("row " + i + " has norm " + norm);
            double relErr = Math.abs(s[i] - ref.s()[i]) / ref.s()[i];
            if (!(relErr <= svTol)) {
                failures.add("sigma_" + i + " = " + s[i] + ", reference " + ref.s()[i] + " (relative error " + relErr + ")");
            }
            if (separated(ref.s(), i)) {
                directions++;
                double cos = Math.abs(dot) / norm;
                if (!(cos >= cosMin)) failures.add("|cos| of component " + i + " = " + cos);
            }
        }
        for (int i = 1; i < k; i++) {
            if (s[i] > s[i - 1]) failures.add("singular values not descending at " + i);
        }
        if (checked != null) checked[0] = directions;
        return failures;
    }

    /** Whether reference value i differs by at least 10% from both neighbours (relative to the larger one). */
    static boolean separated(double[] s, int i) {
        boolean above = i == 0 || s[i] <= 0.9 * s[i - 1];
        boolean below = i + 1 >= s.length || s[i + 1] <= 0.9 * s[i];
        return above && below;
    }

    static double[] row(MemorySegment rows, int i, int n) {
        double[] r = new double[n];
        for (int j = 0; j < n; j++) r[j] = rows.getAtIndex(F, (long) i * n + j);
        return r;
    }

    /**
     * Sine of the largest principal angle between the row spaces of two k x n row sets (float32 {@code a},
     * float64 {@code b}, both with orthonormal rows): the spectral norm of A's rows minus their projections onto
     * B's row space, computed in float64 (not sqrt(1 - sigma_min(A B^T)^2), which floors at sqrt(float32 eps)).
     */
    static double subspaceError(ComputeBackend blas, MemorySegment a, double[] b, int k, int n) {
        try (Arena tmp = Arena.ofConfined()) {
            MemorySegment r = tmp.allocate(D, (long) k * n);
            double[] ai = new double[n];
            for (int i = 0; i < k; i++) {
                for (int l = 0; l < n; l++) ai[l] = a.getAtIndex(F, (long) i * n + l);
                double[] res = ai.clone();
                for (int j = 0; j < k; j++) {
                    double dot = 0;
                    for (int l = 0; l < n; l++) dot += ai[l] * b[j * n + l];
                    for (int l = 0; l < n; l++) res[l] -= dot * b[j * n + l];
                }
                for (int l = 0; l < n; l++) r.setAtIndex(D, (long) i * n + l, res[l]);
            }
            MemorySegment s = tmp.allocate(D, k), u = tmp.allocate(D, (long) k * k), vt = tmp.allocate(D, (long) k * n);
            blas.dgesdd(k, n, r, s, u, vt);
            return s.getAtIndex(D, 0);
        }
    }
}
