package dev.eva4j.cuda;

import dev.eva4j.spi.Availability;
import dev.eva4j.spi.ComputeBackend;
import dev.eva4j.spi.Kernels;
import dev.eva4j.spi.Transpose;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Objects;

/**
 * The CUDA compute backend: NVIDIA GPUs through the driver API, cuBLAS, cuSOLVER and eva4j's own kernels, all through
 * FFM. Its {@link #kernels()} (device memory and every transformer op) come from {@code CudaKernels}, built with the
 * kernels' fatbin; this class adds the availability check and the host linear algebra of {@link ComputeBackend}.
 *
 * <h2>Availability</h2>
 * Available when {@code libcuda.so.1}, cuBLAS and cuSOLVER (CUDA 13, else 12) are found and load
 * ({@link CudaLibraries}), the driver initialises, a device exists, and this build carries the kernels. Otherwise
 * the reason says exactly which of these failed (for libraries: each missing soname and every place searched).
 *
 * <h2>Host linear algebra: slow paths</h2>
 * {@link #sgemm}, {@link #sgemmStridedBatched}, {@link #sgesdd}, {@link #dgesdd}, {@link #ssyevd} and
 * {@link #dsyevd} take host segments (the {@link ComputeBackend} contract): each call uploads its operands, computes
 * on the device (cuBLAS, cuSOLVER gesvdj/syevd) and downloads the result, synchronously. They are correct and meant
 * for checks and small problems; real work stays on the device through {@link #kernels()} and the {@code cuda}
 * SVD backend. Thread-safe (the context's handles serialise their calls).
 */
public final class CudaBackend implements ComputeBackend {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;
    private static final String KERNELS_CLASS = "dev.eva4j.cuda.CudaKernels";

    private final CudaContext fixedContext; // null: the shared runtime context
    private volatile Availability availability;
    private volatile Kernels kernels;

    /** The service-loader constructor: the shared context ({@link CudaRuntime#context()}), opened on first use. */
    public CudaBackend() {
        this.fixedContext = null;
    }

    /** On a given context (tests, embedding); availability then depends only on the kernels being built in. */
    public CudaBackend(CudaContext context) {
        this.fixedContext = Objects.requireNonNull(context, "context");
    }

    @Override
    public String name() {
        return "cuda";
    }

    @Override
    public int priority() {
        return 200;
    }

    @Override
    public String description() {
        return "NVIDIA GPUs through the CUDA driver API, cuBLAS and cuSOLVER (FFM)";
    }

    @Override
    public Availability availability() {
        Availability a = availability;
        if (a == null) {
            a = fixedContext != null ? Availability.ok("on " + fixedContext)
                    : CudaRuntime.probe(CudaLibraries.system(), CudaLibraries.Library.CUBLAS,
                            CudaLibraries.Library.CUSOLVER);
            KernelImage image = CudaKernelsLoader.image();
            if (a.available() && !hasKernels()) {
                a = Availability.unavailable("CUDA works here (" + a.reason() + ") but " + image.reason());
            }
            availability = a;
        }
        return a;
    }

    /** Whether the hosts-only checks and SVD work: the libraries, driver and device, kernels aside. */
    Availability hostAvailability() {
        if (fixedContext != null) return Availability.ok("on " + fixedContext);
        return CudaRuntime.probe(CudaLibraries.system(), CudaLibraries.Library.CUBLAS, CudaLibraries.Library.CUSOLVER);
    }

    /** Whether this build carries the kernels' fatbin (nvcc was found when it was built; see {@link KernelImage}). */
    static boolean hasKernels() {
        return CudaKernelsLoader.image().fatbin().isPresent();
    }

    /** The context this backend computes on. */
    public CudaContext context() {
        return fixedContext != null ? fixedContext : CudaRuntime.context();
    }

    private CudaContext ready() {
        if (fixedContext != null) return fixedContext;
        Availability a = hostAvailability();
        if (!a.available()) throw new UnsupportedOperationException("cuda backend cannot work here: " + a.reason());
        return CudaRuntime.context();
    }

    /**
     * The kernels ({@code CudaKernels}, constructed with this backend's {@link CudaContext}).
     *
     * @throws IllegalStateException when the backend is unavailable (the message says why)
     */
    @Override
    public Kernels kernels() {
        Kernels k = kernels;
        if (k != null) return k;
        synchronized (this) {
            if (kernels != null) return kernels;
            Availability a = availability();
            if (!a.available()) throw new IllegalStateException("cuda backend cannot work here: " + a.reason());
            try {
                Class<?> c = Class.forName(KERNELS_CLASS, true, CudaBackend.class.getClassLoader());
                kernels = k = (Kernels) c.getConstructor(CudaContext.class).newInstance(context());
                return k;
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException("cuda backend: " + KERNELS_CLASS + " cannot be created: " + e, e);
            }
        }
    }

    // ---- host linear algebra (slow paths) ----

    /** Elements a row-major operand of {@code rows x cols} with leading dimension {@code ld} spans. */
    static long span(int rows, int cols, int ld) {
        return rows == 0 || cols == 0 ? 0 : (long) (rows - 1) * ld + cols;
    }

    static void checkOperand(String name, MemorySegment seg, int rows, int cols, int ld, long extraElements) {
        Objects.requireNonNull(seg, name);
        if (ld < Math.max(1, cols)) {
            throw new IllegalArgumentException(name + ": leading dimension " + ld + " < max(1, " + cols + " columns)");
        }
        long need = span(rows, cols, ld) + extraElements;
        if (seg.byteSize() < 4 * need) {
            throw new IllegalArgumentException(name + " holds " + seg.byteSize() / 4 + " floats, needs " + need
                    + " (" + rows + " x " + cols + ", leading dimension " + ld + ")");
        }
    }

    static void checkGemm(Transpose transA, Transpose transB, int m, int n, int k, MemorySegment a, int lda,
                          MemorySegment b, int ldb, MemorySegment c, int ldc, long strideA, long strideB,
                          long strideC, int batch) {
        Objects.requireNonNull(transA, "transA");
        Objects.requireNonNull(transB, "transB");
        if (m < 0 || n < 0 || k < 0) {
            throw new IllegalArgumentException("m, n and k must be >= 0, got m=" + m + " n=" + n + " k=" + k);
        }
        if (batch < 0) throw new IllegalArgumentException("batch must be >= 0, got " + batch);
        if (strideA < 0 || strideB < 0 || strideC < 0) throw new IllegalArgumentException("strides must be >= 0");
        long extra = Math.max(0, batch - 1);
        checkOperand("A", a, transA.on() ? k : m, transA.on() ? m : k, lda, extra * strideA);
        checkOperand("B", b, transB.on() ? n : k, transB.on() ? k : n, ldb, extra * strideB);
        checkOperand("C", c, m, n, ldc, extra * strideC);
        if (batch > 1 && (long) m * n > 0 && strideC < span(m, n, ldc)) {
            throw new IllegalArgumentException("strideC " + strideC + " makes the C matrices overlap (needs >= "
                    + span(m, n, ldc) + ")");
        }
    }

    /** Copies {@code floats} floats of {@code host} into new device memory. */
    static DeviceMemory toDevice(CudaContext ctx, MemorySegment host, long bytes) {
        DeviceMemory d = ctx.allocate(Math.max(4, bytes));
        if (bytes == 0) return d;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment src = host.asSlice(0, bytes);
            if (!src.isNative()) {
                MemorySegment tmp = arena.allocate(bytes, 8);
                tmp.copyFrom(src);
                src = tmp;
            }
            ctx.upload(d.address(), src, bytes);
        } catch (RuntimeException e) {
            d.close();
            throw e;
        }
        return d;
    }

    static void toHost(CudaContext ctx, long src, MemorySegment host, long bytes) {
        if (bytes == 0) return;
        MemorySegment dst = host.asSlice(0, bytes);
        if (dst.isNative()) {
            ctx.download(dst, src, bytes);
            return;
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment tmp = arena.allocate(bytes, 8);
            ctx.download(tmp, src, bytes);
            dst.copyFrom(tmp);
        }
    }

    /** See {@link ComputeBackend#sgemm}: uploads A, B and C, runs cuBLAS (row-major helper), downloads C. */
    @Override
    public void sgemm(Transpose transA, Transpose transB, int m, int n, int k, float alpha, MemorySegment a, int lda,
                      MemorySegment b, int ldb, float beta, MemorySegment c, int ldc) {
        sgemmStridedBatched(transA, transB, m, n, k, alpha, a, lda, 0, b, ldb, 0, beta, c, ldc, 0, 1);
    }

    @Override
    public void sgemmStridedBatched(Transpose transA, Transpose transB, int m, int n, int k, float alpha,
                                    MemorySegment a, int lda, long strideA, MemorySegment b, int ldb, long strideB,
                                    float beta, MemorySegment c, int ldc, long strideC, int batch) {
        checkGemm(transA, transB, m, n, k, a, lda, b, ldb, c, ldc, strideA, strideB, strideC, batch);
        if (m == 0 || n == 0 || batch == 0) return;
        long extra = batch - 1L;
        long aLen = span(transA.on() ? k : m, transA.on() ? m : k, lda) + extra * strideA;
        long bLen = span(transB.on() ? n : k, transB.on() ? k : n, ldb) + extra * strideB;
        long cLen = span(m, n, ldc) + extra * strideC;
        CudaContext ctx = ready();
        try (DeviceMemory da = toDevice(ctx, a, 4 * aLen);
             DeviceMemory db = toDevice(ctx, b, 4 * bLen);
             DeviceMemory dc = toDevice(ctx, c, 4 * cLen)) {
            Cublas blas = ctx.cublas();
            if (k == 0) { // C = beta C; cuBLAS does the same for k = 0
                blas.sgemmStridedBatchedRowMajor(transA.on(), transB.on(), m, n, 0, alpha, da.address(), lda, strideA,
                        db.address(), ldb, strideB, beta, dc.address(), ldc, strideC, batch);
            } else if (batch == 1) {
                blas.sgemmRowMajor(transA.on(), transB.on(), m, n, k, alpha, da.address(), lda, db.address(), ldb,
                        beta, dc.address(), ldc);
            } else {
                blas.sgemmStridedBatchedRowMajor(transA.on(), transB.on(), m, n, k, alpha, da.address(), lda, strideA,
                        db.address(), ldb, strideB, beta, dc.address(), ldc, strideC, batch);
            }
            toHost(ctx, dc.address(), c, 4 * cLen);
        }
    }

    static void checkSvd(int m, int n, MemorySegment a, MemorySegment s, MemorySegment u, MemorySegment vt, int bytes) {
        if (m < 1 || n < 1) throw new IllegalArgumentException("matrix must be non-empty, got " + m + "x" + n);
        int p = Math.min(m, n);
        check("a", a, (long) m * n * bytes);
        check("s", s, (long) p * bytes);
        check("u", u, (long) m * p * bytes);
        check("vt", vt, (long) p * n * bytes);
    }

    private static void check(String name, MemorySegment seg, long bytes) {
        Objects.requireNonNull(seg, name);
        if (seg.byteSize() < bytes) {
            throw new IllegalArgumentException(name + " holds " + seg.byteSize() + " bytes, needs " + bytes);
        }
    }

    @Override
    public void sgesdd(int m, int n, MemorySegment a, MemorySegment s, MemorySegment u, MemorySegment vt) {
        checkSvd(m, n, a, s, u, vt, 4);
        gesvd(m, n, a, s, u, vt, false);
    }

    @Override
    public void dgesdd(int m, int n, MemorySegment a, MemorySegment s, MemorySegment u, MemorySegment vt) {
        checkSvd(m, n, a, s, u, vt, 8);
        gesvd(m, n, a, s, u, vt, true);
    }

    /**
     * Row-major thin SVD through cusolverDn{S,D}gesvdj on a tall column-major matrix: a wide A read column-major is
     * A^T (tall; its U is A's V and its V is A's U), a tall A is transposed on the host first.
     */
    private void gesvd(int m, int n, MemorySegment a, MemorySegment s, MemorySegment u, MemorySegment vt, boolean f64) {
        int e = f64 ? 8 : 4;
        int p = Math.min(m, n);
        CudaContext ctx = ready();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment host = arena.allocate((long) m * n * e, 8);
            boolean wide = n >= m;
            if (wide) {
                host.copyFrom(a.asSlice(0, (long) m * n * e));
            } else { // column-major m x n = A: host[i + j*m] = A[i][j]
                for (int i = 0; i < m; i++) {
                    for (int j = 0; j < n; j++) {
                        if (f64) host.setAtIndex(ValueLayout.JAVA_DOUBLE, i + (long) j * m, a.getAtIndex(ValueLayout.JAVA_DOUBLE, (long) i * n + j));
                        else host.setAtIndex(F, i + (long) j * m, a.getAtIndex(F, (long) i * n + j));
                    }
                }
            }
            int rows = wide ? n : m, cols = p; // the tall column-major matrix
            MemorySegment hu = arena.allocate((long) rows * cols * e, 8);
            MemorySegment hv = arena.allocate((long) cols * cols * e, 8);
            try (DeviceMemory da = toDevice(ctx, host, (long) m * n * e);
                 DeviceMemory ds = ctx.allocate((long) cols * e);
                 DeviceMemory du = ctx.allocate((long) rows * cols * e);
                 DeviceMemory dv = ctx.allocate((long) cols * cols * e)) {
                Cusolver solver = ctx.cusolver();
                if (f64) solver.dgesvdj(rows, cols, da.address(), rows, ds.address(), du.address(), rows, dv.address(), cols);
                else solver.sgesvdj(rows, cols, da.address(), rows, ds.address(), du.address(), rows, dv.address(), cols);
                toHost(ctx, ds.address(), s, (long) p * e);
                ctx.download(hu, du.address(), hu.byteSize());
                ctx.download(hv, dv.address(), hv.byteSize());
            }
            // tall matrix X = Ux S Vx^T. wide: X = A^T, so A = Vx S Ux^T: U_A = Vx (m x p), Vt_A = Ux^T (p x n).
            // tall: X = A, U_A = Ux (m x p), Vt_A = Vx^T (p x n).
            MemorySegment uSrc = wide ? hv : hu; // column-major m x p, leading dimension m
            MemorySegment vSrc = wide ? hu : hv; // column-major n x p, leading dimension n: column j = row j of vt
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < p; j++) {
                    if (f64) u.setAtIndex(ValueLayout.JAVA_DOUBLE, (long) i * p + j, uSrc.getAtIndex(ValueLayout.JAVA_DOUBLE, i + (long) j * m));
                    else u.setAtIndex(F, (long) i * p + j, uSrc.getAtIndex(F, i + (long) j * m));
                }
            }
            MemorySegment.copy(vSrc, 0, vt, 0, (long) p * n * e);
            // like LAPACK's gesdd, A is overwritten (here with nothing meaningful: leave the caller's copy as is)
        }
    }

    @Override
    public void ssyevd(int n, MemorySegment a, MemorySegment w) {
        syevd(n, a, w, false);
    }

    @Override
    public void dsyevd(int n, MemorySegment a, MemorySegment w) {
        syevd(n, a, w, true);
    }

    /** Row-major upper triangle = column-major lower; the column-major eigenvectors are transposed back. */
    private void syevd(int n, MemorySegment a, MemorySegment w, boolean f64) {
        if (n < 1) throw new IllegalArgumentException("n must be >= 1, got " + n);
        int e = f64 ? 8 : 4;
        check("a", a, (long) n * n * e);
        check("w", w, (long) n * e);
        CudaContext ctx = ready();
        try (Arena arena = Arena.ofConfined();
             DeviceMemory da = toDevice(ctx, a, (long) n * n * e);
             DeviceMemory dw = ctx.allocate((long) n * e)) {
            Cusolver solver = ctx.cusolver();
            if (f64) solver.dsyevd(Cusolver.EIG_MODE_VECTOR, Cusolver.FILL_MODE_LOWER, n, da.address(), n, dw.address());
            else solver.ssyevd(Cusolver.EIG_MODE_VECTOR, Cusolver.FILL_MODE_LOWER, n, da.address(), n, dw.address());
            MemorySegment vec = arena.allocate((long) n * n * e, 8);
            ctx.download(vec, da.address(), vec.byteSize());
            toHost(ctx, dw.address(), w, (long) n * e);
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < n; j++) { // row-major (i, j) = component i of vector j = column-major i + j*n
                    if (f64) a.setAtIndex(ValueLayout.JAVA_DOUBLE, (long) i * n + j, vec.getAtIndex(ValueLayout.JAVA_DOUBLE, i + (long) j * n));
                    else a.setAtIndex(F, (long) i * n + j, vec.getAtIndex(F, i + (long) j * n));
                }
            }
        }
    }

    @Override
    public int threads() {
        return 1;
    }

    /** The GPU's parallelism is not set in threads: accepted and ignored (>= 1 checked). */
    @Override
    public void setThreads(int threads) {
        if (threads < 1) throw new IllegalArgumentException("threads must be >= 1, got " + threads);
    }
}
