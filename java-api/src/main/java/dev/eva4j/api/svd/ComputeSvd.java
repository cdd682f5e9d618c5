package dev.eva4j.api.svd;

import dev.eva4j.spi.ComputeBackend;
import dev.eva4j.spi.SvdBackend.Mode;
import dev.eva4j.spi.TopKProblem;
import dev.eva4j.spi.Transpose;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The three top-k SVD modes of {@link Mode} written once on top of any {@link ComputeBackend}'s GEMM and LAPACK
 * operations, so every compute backend (ours or a third party's) gets an SVD backend for free.
 *
 * <ul>
 *   <li>EXACT: thin SVD of the whole matrix (gesdd), truncated to k.</li>
 *   <li>LOWRANK: Halko-Martinsson-Tropp randomised range finder as torch.svd_lowrank: q = 2k Gaussian columns,
 *       {@value #LOWRANK_POWER_ITERATIONS} power iterations with re-orthonormalisation, then the SVD of the small
 *       projection Q^T A.</li>
 *   <li>WARM: the same range finder started from [previous components | k Gaussian columns] with
 *       {@value #WARM_POWER_ITERATIONS} power iterations: 2-9x cheaper per step (eva4j bench eva). Not a faster
 *       way to the same answer: because each estimate starts from the previous one, consecutive estimates agree
 *       sooner than they converge, and EVA stops on a subspace biased toward its early estimates (measured on
 *       all-MiniLM-L6-v2 over two samples of 512 mails: 25 steps instead of 43 on one, 32 as 32 on the other, with
 *       smallest per-layer subspace cosines against LOWRANK of 0.89 and 0.83 and different ranks). Kept for
 *       experiments; LOWRANK is the default.</li>
 * </ul>
 * Orthonormalisation is CholeskyQR2 done with an eigen-decomposition of the Gram matrix in float64 (columns
 * pre-scaled to unit norm; only exactly null directions, eigenvalues below 1e-12 of the largest, are dropped, so a
 * rank-deficient sketch gives zero columns, never NaN). The Gram matrix itself is a float32 GEMM, so one pass
 * cannot resolve a sketch whose condition number exceeds ~3e3; the second pass repairs that. Measured against
 * float64 dgesdd (eva4j-native-cpu's ComputeSvdTest, sketches with condition numbers up to ~1e5, and the tests hold
 * these bounds): EXACT and LOWRANK give singular values to 2e-6 relative and |cos| >= 1 - 1e-6 per separated
 * component (one orthonormalisation pass misses 1e-4); WARM, a single Rayleigh-Ritz step with no power iteration,
 * is as accurate as its start allows: from components within 0.05 of the answer, 5e-5 relative and
 * |cos| >= 1 - 1e-5 (measured worst 3.3e-5 and 1 - 4.1e-6). Float64 problems: EXACT to 1e-11 and 1 - 1e-12;
 * LOWRANK and WARM keep the bounds above, which their sketches (not the arithmetic) set.
 * Matrices in heap segments are copied to native memory first (native backends reject heap segments).
 *
 * <p>{@link dev.eva4j.spi.DType#F64} problems are solved in float64 throughout by the same algorithms (the compute
 * backend's {@code dgesdd}/{@code dsyevd}, products in Java doubles). Problems of a batch run in parallel ({@link #topK}).
 */
public final class ComputeSvd {
    public static final int LOWRANK_POWER_ITERATIONS = 4;
    public static final int WARM_POWER_ITERATIONS = 0;

    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;
    private final ComputeBackend compute;

    public ComputeSvd(ComputeBackend compute) {
        this.compute = Objects.requireNonNull(compute, "compute");
    }

    public ComputeBackend compute() {
        return compute;
    }

    /**
     * Solves the problems of a batch on the common fork-join pool, several at once: each problem's own GEMMs are
     * skinny (sketch width 2k), so splitting one of them across the cores keeps the cores less busy than giving each
     * core whole problems (EVA on all-MiniLM-L6-v2 over the demo mails, two cores: SVD time 6.2 -> 5.4 s, median of
     * three interleaved runs). A problem's GEMMs still split when a core is free. Every problem is solved by the
     * same arithmetic wherever it runs, so the answers do not depend on the schedule. Problems in memory confined to
     * the calling thread are solved on it, one after the other.
     */
    public void topK(List<TopKProblem> batch, Mode mode) {
        if (batch.size() > 1 && Runtime.getRuntime().availableProcessors() > 1
                && batch.stream().allMatch(ComputeSvd::anyThreadMayUse)) {
            batch.parallelStream().forEach(p -> solve(p, mode));
        } else {
            for (TopKProblem p : batch) solve(p, mode);
        }
    }

    /** A thread that never runs: a segment it may access is accessible from every thread. */
    private static final Thread OTHER = Thread.ofPlatform().unstarted(() -> {});

    private static boolean anyThreadMayUse(TopKProblem p) {
        for (MemorySegment s : new MemorySegment[] {p.matrix(), p.singularValues(), p.vt(), p.warmStart()}) {
            if (s != null && !s.isAccessibleBy(OTHER)) return false;
        }
        return true;
    }

    private void solve(TopKProblem p, Mode mode) {
        if (p.dtype() == dev.eva4j.spi.DType.F64) {
            new ComputeSvd64(compute).topK(p, mode);
            return;
        }
        switch (mode) {
            case EXACT -> exact(p);
            case LOWRANK -> randomized(p, false, LOWRANK_POWER_ITERATIONS);
            case WARM -> {
                if (p.hasWarmStart()) randomized(p, true, WARM_POWER_ITERATIONS);
                else randomized(p, false, LOWRANK_POWER_ITERATIONS);
            }
        }
    }

    // A: m x n. gesdd on a copy; keep the first k triplets. LAPACK's gesdd is much slower on wide matrices than on
    // tall ones here (64 x 4096: ~100 ms, 4096 x 64: ~2 ms), so a wide A is decomposed as A^T = U S V^T, whose left
    // singular vectors are A's right ones.
    private void exact(TopKProblem p) {
        int m = p.rows(), n = p.cols(), k = p.k(), r = Math.min(m, n);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment a = arena.allocate(F, (long) m * n);
            if (m >= n) {
                a.copyFrom(p.matrix().asSlice(0, 4L * m * n));
                MemorySegment s = arena.allocate(F, r), u = arena.allocate(F, (long) m * r), vt = arena.allocate(F, (long) r * n);
                compute.sgesdd(m, n, a, s, u, vt);
                MemorySegment.copy(s, 0, p.singularValues(), 0, 4L * k);
                MemorySegment.copy(vt, 0, p.vt(), 0, 4L * k * n);
            } else {
                transpose(p.matrix(), m, n, a); // a: n x m
                tallSvdRightVectors(a, n, m, k, p, arena);
            }
        }
    }

    /**
     * SVD of the tall n x r matrix {@code at} = A^T (n >= r): A's top-k singular values and right-singular vectors
     * (the left-singular vectors of A^T, transposed into the problem's k x n {@code vt}).
     */
    private void tallSvdRightVectors(MemorySegment at, int n, int r, int k, TopKProblem p, Arena arena) {
        MemorySegment s = arena.allocate(F, r), u = arena.allocate(F, (long) n * r), vt = arena.allocate(F, (long) r * r);
        compute.sgesdd(n, r, at, s, u, vt);
        MemorySegment.copy(s, 0, p.singularValues(), 0, 4L * k);
        // vt_out[i][j] = u[j][i], through heap arrays (bulk copies, no per-element segment access)
        float[] ua = new float[n * r], rows = new float[k * n];
        MemorySegment.copy(u, F, 0, ua, 0, n * r);
        for (int j = 0; j < n; j++) for (int i = 0; i < k; i++) rows[i * n + j] = ua[j * r + i];
        MemorySegment.copy(rows, 0, p.vt(), F, 0, k * n);
    }

    /** dst (cols x rows) = src (rows x cols) transposed. */
    private static void transpose(MemorySegment src, int rows, int cols, MemorySegment dst) {
        float[] row = new float[cols];
        for (int i = 0; i < rows; i++) {
            MemorySegment.copy(src, F, (long) i * cols * 4, row, 0, cols);
            for (int j = 0; j < cols; j++) dst.setAtIndex(F, (long) j * rows + i, row[j]);
        }
    }

    // A: m x n, sketch width q = min(2k, m, n).
    private void randomized(TopKProblem p, boolean warm, int powerIterations) {
        int m = p.rows(), n = p.cols(), k = p.k();
        int q = Math.min(2 * k, Math.min(m, n));
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment a = nativeMatrix(p, arena);
            MemorySegment omega = arena.allocate(F, (long) n * q); // n x q
            int first = 0;
            if (warm) { // columns 0..k-1: the previous components (k x n, as rows) transposed
                warmColumns(p.warmStart(), k, n, omega, q);
                first = k;
            }
            gaussianColumns(gaussians(p.seed(), n, q - first), n, first, omega, q);
            MemorySegment y = arena.allocate(F, (long) m * q); // m x q
            MemorySegment z = arena.allocate(F, (long) n * q); // n x q
            MemorySegment tmp = arena.allocate(F, (long) Math.max(m, n) * q);
            // the bases inside the power iterations only carry a span forward: one CholeskyQR pass is enough when it
            // succeeds (it leaves an orthogonality error below ~1e-3, see CHOLESKY_MIN_PIVOT); the last one, which
            // B = Q^T A needs orthonormal, gets both passes
            compute.sgemm(Transpose.NO, Transpose.NO, m, q, n, 1f, a, n, omega, q, 0f, y, q);
            orthonormalize(y, m, q, arena, tmp, powerIterations == 0);
            for (int it = 0; it < powerIterations; it++) {
                compute.sgemm(Transpose.YES, Transpose.NO, n, q, m, 1f, a, n, y, q, 0f, z, q); // A^T Q
                orthonormalize(z, n, q, arena, tmp, false);
                compute.sgemm(Transpose.NO, Transpose.NO, m, q, n, 1f, a, n, z, q, 0f, y, q); // A Z
                orthonormalize(y, m, q, arena, tmp, it == powerIterations - 1);
            }
            // B = Q^T A (q x n) is wide: decompose B^T = A^T Q (n x q, tall) instead, see exact()
            MemorySegment bt = arena.allocate(F, (long) n * q);
            compute.sgemm(Transpose.YES, Transpose.NO, n, q, m, 1f, a, n, y, q, 0f, bt, q);
            tallSvdRightVectors(bt, n, q, k, p, arena);
        }
    }

    /**
     * The problem's matrix as a native segment: native backends (OpenBLAS) reject heap segments, and the
     * {@link TopKProblem} contract allows them; a heap matrix is copied once per problem.
     */
    private static MemorySegment nativeMatrix(TopKProblem p, Arena arena) {
        MemorySegment m = p.matrix();
        if (m.isNative()) return m;
        MemorySegment copy = arena.allocate(F, (long) p.rows() * p.cols());
        copy.copyFrom(m.asSlice(0, 4L * p.rows() * p.cols()));
        return copy;
    }

    // The loops of randomized() and orthonormalize() are methods of their own: a loop in a large method makes the JIT
    // compile the whole method, with everything it inlines, once more on-stack (OSR) while the loop runs; C2 spent
    // ~1 s of a demo run's CPU on such compilations of these two methods.

    /** omega[i, j] = warm[j, i] for j < k (the previous components, k x n rows, as omega's first columns). */
    private static void warmColumns(MemorySegment warm, int k, int n, MemorySegment omega, int q) {
        for (int j = 0; j < k; j++) {
            for (int i = 0; i < n; i++) omega.setAtIndex(F, (long) i * q + j, warm.getAtIndex(F, (long) j * n + i));
        }
    }

    /** omega[i, first + j] = g[i * (q - first) + j]: the Gaussian columns after the first. */
    private static void gaussianColumns(float[] g, int n, int first, MemorySegment omega, int q) {
        for (int i = 0; i < n; i++) MemorySegment.copy(g, i * (q - first), omega, F, ((long) i * q + first) * 4, q - first);
    }

    /** g[i] = gv[i] widened, for i < q * q. */
    private static void widen(float[] gv, double[] g, int q) {
        for (int i = 0; i < q * q; i++) g[i] = gv[i];
    }

    /**
     * scale[j] = 1 / sqrt(g[j, j]) (0 where g[j, j] <= 0); true when every diagonal element is finite.
     */
    private static boolean unitScales(double[] g, int q, double[] scale) {
        boolean finite = true;
        for (int j = 0; j < q; j++) {
            double dj = g[j * q + j];
            finite &= Double.isFinite(dj);
            scale[j] = dj > 0 ? 1 / Math.sqrt(dj) : 0;
        }
        return finite;
    }

    /** G <- D G D with D = diag(scale). */
    private static void scaleGram(double[] g, int q, double[] scale) {
        for (int i = 0; i < q; i++) for (int j = 0; j < q; j++) g[i * q + j] *= scale[i] * scale[j];
    }

    /** T <- D T (rows of the float factor times scale[i]), in float64 then rounded. */
    private static void scaleFactorRows(float[] tv, int q, double[] scale) {
        for (int i = 0; i < q; i++) for (int j = 0; j < q; j++) tv[i * q + j] = (float) (tv[i * q + j] * scale[i]);
    }

    /**
     * tv[i, j] = scale[i] W[i, j] / sqrt(w[j]) from the eigenvectors W (in g, columns) and eigenvalues w (ascending), 0
     * for eigenvalues at or below 1e-12 of the largest (null directions dropped).
     */
    private static void eigenFactor(double[] g, MemorySegment w, int q, double[] scale, float[] tv) {
        double wMax = Math.max(w.getAtIndex(ValueLayout.JAVA_DOUBLE, q - 1), 0);
        for (int j = 0; j < q; j++) {
            double lambda = w.getAtIndex(ValueLayout.JAVA_DOUBLE, j);
            double inv = lambda > wMax * 1e-12 && lambda > 0 ? 1 / Math.sqrt(lambda) : 0; // drop null directions
            for (int i = 0; i < q; i++) tv[i * q + j] = (float) (scale[i] * g[i * q + j] * inv);
        }
    }

    /**
     * Y (rows x q) <- an orthonormal basis of its column span: CholeskyQR2 (two passes of Y <- Y R^-1 with G = Y^T Y =
     * R^T R in float64, columns scaled to unit norm); a pass whose Gram matrix is too close to singular for
     * Cholesky uses its float64 eigen-decomposition instead, Y <- Y W diag(w)^-1/2 with null directions dropped.
     *
     * @param tmp  rows x q floats of scratch
     * @param last false: one Cholesky pass suffices (a basis that only carries a span to the next GEMM)
     */
    private void orthonormalize(MemorySegment y, int rows, int q, Arena arena, MemorySegment tmp, boolean last) {
        MemorySegment gram = arena.allocate(F, (long) q * q);
        MemorySegment gd = arena.allocate(ValueLayout.JAVA_DOUBLE, (long) q * q);
        MemorySegment w = arena.allocate(ValueLayout.JAVA_DOUBLE, q);
        MemorySegment t = arena.allocate(F, (long) q * q);
        double[] g = new double[q * q], scale = new double[q];
        float[] tv = new float[q * q], gv = new float[q * q];
        boolean rescaled = false;
        for (int pass = 0; pass < 2; pass++) {
            compute.sgemm(Transpose.YES, Transpose.NO, q, q, rows, 1f, y, q, y, q, 0f, gram, q); // G = Y^T Y
            MemorySegment.copy(gram, F, 0, gv, 0, q * q);
            widen(gv, g, q);
            // columns scaled to unit norm (the Gram matrix of a power-iterated sketch is badly scaled): G <- D G D
            // here, and D folded into the factor that multiplies Y, instead of a pass over Y
            boolean finite = unitScales(g, q, scale);
            if (!finite && !rescaled) { // squared norms beyond float range: scale Y itself first, then form G again
                scaleColumns(y, rows, q);
                rescaled = true;
                pass--;
                continue;
            }
            scaleGram(g, q, scale);
            if (choleskyInverse(g, q, tv)) { // G = R^T R, well conditioned: Y D R^-1 (the common case, no LAPACK call)
                scaleFactorRows(tv, q, scale);
                MemorySegment.copy(tv, 0, t, F, 0, q * q);
                compute.sgemm(Transpose.NO, Transpose.NO, rows, q, q, 1f, y, q, t, q, 0f, tmp, q);
                y.copyFrom(tmp.asSlice(0, 4L * rows * q));
                if (!last) return;
                continue;
            }
            MemorySegment.copy(g, 0, gd, ValueLayout.JAVA_DOUBLE, 0, q * q);
            compute.dsyevd(q, gd, w); // G = W diag(w) W^T, eigenvectors in columns
            MemorySegment.copy(gd, ValueLayout.JAVA_DOUBLE, 0, g, 0, q * q);
            eigenFactor(g, w, q, scale, tv);
            MemorySegment.copy(tv, 0, t, F, 0, q * q);
            compute.sgemm(Transpose.NO, Transpose.NO, rows, q, q, 1f, y, q, t, q, 0f, tmp, q); // Y D W diag(w)^-1/2
            y.copyFrom(tmp.asSlice(0, 4L * rows * q));
        }
    }

    /** Scales Y's columns to unit norm (zero columns stay zero), with norms summed in float64. */
    private static void scaleColumns(MemorySegment y, int rows, int q) {
        float[] row = new float[q];
        double[] norm = new double[q];
        for (long i = 0; i < rows; i++) {
            MemorySegment.copy(y, F, i * q * 4, row, 0, q);
            for (int j = 0; j < q; j++) norm[j] += (double) row[j] * row[j];
        }
        for (int j = 0; j < q; j++) norm[j] = norm[j] > 0 && Double.isFinite(norm[j]) ? 1 / Math.sqrt(norm[j]) : 0;
        for (long i = 0; i < rows; i++) {
            MemorySegment.copy(y, F, i * q * 4, row, 0, q);
            for (int j = 0; j < q; j++) row[j] = (float) (row[j] * norm[j]);
            MemorySegment.copy(row, 0, y, F, i * q * 4, q);
        }
    }

    /**
     * The smallest Cholesky pivot, relative to the Gram matrix's unit diagonal, that {@link #choleskyInverse} accepts:
     * below it the columns are too close to dependent for a float32 Gram matrix (its rounding is ~1e-7), and the
     * eigen-decomposition, which drops null directions, takes over.
     */
    static final double CHOLESKY_MIN_PIVOT = 1e-4;

    /**
     * R^-1 (q x q, upper triangular, row-major into {@code inv}) of the Cholesky factor G = R^T R of a symmetric
     * q x q matrix with unit diagonal, in float64; false (and {@code inv} unspecified) when a squared pivot falls
     * below {@link #CHOLESKY_MIN_PIVOT}.
     */
    static boolean choleskyInverse(double[] g, int q, float[] inv) {
        double[] r = new double[q * q]; // upper triangular: G = R^T R
        for (int j = 0; j < q; j++) {
            double d = g[j * q + j];
            for (int k = 0; k < j; k++) d -= r[k * q + j] * r[k * q + j];
            if (!(d > CHOLESKY_MIN_PIVOT)) return false;
            double rjj = Math.sqrt(d);
            r[j * q + j] = rjj;
            for (int i = j + 1; i < q; i++) {
                double v = g[j * q + i];
                for (int k = 0; k < j; k++) v -= r[k * q + j] * r[k * q + i];
                r[j * q + i] = v / rjj;
            }
        }
        double[] x = new double[q * q]; // X = R^-1, upper triangular, by back substitution column by column
        for (int c = 0; c < q; c++) {
            for (int i = c; i >= 0; i--) {
                double v = i == c ? 1 : 0;
                for (int k = i + 1; k <= c; k++) v -= r[i * q + k] * x[k * q + c];
                x[i * q + c] = v / r[i * q + i];
            }
        }
        for (int i = 0; i < q * q; i++) inv[i] = (float) x[i];
        return true;
    }

    /** Cached Gaussian sketches: EVA asks for the same (seed, n, width) at every step of every group. */
    private final Map<List<Long>, float[]> sketches = new ConcurrentHashMap<>();

    /**
     * n x width standard normal values (row-major) from {@code seed}: the same numbers in the same order as drawing
     * them one by one from a {@link SplittableRandom} of that seed. Computed once per (seed, n, width).
     */
    private float[] gaussians(long seed, int n, int width) {
        if (sketches.size() > 64) sketches.clear(); // many shapes: keep memory bounded
        return sketches.computeIfAbsent(List.of(seed, (long) n, (long) width), key -> {
            SplittableRandom rnd = new SplittableRandom(seed);
            float[] g = new float[n * width];
            for (int i = 0; i < g.length; i++) g[i] = (float) gaussian(rnd);
            return g;
        });
    }

    private static double gaussian(SplittableRandom rnd) {
        double u1 = rnd.nextDouble(), u2 = rnd.nextDouble();
        return Math.sqrt(-2 * Math.log(1 - u1)) * Math.cos(2 * Math.PI * u2);
    }
}
