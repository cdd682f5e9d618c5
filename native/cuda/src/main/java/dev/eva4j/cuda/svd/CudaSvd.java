package dev.eva4j.cuda.svd;

import dev.eva4j.cuda.Cublas;
import dev.eva4j.cuda.CudaContext;
import dev.eva4j.cuda.Cusolver;
import dev.eva4j.cuda.DeviceMemory;
import dev.eva4j.spi.SvdBackend.Mode;
import dev.eva4j.spi.TopKProblem;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.Objects;
import java.util.SplittableRandom;

/**
 * The three top-k SVD modes on one {@link CudaContext}, with each problem's matrix uploaded once and every
 * iteration on the device (cuBLAS GEMMs, cuSOLVER {@code gesvdj} and {@code dsyevd}). It follows the CPU's
 * algorithm (eva4j-api's ComputeSvd) step for step, with the same Gaussian sketch for the same seed, so the two
 * agree to float32 rounding:
 * <ul>
 *   <li>EXACT: thin SVD of the whole matrix by one-sided Jacobi ({@code cusolverDnSgesvdj}), always on a tall
 *       column-major matrix (a wide row-major A read column-major is already tall; a tall one is transposed first
 *       with {@code cublasSgeam}), truncated to k;</li>
 *   <li>LOWRANK: q = min(2k, m, n) Gaussian columns, 4 power iterations with re-orthonormalisation, then the SVD of
 *       the small projection Q^T A (read column-major it is the tall n x q matrix (Q^T A)^T);</li>
 *   <li>WARM: the same started from [previous components | k Gaussian columns] with no power iteration.</li>
 * </ul>
 * Orthonormalisation is CholeskyQR2 through a float64 eigen-decomposition ({@code cusolverDnDsyevd}) of the q x q
 * Gram matrix, which is the only data crossing the bus inside an iteration (q x q values each way).
 *
 * <p>Problems of a batch run one after the other on the context's stream. Not thread-safe (one caller at a time).
 */
public final class CudaSvd {
    public static final int LOWRANK_POWER_ITERATIONS = 4;
    public static final int WARM_POWER_ITERATIONS = 0;
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;
    private static final ValueLayout.OfDouble D = ValueLayout.JAVA_DOUBLE;

    private final CudaContext context;

    public CudaSvd(CudaContext context) {
        this.context = Objects.requireNonNull(context, "context");
    }

    public CudaContext context() {
        return context;
    }

    public void topK(List<TopKProblem> batch, Mode mode) {
        Objects.requireNonNull(batch, "batch");
        Objects.requireNonNull(mode, "mode");
        for (TopKProblem p : batch) {
            switch (mode) {
                case EXACT -> exact(p);
                case LOWRANK -> randomized(p, false, LOWRANK_POWER_ITERATIONS);
                case WARM -> {
                    if (p.hasWarmStart()) randomized(p, true, WARM_POWER_ITERATIONS);
                    else randomized(p, false, LOWRANK_POWER_ITERATIONS);
                }
            }
        }
    }

    private DeviceMemory upload(MemorySegment host, long floats) {
        DeviceMemory d = context.allocate(Math.max(4L, 4L * floats));
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment src = host;
            if (!host.isNative()) {
                src = arena.allocate(4L * floats, 8);
                src.copyFrom(host.asSlice(0, 4L * floats));
            }
            context.upload(d.address(), src, 4L * floats);
        } catch (RuntimeException e) {
            d.close();
            throw e;
        }
        return d;
    }

    private void download(long src, MemorySegment host, long bytes) {
        if (host.isNative()) {
            context.download(host.asSlice(0, bytes), src, bytes);
            return;
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment tmp = arena.allocate(bytes, 8);
            context.download(tmp, src, bytes);
            host.asSlice(0, bytes).copyFrom(tmp);
        }
    }

    private void exact(TopKProblem p) {
        int m = p.rows(), n = p.cols(), k = p.k();
        Cublas blas = context.cublas();
        try (DeviceMemory a = upload(p.matrix(), (long) m * n)) {
            if (n >= m) {
                // row-major A read column-major is A^T (n x m, tall): its left vectors are A's right ones
                tallRightVectors(a.address(), n, m, k, p, true);
            } else {
                try (DeviceMemory t = context.allocate(4L * m * n)) {
                    blas.transposeRowMajor(m, n, a.address(), t.address()); // column-major m x n = A
                    tallRightVectors(t.address(), m, n, k, p, false);
                }
            }
        }
    }

    /**
     * Economy SVD of the tall column-major {@code rows x cols} matrix at {@code x} (destroyed); writes the top-k
     * singular values and, as the problem's right-singular vectors, the first k left vectors ({@code useU}) or
     * right vectors of x — each a contiguous column of length {@code p.cols()}.
     */
    private void tallRightVectors(long x, int rows, int cols, int k, TopKProblem p, boolean useU) {
        try (DeviceMemory s = context.allocate(4L * cols);
             DeviceMemory u = context.allocate(4L * rows * cols);
             DeviceMemory v = context.allocate(4L * cols * cols)) {
            context.cusolver().sgesvdj(rows, cols, x, rows, s.address(), u.address(), rows, v.address(), cols);
            download(s.address(), p.singularValues(), 4L * k);
            long vecLen = useU ? rows : cols;
            download((useU ? u : v).address(), p.vt(), 4L * k * vecLen);
        }
    }

    private void randomized(TopKProblem p, boolean warm, int powerIterations) {
        int m = p.rows(), n = p.cols(), k = p.k();
        int q = Math.min(2 * k, Math.min(m, n));
        Cublas blas = context.cublas();
        try (Arena arena = Arena.ofConfined();
             DeviceMemory a = upload(p.matrix(), (long) m * n)) {
            MemorySegment omega = arena.allocate(F, (long) n * q); // n x q row-major
            SplittableRandom rnd = new SplittableRandom(p.seed());
            int first = 0;
            if (warm) {
                for (int j = 0; j < k; j++) {
                    for (int i = 0; i < n; i++) {
                        omega.setAtIndex(F, (long) i * q + j, p.warmStart().getAtIndex(F, (long) j * n + i));
                    }
                }
                first = k;
            }
            for (int i = 0; i < n; i++) {
                for (int j = first; j < q; j++) omega.setAtIndex(F, (long) i * q + j, (float) gaussian(rnd));
            }
            try (DeviceMemory om = upload(omega, (long) n * q);
                 DeviceMemory y = context.allocate(4L * m * q);
                 DeviceMemory z = context.allocate(4L * n * q);
                 DeviceMemory tmp = context.allocate(4L * Math.max(m, n) * q)) {
                blas.sgemmRowMajor(false, false, m, q, n, 1f, a.address(), n, om.address(), q, 0f, y.address(), q);
                orthonormalize(y.address(), m, q, tmp.address());
                for (int it = 0; it < powerIterations; it++) {
                    blas.sgemmRowMajor(true, false, n, q, m, 1f, a.address(), n, y.address(), q, 0f, z.address(), q);
                    orthonormalize(z.address(), n, q, tmp.address());
                    blas.sgemmRowMajor(false, false, m, q, n, 1f, a.address(), n, z.address(), q, 0f, y.address(), q);
                    orthonormalize(y.address(), m, q, tmp.address());
                }
                // B = Q^T A (q x n row-major) = column-major n x q, tall: its left vectors are A's right ones
                blas.sgemmRowMajor(true, false, q, n, m, 1f, y.address(), q, a.address(), n, 0f, z.address(), n);
                tallRightVectors(z.address(), n, q, k, p, true);
            }
        }
    }

    /** Y (rows x q row-major, on the device) <- an orthonormal basis of its column span (CholeskyQR2, float64 eig). */
    void orthonormalize(long y, int rows, int q, long tmp) {
        Cublas blas = context.cublas();
        Cusolver solver = context.cusolver();
        try (Arena arena = Arena.ofConfined();
             DeviceMemory g = context.allocate(4L * q * q);
             DeviceMemory gd = context.allocate(8L * q * q);
             DeviceMemory wd = context.allocate(8L * q);
             DeviceMemory t = context.allocate(4L * q * q)) {
            MemorySegment gram = arena.allocate(F, (long) q * q);
            MemorySegment gramD = arena.allocate(D, (long) q * q);
            MemorySegment w = arena.allocate(D, q);
            MemorySegment tr = arena.allocate(F, (long) q * q);
            double[] d = new double[q];
            for (int pass = 0; pass < 2; pass++) {
                blas.sgemmRowMajor(true, false, q, q, rows, 1f, y, q, y, q, 0f, g.address(), q); // G = Y^T Y
                context.download(gram, g.address(), 4L * q * q);
                for (int j = 0; j < q; j++) {
                    double gjj = gram.getAtIndex(F, (long) j * q + j);
                    d[j] = gjj > 0 ? 1 / Math.sqrt(gjj) : 0; // unit columns first: a power-iterated sketch is badly scaled
                }
                for (int i = 0; i < q; i++) {
                    for (int j = 0; j < q; j++) {
                        gramD.setAtIndex(D, (long) i * q + j, d[i] * d[j] * gram.getAtIndex(F, (long) i * q + j));
                    }
                }
                context.upload(gd.address(), gramD, 8L * q * q);
                solver.dsyevd(Cusolver.EIG_MODE_VECTOR, Cusolver.FILL_MODE_LOWER, q, gd.address(), q, wd.address());
                context.download(gramD, gd.address(), 8L * q * q); // eigenvectors, column-major
                context.download(w, wd.address(), 8L * q);
                double wMax = Math.max(w.getAtIndex(D, q - 1), 0);
                for (int j = 0; j < q; j++) {
                    double lambda = w.getAtIndex(D, j);
                    double scale = lambda > wMax * 1e-12 && lambda > 0 ? 1 / Math.sqrt(lambda) : 0; // drop null directions
                    for (int i = 0; i < q; i++) { // T = D W diag(w)^-1/2, row-major
                        tr.setAtIndex(F, (long) i * q + j, (float) (d[i] * gramD.getAtIndex(D, i + (long) j * q) * scale));
                    }
                }
                context.upload(t.address(), tr, 4L * q * q);
                blas.sgemmRowMajor(false, false, rows, q, q, 1f, y, q, t.address(), q, 0f, tmp, q);
                context.bind();
                context.driver().memcpyDtoDAsync(y, tmp, 4L * rows * q, context.stream());
            }
        }
    }

    private static double gaussian(SplittableRandom rnd) {
        double u1 = rnd.nextDouble(), u2 = rnd.nextDouble();
        return Math.sqrt(-2 * Math.log(1 - u1)) * Math.cos(2 * Math.PI * u2);
    }
}
