package dev.eva4j.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.util.function.Function;

/**
 * A cuSOLVER dense handle ({@code cusolverDnHandle_t}) of one {@link CudaContext}, bound to the context's stream,
 * through FFM. Matrices are <b>column-major</b> as in LAPACK (see {@link Cublas} for reading eva4j's row-major
 * matrices as their transposes).
 *
 * <p>Every call checks its {@code cusolverStatus_t} ({@link CudaException} naming the call and status). The
 * routines that report through a device {@code devInfo} integer have two forms: the raw one (caller-supplied
 * workspace and {@code devInfo} pointer, asynchronous) and a checked one that sizes and allocates the workspace,
 * waits for the stream and turns a nonzero {@code devInfo} into a {@link CusolverInfoException} naming the call and
 * the value. Argument checks come before any native call. Methods are synchronised on this object; any thread may
 * call them.
 */
public final class Cusolver implements AutoCloseable {
    private static final Linker LINKER = Linker.nativeLinker();

    /** {@code CUSOLVER_EIG_MODE_NOVECTOR} */
    public static final int EIG_MODE_NOVECTOR = 0;
    /** {@code CUSOLVER_EIG_MODE_VECTOR} */
    public static final int EIG_MODE_VECTOR = 1;
    /** {@code CUBLAS_FILL_MODE_LOWER} */
    public static final int FILL_MODE_LOWER = 0;
    /** {@code CUBLAS_FILL_MODE_UPPER} */
    public static final int FILL_MODE_UPPER = 1;

    private final CudaContext context;
    private final long handle;
    private final long params;     // cusolverDnParams_t for the 64-bit API
    private final long gesvdjInfo; // gesvdjInfo_t with default tolerance and sweeps
    private final DeviceMemory info; // one int for the checked forms
    private boolean closed;

    // cusolverStatus_t cusolverDnCreate(cusolverDnHandle_t *handle)
    private final MethodHandle cusolverDnCreate;
    // cusolverStatus_t cusolverDnDestroy(cusolverDnHandle_t handle)
    private final MethodHandle cusolverDnDestroy;
    // cusolverStatus_t cusolverDnSetStream(cusolverDnHandle_t handle, cudaStream_t streamId)
    private final MethodHandle cusolverDnSetStream;
    // cusolverStatus_t cusolverDnCreateParams(cusolverDnParams_t *params)
    private final MethodHandle cusolverDnCreateParams;
    // cusolverStatus_t cusolverDnDestroyParams(cusolverDnParams_t params)
    private final MethodHandle cusolverDnDestroyParams;
    // cusolverStatus_t cusolverDnCreateGesvdjInfo(gesvdjInfo_t *info)
    private final MethodHandle cusolverDnCreateGesvdjInfo;
    // cusolverStatus_t cusolverDnDestroyGesvdjInfo(gesvdjInfo_t info)
    private final MethodHandle cusolverDnDestroyGesvdjInfo;
    // cusolverStatus_t cusolverDnSsyevd_bufferSize(cusolverDnHandle_t handle, cusolverEigMode_t jobz,
    //     cublasFillMode_t uplo, int n, const float *A, int lda, const float *W, int *lwork)
    private final MethodHandle cusolverDnSsyevd_bufferSize;
    // cusolverStatus_t cusolverDnSsyevd(cusolverDnHandle_t handle, cusolverEigMode_t jobz, cublasFillMode_t uplo,
    //     int n, float *A, int lda, float *W, float *work, int lwork, int *devInfo)
    private final MethodHandle cusolverDnSsyevd;
    // cusolverStatus_t cusolverDnDsyevd_bufferSize(... as Ssyevd_bufferSize with double ...)
    private final MethodHandle cusolverDnDsyevd_bufferSize;
    // cusolverStatus_t cusolverDnDsyevd(... as Ssyevd with double ...)
    private final MethodHandle cusolverDnDsyevd;
    // cusolverStatus_t cusolverDnSgeqrf_bufferSize(cusolverDnHandle_t handle, int m, int n, float *A, int lda,
    //     int *lwork)
    private final MethodHandle cusolverDnSgeqrf_bufferSize;
    // cusolverStatus_t cusolverDnSgeqrf(cusolverDnHandle_t handle, int m, int n, float *A, int lda, float *TAU,
    //     float *Workspace, int Lwork, int *devInfo)
    private final MethodHandle cusolverDnSgeqrf;
    // cusolverStatus_t cusolverDnSorgqr_bufferSize(cusolverDnHandle_t handle, int m, int n, int k, const float *A,
    //     int lda, const float *tau, int *lwork)
    private final MethodHandle cusolverDnSorgqr_bufferSize;
    // cusolverStatus_t cusolverDnSorgqr(cusolverDnHandle_t handle, int m, int n, int k, float *A, int lda,
    //     const float *tau, float *work, int lwork, int *devInfo)
    private final MethodHandle cusolverDnSorgqr;
    // cusolverStatus_t cusolverDnSgesvdj_bufferSize(cusolverDnHandle_t handle, cusolverEigMode_t jobz, int econ,
    //     int m, int n, const float *A, int lda, const float *S, const float *U, int ldu, const float *V, int ldv,
    //     int *lwork, gesvdjInfo_t params)
    private final MethodHandle cusolverDnSgesvdj_bufferSize;
    // cusolverStatus_t cusolverDnSgesvdj(cusolverDnHandle_t handle, cusolverEigMode_t jobz, int econ, int m, int n,
    //     float *A, int lda, float *S, float *U, int ldu, float *V, int ldv, float *work, int lwork, int *info,
    //     gesvdjInfo_t params)
    private final MethodHandle cusolverDnSgesvdj;
    // cusolverDnDgesvdj_bufferSize / cusolverDnDgesvdj: as the S forms with double
    private final MethodHandle cusolverDnDgesvdj_bufferSize;
    private final MethodHandle cusolverDnDgesvdj;
    // cusolverStatus_t cusolverDnXgesvd_bufferSize(cusolverDnHandle_t handle, cusolverDnParams_t params,
    //     signed char jobu, signed char jobvt, int64_t m, int64_t n, cudaDataType dataTypeA, const void *A,
    //     int64_t lda, cudaDataType dataTypeS, const void *S, cudaDataType dataTypeU, const void *U, int64_t ldu,
    //     cudaDataType dataTypeVT, const void *VT, int64_t ldvt, cudaDataType computeType,
    //     size_t *workspaceInBytesOnDevice, size_t *workspaceInBytesOnHost)
    private final MethodHandle cusolverDnXgesvd_bufferSize;
    // cusolverStatus_t cusolverDnXgesvd(cusolverDnHandle_t handle, cusolverDnParams_t params, signed char jobu,
    //     signed char jobvt, int64_t m, int64_t n, cudaDataType dataTypeA, void *A, int64_t lda,
    //     cudaDataType dataTypeS, void *S, cudaDataType dataTypeU, void *U, int64_t ldu, cudaDataType dataTypeVT,
    //     void *VT, int64_t ldvt, cudaDataType computeType, void *bufferOnDevice, size_t workspaceInBytesOnDevice,
    //     void *bufferOnHost, size_t workspaceInBytesOnHost, int *info)
    private final MethodHandle cusolverDnXgesvd;
    // cusolverStatus_t cusolverDnXgesvdr_bufferSize(cusolverDnHandle_t handle, cusolverDnParams_t params,
    //     signed char jobu, signed char jobv, int64_t m, int64_t n, int64_t k, int64_t p, int64_t niters,
    //     cudaDataType dataTypeA, const void *A, int64_t lda, cudaDataType dataTypeSrand, const void *Srand,
    //     cudaDataType dataTypeUrand, const void *Urand, int64_t ldUrand, cudaDataType dataTypeVrand,
    //     const void *Vrand, int64_t ldVrand, cudaDataType computeType, size_t *workspaceInBytesOnDevice,
    //     size_t *workspaceInBytesOnHost)
    private final MethodHandle cusolverDnXgesvdr_bufferSize;
    // cusolverStatus_t cusolverDnXgesvdr(cusolverDnHandle_t handle, cusolverDnParams_t params, signed char jobu,
    //     signed char jobv, int64_t m, int64_t n, int64_t k, int64_t p, int64_t niters, cudaDataType dataTypeA,
    //     void *A, int64_t lda, cudaDataType dataTypeSrand, void *Srand, cudaDataType dataTypeUrand, void *Urand,
    //     int64_t ldUrand, cudaDataType dataTypeVrand, void *Vrand, int64_t ldVrand, cudaDataType computeType,
    //     void *bufferOnDevice, size_t workspaceInBytesOnDevice, void *bufferOnHost, size_t workspaceInBytesOnHost,
    //     int *d_info)
    private final MethodHandle cusolverDnXgesvdr;

    Cusolver(CudaContext context, CudaLibraries libraries) {
        this(context, libraries.load(CudaLibraries.Library.CUSOLVER));
    }

    Cusolver(CudaContext context, SymbolLookup lookup) {
        this.context = context;
        Function<String, MemorySegment> sym = CudaLibraries.symbols(lookup, "libcusolver");
        FunctionDescriptor iA = FunctionDescriptor.of(JAVA_INT, ADDRESS);
        FunctionDescriptor iL = FunctionDescriptor.of(JAVA_INT, JAVA_LONG);
        cusolverDnCreate = h(sym, "cusolverDnCreate", iA);
        cusolverDnDestroy = h(sym, "cusolverDnDestroy", iL);
        cusolverDnSetStream = h(sym, "cusolverDnSetStream", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG));
        cusolverDnCreateParams = h(sym, "cusolverDnCreateParams", iA);
        cusolverDnDestroyParams = h(sym, "cusolverDnDestroyParams", iL);
        cusolverDnCreateGesvdjInfo = h(sym, "cusolverDnCreateGesvdjInfo", iA);
        cusolverDnDestroyGesvdjInfo = h(sym, "cusolverDnDestroyGesvdjInfo", iL);
        // handle, jobz, uplo, n, A, lda, W, lwork*
        FunctionDescriptor syevdBuf = FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT,
                JAVA_LONG, JAVA_INT, JAVA_LONG, ADDRESS);
        // handle, jobz, uplo, n, A, lda, W, work, lwork, devInfo
        FunctionDescriptor syevd = FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT,
                JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_LONG);
        cusolverDnSsyevd_bufferSize = h(sym, "cusolverDnSsyevd_bufferSize", syevdBuf);
        cusolverDnSsyevd = h(sym, "cusolverDnSsyevd", syevd);
        cusolverDnDsyevd_bufferSize = h(sym, "cusolverDnDsyevd_bufferSize", syevdBuf);
        cusolverDnDsyevd = h(sym, "cusolverDnDsyevd", syevd);
        cusolverDnSgeqrf_bufferSize = h(sym, "cusolverDnSgeqrf_bufferSize", FunctionDescriptor.of(JAVA_INT,
                JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_INT, ADDRESS));
        cusolverDnSgeqrf = h(sym, "cusolverDnSgeqrf", FunctionDescriptor.of(JAVA_INT,
                JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_LONG));
        cusolverDnSorgqr_bufferSize = h(sym, "cusolverDnSorgqr_bufferSize", FunctionDescriptor.of(JAVA_INT,
                JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_LONG, ADDRESS));
        cusolverDnSorgqr = h(sym, "cusolverDnSorgqr", FunctionDescriptor.of(JAVA_INT,
                JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT,
                JAVA_LONG));
        // handle, jobz, econ, m, n, A, lda, S, U, ldu, V, ldv, lwork*, params
        FunctionDescriptor gesvdjBuf = FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT,
                JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG);
        // handle, jobz, econ, m, n, A, lda, S, U, ldu, V, ldv, work, lwork, info, params
        FunctionDescriptor gesvdj = FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT,
                JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_LONG,
                JAVA_INT, JAVA_LONG, JAVA_LONG);
        cusolverDnSgesvdj_bufferSize = h(sym, "cusolverDnSgesvdj_bufferSize", gesvdjBuf);
        cusolverDnSgesvdj = h(sym, "cusolverDnSgesvdj", gesvdj);
        cusolverDnDgesvdj_bufferSize = h(sym, "cusolverDnDgesvdj_bufferSize", gesvdjBuf);
        cusolverDnDgesvdj = h(sym, "cusolverDnDgesvdj", gesvdj);
        // handle, params, jobu, jobvt, m, n, typeA, A, lda, typeS, S, typeU, U, ldu, typeVT, VT, ldvt, computeType,
        // devBytes*, hostBytes*
        cusolverDnXgesvd_bufferSize = h(sym, "cusolverDnXgesvd_bufferSize", FunctionDescriptor.of(JAVA_INT,
                JAVA_LONG, JAVA_LONG, JAVA_BYTE, JAVA_BYTE, JAVA_LONG, JAVA_LONG,
                JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_LONG,
                JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT, ADDRESS, ADDRESS));
        // ..., computeType, bufferOnDevice, devBytes, bufferOnHost, hostBytes, info
        cusolverDnXgesvd = h(sym, "cusolverDnXgesvd", FunctionDescriptor.of(JAVA_INT,
                JAVA_LONG, JAVA_LONG, JAVA_BYTE, JAVA_BYTE, JAVA_LONG, JAVA_LONG,
                JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_LONG,
                JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_LONG, ADDRESS, JAVA_LONG, JAVA_LONG));
        // handle, params, jobu, jobv, m, n, k, p, niters, typeA, A, lda, typeS, S, typeU, U, ldU, typeV, V, ldV,
        // computeType, devBytes*, hostBytes*
        cusolverDnXgesvdr_bufferSize = h(sym, "cusolverDnXgesvdr_bufferSize", FunctionDescriptor.of(JAVA_INT,
                JAVA_LONG, JAVA_LONG, JAVA_BYTE, JAVA_BYTE, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG,
                JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_LONG,
                JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT, ADDRESS, ADDRESS));
        cusolverDnXgesvdr = h(sym, "cusolverDnXgesvdr", FunctionDescriptor.of(JAVA_INT,
                JAVA_LONG, JAVA_LONG, JAVA_BYTE, JAVA_BYTE, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG,
                JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_LONG,
                JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_LONG, ADDRESS, JAVA_LONG, JAVA_LONG));

        context.bind();
        long h = 0;
        long p = 0;
        long g = 0;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(JAVA_LONG);
            check("cusolverDnCreate", (int) cusolverDnCreate.invokeExact(out));
            h = out.get(JAVA_LONG, 0);
            check("cusolverDnSetStream", (int) cusolverDnSetStream.invokeExact(h, context.stream()));
            check("cusolverDnCreateParams", (int) cusolverDnCreateParams.invokeExact(out));
            p = out.get(JAVA_LONG, 0);
            check("cusolverDnCreateGesvdjInfo", (int) cusolverDnCreateGesvdjInfo.invokeExact(out));
            g = out.get(JAVA_LONG, 0);
        } catch (Throwable t) {
            try {
                if (g != 0) { int ignored = (int) cusolverDnDestroyGesvdjInfo.invokeExact(g); }
                if (p != 0) { int ignored = (int) cusolverDnDestroyParams.invokeExact(p); }
                if (h != 0) { int ignored = (int) cusolverDnDestroy.invokeExact(h); }
            } catch (Throwable ignored) {
                // the first failure is reported
            }
            throw rethrow(t);
        }
        this.handle = h;
        this.params = p;
        this.gesvdjInfo = g;
        this.info = context.allocate(4);
    }

    private static MethodHandle h(Function<String, MemorySegment> sym, String name, FunctionDescriptor fd) {
        return LINKER.downcallHandle(sym.apply(name), fd);
    }

    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) return r;
        if (t instanceof Error e) throw e;
        return new IllegalStateException(t);
    }

    private static void check(String call, int status) {
        if (status != 0) throw CudaStatus.cusolver(call, status);
    }

    private void ensureOpen() {
        if (closed) throw new IllegalStateException("cuSOLVER handle is destroyed");
    }

    public CudaContext context() {
        return context;
    }

    /** The {@code cusolverDnHandle_t}. */
    public long handle() {
        return handle;
    }

    /**
     * Waits for the stream, reads the {@code devInfo} integer at device address {@code devInfo} and throws a
     * {@link CusolverInfoException} naming {@code call} when it is nonzero.
     */
    public void checkInfo(String call, long devInfo) {
        context.bind();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment host = a.allocate(JAVA_INT);
            context.download(host, devInfo, 4);
            int v = host.get(JAVA_INT, 0);
            if (v != 0) throw new CusolverInfoException(call, v);
        }
    }

    // ---- argument checks ----

    static void checkSquare(int n, long a, int lda, long w) {
        if (n < 0) throw new IllegalArgumentException("n must be >= 0, got " + n);
        if (lda < Math.max(1, n)) throw new IllegalArgumentException("lda must be >= max(1, n=" + n + "), got " + lda);
        if (n > 0 && a == 0) throw new IllegalArgumentException("A is a null device pointer");
        if (n > 0 && w == 0) throw new IllegalArgumentException("W is a null device pointer");
    }

    static void checkJobz(int jobz) {
        if (jobz != EIG_MODE_NOVECTOR && jobz != EIG_MODE_VECTOR) {
            throw new IllegalArgumentException("jobz must be EIG_MODE_NOVECTOR (0) or EIG_MODE_VECTOR (1), got " + jobz);
        }
    }

    static void checkUplo(int uplo) {
        if (uplo != FILL_MODE_LOWER && uplo != FILL_MODE_UPPER) {
            throw new IllegalArgumentException("uplo must be FILL_MODE_LOWER (0) or FILL_MODE_UPPER (1), got " + uplo);
        }
    }

    static void checkGeneral(int m, int n, long a, int lda) {
        if (m < 0 || n < 0) throw new IllegalArgumentException("m and n must be >= 0, got m=" + m + " n=" + n);
        if (lda < Math.max(1, m)) throw new IllegalArgumentException("lda must be >= max(1, m=" + m + "), got " + lda);
        if ((long) m * n > 0 && a == 0) throw new IllegalArgumentException("A is a null device pointer");
    }

    private int intOut(String call, java.util.function.ToIntFunction<MemorySegment> f) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(JAVA_INT);
            check(call, f.applyAsInt(out));
            return out.get(JAVA_INT, 0);
        }
    }

    private interface Call {
        int invoke() throws Throwable;
    }

    private static int call(Call c) {
        try {
            return c.invoke();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    // ---- syevd ----

    /** Workspace size in floats for {@link #ssyevd} ({@code cusolverDnSsyevd_bufferSize}). */
    public synchronized int ssyevdBufferSize(int jobz, int uplo, int n, long a, int lda, long w) {
        checkJobz(jobz);
        checkUplo(uplo);
        checkSquare(n, a, lda, w);
        ensureOpen();
        context.bind();
        return intOut("cusolverDnSsyevd_bufferSize", out -> call(() ->
                (int) cusolverDnSsyevd_bufferSize.invokeExact(handle, jobz, uplo, n, a, lda, w, out)));
    }

    /** Raw {@code cusolverDnSsyevd}: eigenvalues ascending in W, eigenvectors in A's columns (jobz VECTOR). */
    public synchronized void ssyevd(int jobz, int uplo, int n, long a, int lda, long w, long work, int lwork, long devInfo) {
        checkJobz(jobz);
        checkUplo(uplo);
        checkSquare(n, a, lda, w);
        if (devInfo == 0) throw new IllegalArgumentException("devInfo is a null device pointer");
        ensureOpen();
        context.bind();
        check("cusolverDnSsyevd", call(() ->
                (int) cusolverDnSsyevd.invokeExact(handle, jobz, uplo, n, a, lda, w, work, lwork, devInfo)));
    }

    /** Checked {@code cusolverDnSsyevd}: sizes the workspace, waits, and throws on a nonzero devInfo. */
    public synchronized void ssyevd(int jobz, int uplo, int n, long a, int lda, long w) {
        if (n == 0) return;
        int lwork = ssyevdBufferSize(jobz, uplo, n, a, lda, w);
        try (DeviceMemory work = context.allocate(Math.max(1L, lwork) * 4)) {
            ssyevd(jobz, uplo, n, a, lda, w, work.address(), lwork, info.address());
            checkInfo("cusolverDnSsyevd", info.address());
        }
    }

    /** Workspace size in doubles for {@link #dsyevd} ({@code cusolverDnDsyevd_bufferSize}). */
    public synchronized int dsyevdBufferSize(int jobz, int uplo, int n, long a, int lda, long w) {
        checkJobz(jobz);
        checkUplo(uplo);
        checkSquare(n, a, lda, w);
        ensureOpen();
        context.bind();
        return intOut("cusolverDnDsyevd_bufferSize", out -> call(() ->
                (int) cusolverDnDsyevd_bufferSize.invokeExact(handle, jobz, uplo, n, a, lda, w, out)));
    }

    /** Raw {@code cusolverDnDsyevd}. */
    public synchronized void dsyevd(int jobz, int uplo, int n, long a, int lda, long w, long work, int lwork, long devInfo) {
        checkJobz(jobz);
        checkUplo(uplo);
        checkSquare(n, a, lda, w);
        if (devInfo == 0) throw new IllegalArgumentException("devInfo is a null device pointer");
        ensureOpen();
        context.bind();
        check("cusolverDnDsyevd", call(() ->
                (int) cusolverDnDsyevd.invokeExact(handle, jobz, uplo, n, a, lda, w, work, lwork, devInfo)));
    }

    /** Checked {@code cusolverDnDsyevd}. */
    public synchronized void dsyevd(int jobz, int uplo, int n, long a, int lda, long w) {
        if (n == 0) return;
        int lwork = dsyevdBufferSize(jobz, uplo, n, a, lda, w);
        try (DeviceMemory work = context.allocate(Math.max(1L, lwork) * 8)) {
            dsyevd(jobz, uplo, n, a, lda, w, work.address(), lwork, info.address());
            checkInfo("cusolverDnDsyevd", info.address());
        }
    }

    // ---- QR ----

    /** Workspace size in floats for {@link #sgeqrf} ({@code cusolverDnSgeqrf_bufferSize}). */
    public synchronized int sgeqrfBufferSize(int m, int n, long a, int lda) {
        checkGeneral(m, n, a, lda);
        ensureOpen();
        context.bind();
        return intOut("cusolverDnSgeqrf_bufferSize", out -> call(() ->
                (int) cusolverDnSgeqrf_bufferSize.invokeExact(handle, m, n, a, lda, out)));
    }

    /** Raw {@code cusolverDnSgeqrf}: A = QR, Householder vectors below R, min(m,n) scalars in tau. */
    public synchronized void sgeqrf(int m, int n, long a, int lda, long tau, long work, int lwork, long devInfo) {
        checkGeneral(m, n, a, lda);
        if (Math.min(m, n) > 0 && tau == 0) throw new IllegalArgumentException("tau is a null device pointer");
        if (devInfo == 0) throw new IllegalArgumentException("devInfo is a null device pointer");
        ensureOpen();
        context.bind();
        check("cusolverDnSgeqrf", call(() ->
                (int) cusolverDnSgeqrf.invokeExact(handle, m, n, a, lda, tau, work, lwork, devInfo)));
    }

    /** Checked {@code cusolverDnSgeqrf}. */
    public synchronized void sgeqrf(int m, int n, long a, int lda, long tau) {
        if (m == 0 || n == 0) return;
        int lwork = sgeqrfBufferSize(m, n, a, lda);
        try (DeviceMemory work = context.allocate(Math.max(1L, lwork) * 4)) {
            sgeqrf(m, n, a, lda, tau, work.address(), lwork, info.address());
            checkInfo("cusolverDnSgeqrf", info.address());
        }
    }

    static void checkOrgqr(int m, int n, int k, long a, int lda, long tau) {
        checkGeneral(m, n, a, lda);
        if (n > m) throw new IllegalArgumentException("orgqr needs n <= m, got m=" + m + " n=" + n);
        if (k < 0 || k > n) throw new IllegalArgumentException("k must be in [0, n=" + n + "], got " + k);
        if (k > 0 && tau == 0) throw new IllegalArgumentException("tau is a null device pointer");
    }

    /** Workspace size in floats for {@link #sorgqr} ({@code cusolverDnSorgqr_bufferSize}). */
    public synchronized int sorgqrBufferSize(int m, int n, int k, long a, int lda, long tau) {
        checkOrgqr(m, n, k, a, lda, tau);
        ensureOpen();
        context.bind();
        return intOut("cusolverDnSorgqr_bufferSize", out -> call(() ->
                (int) cusolverDnSorgqr_bufferSize.invokeExact(handle, m, n, k, a, lda, tau, out)));
    }

    /** Raw {@code cusolverDnSorgqr}: overwrites A with the first n columns of Q. */
    public synchronized void sorgqr(int m, int n, int k, long a, int lda, long tau, long work, int lwork, long devInfo) {
        checkOrgqr(m, n, k, a, lda, tau);
        if (devInfo == 0) throw new IllegalArgumentException("devInfo is a null device pointer");
        ensureOpen();
        context.bind();
        check("cusolverDnSorgqr", call(() ->
                (int) cusolverDnSorgqr.invokeExact(handle, m, n, k, a, lda, tau, work, lwork, devInfo)));
    }

    /** Checked {@code cusolverDnSorgqr}. */
    public synchronized void sorgqr(int m, int n, int k, long a, int lda, long tau) {
        if (m == 0 || n == 0) return;
        int lwork = sorgqrBufferSize(m, n, k, a, lda, tau);
        try (DeviceMemory work = context.allocate(Math.max(1L, lwork) * 4)) {
            sorgqr(m, n, k, a, lda, tau, work.address(), lwork, info.address());
            checkInfo("cusolverDnSorgqr", info.address());
        }
    }

    // ---- gesvdj (exact, any shape) ----

    static void checkGesvdj(int m, int n, long a, int lda, long s, long u, int ldu, long v, int ldv) {
        checkGeneral(m, n, a, lda);
        if (Math.min(m, n) > 0 && (s == 0 || u == 0 || v == 0)) {
            throw new IllegalArgumentException("S, U and V must be non-null device pointers");
        }
        if (ldu < Math.max(1, m)) throw new IllegalArgumentException("ldu must be >= max(1, m=" + m + "), got " + ldu);
        if (ldv < Math.max(1, n)) throw new IllegalArgumentException("ldv must be >= max(1, n=" + n + "), got " + ldv);
    }

    /**
     * Checked economy SVD by Jacobi rotations ({@code cusolverDnSgesvdj}, jobz VECTOR, econ 1) of a column-major
     * m x n matrix: with p = min(m, n), S p values (descending), U m x p, V n x p (V, not V^T). A is destroyed.
     */
    public synchronized void sgesvdj(int m, int n, long a, int lda, long s, long u, int ldu, long v, int ldv) {
        checkGesvdj(m, n, a, lda, s, u, ldu, v, ldv);
        ensureOpen();
        if (m == 0 || n == 0) return;
        context.bind();
        int lwork = intOut("cusolverDnSgesvdj_bufferSize", out -> call(() ->
                (int) cusolverDnSgesvdj_bufferSize.invokeExact(handle, EIG_MODE_VECTOR, 1, m, n, a, lda, s, u, ldu,
                        v, ldv, out, gesvdjInfo)));
        try (DeviceMemory work = context.allocate(Math.max(1L, lwork) * 4)) {
            long w = work.address();
            long i = info.address();
            check("cusolverDnSgesvdj", call(() -> (int) cusolverDnSgesvdj.invokeExact(handle, EIG_MODE_VECTOR, 1, m,
                    n, a, lda, s, u, ldu, v, ldv, w, lwork, i, gesvdjInfo)));
            checkInfo("cusolverDnSgesvdj", i);
        }
    }

    /** As {@link #sgesvdj} in float64 ({@code cusolverDnDgesvdj}). */
    public synchronized void dgesvdj(int m, int n, long a, int lda, long s, long u, int ldu, long v, int ldv) {
        checkGesvdj(m, n, a, lda, s, u, ldu, v, ldv);
        ensureOpen();
        if (m == 0 || n == 0) return;
        context.bind();
        int lwork = intOut("cusolverDnDgesvdj_bufferSize", out -> call(() ->
                (int) cusolverDnDgesvdj_bufferSize.invokeExact(handle, EIG_MODE_VECTOR, 1, m, n, a, lda, s, u, ldu,
                        v, ldv, out, gesvdjInfo)));
        try (DeviceMemory work = context.allocate(Math.max(1L, lwork) * 8)) {
            long w = work.address();
            long i = info.address();
            check("cusolverDnDgesvdj", call(() -> (int) cusolverDnDgesvdj.invokeExact(handle, EIG_MODE_VECTOR, 1, m,
                    n, a, lda, s, u, ldu, v, ldv, w, lwork, i, gesvdjInfo)));
            checkInfo("cusolverDnDgesvdj", i);
        }
    }

    // ---- 64-bit API: gesvd (exact, QR iteration) and gesvdr (randomised top-k) ----

    /**
     * Checked thin SVD by QR iteration with the 64-bit API ({@code cusolverDnXgesvd}, jobu = jobvt = 'S') of a
     * column-major m x n matrix with m >= n (the routine's requirement): S n values, U m x n, VT n x n. A is
     * destroyed. {@code dataType} is {@link Cublas#CUDA_R_32F} or {@link Cublas#CUDA_R_64F} (all operands and the
     * computation).
     */
    public synchronized void xgesvd(int dataType, long m, long n, long a, long lda, long s, long u, long ldu, long vt,
                                    long ldvt) {
        if (dataType != Cublas.CUDA_R_32F && dataType != Cublas.CUDA_R_64F) {
            throw new IllegalArgumentException("dataType must be CUDA_R_32F (0) or CUDA_R_64F (1), got " + dataType);
        }
        if (m < n) throw new IllegalArgumentException("cusolverDnXgesvd needs m >= n, got m=" + m + " n=" + n + " (pass the transpose)");
        if (n < 0) throw new IllegalArgumentException("n must be >= 0, got " + n);
        if (lda < Math.max(1, m) || ldu < Math.max(1, m) || ldvt < Math.max(1, n)) {
            throw new IllegalArgumentException("leading dimensions too small: lda=" + lda + " ldu=" + ldu + " ldvt="
                    + ldvt + " for m=" + m + " n=" + n);
        }
        if (n > 0 && (a == 0 || s == 0 || u == 0 || vt == 0)) {
            throw new IllegalArgumentException("A, S, U and VT must be non-null device pointers");
        }
        ensureOpen();
        if (n == 0) return;
        context.bind();
        byte job = (byte) 'S';
        try (Arena ar = Arena.ofConfined()) {
            MemorySegment dev = ar.allocate(JAVA_LONG);
            MemorySegment host = ar.allocate(JAVA_LONG);
            check("cusolverDnXgesvd_bufferSize", call(() -> (int) cusolverDnXgesvd_bufferSize.invokeExact(handle,
                    params, job, job, m, n, dataType, a, lda, dataType, s, dataType, u, ldu, dataType, vt, ldvt,
                    dataType, dev, host)));
            long devBytes = dev.get(JAVA_LONG, 0);
            long hostBytes = host.get(JAVA_LONG, 0);
            MemorySegment hostBuf = ar.allocate(Math.max(1L, hostBytes), 16);
            try (DeviceMemory work = context.allocate(Math.max(1L, devBytes))) {
                long w = work.address();
                long i = info.address();
                check("cusolverDnXgesvd", call(() -> (int) cusolverDnXgesvd.invokeExact(handle, params, job, job, m, n,
                        dataType, a, lda, dataType, s, dataType, u, ldu, dataType, vt, ldvt, dataType, w, devBytes,
                        hostBuf, hostBytes, i)));
                checkInfo("cusolverDnXgesvd", i); // also waits: the host buffer outlives the call
            }
        }
    }

    /**
     * Checked randomised top-k SVD ({@code cusolverDnXgesvdr}, float32, jobu 'N', jobv 'S') of a column-major
     * m x n matrix with m >= n: {@code p} oversampling columns and {@code niters} power iterations; S k values
     * (descending), V n x k (columns: right singular vectors; ldv >= n). A is destroyed. cuSOLVER draws the random
     * sketch itself (its own seed, not eva4j's).
     */
    public synchronized void sgesvdrRight(long m, long n, long k, long p, long niters, long a, long lda, long s,
                                          long v, long ldv) {
        if (m < n) throw new IllegalArgumentException("cusolverDnXgesvdr is called with m >= n, got m=" + m + " n=" + n);
        if (k < 1 || k > n) throw new IllegalArgumentException("k must be in [1, n=" + n + "], got " + k);
        if (p < 0 || k + p > n) throw new IllegalArgumentException("p must be >= 0 with k + p <= n, got k=" + k + " p=" + p);
        if (niters < 0) throw new IllegalArgumentException("niters must be >= 0, got " + niters);
        if (lda < Math.max(1, m) || ldv < Math.max(1, n)) {
            throw new IllegalArgumentException("leading dimensions too small: lda=" + lda + " ldv=" + ldv);
        }
        if (a == 0 || s == 0 || v == 0) throw new IllegalArgumentException("A, S and V must be non-null device pointers");
        ensureOpen();
        context.bind();
        byte jobu = (byte) 'N';
        byte jobv = (byte) 'S';
        int t = Cublas.CUDA_R_32F;
        long ldu = m; // U is not referenced with jobu 'N', but ldUrand must still be valid
        try (Arena ar = Arena.ofConfined()) {
            MemorySegment dev = ar.allocate(JAVA_LONG);
            MemorySegment host = ar.allocate(JAVA_LONG);
            check("cusolverDnXgesvdr_bufferSize", call(() -> (int) cusolverDnXgesvdr_bufferSize.invokeExact(handle,
                    params, jobu, jobv, m, n, k, p, niters, t, a, lda, t, s, t, 0L, ldu, t, v, ldv, t, dev, host)));
            long devBytes = dev.get(JAVA_LONG, 0);
            long hostBytes = host.get(JAVA_LONG, 0);
            MemorySegment hostBuf = ar.allocate(Math.max(1L, hostBytes), 16);
            try (DeviceMemory work = context.allocate(Math.max(1L, devBytes))) {
                long w = work.address();
                long i = info.address();
                check("cusolverDnXgesvdr", call(() -> (int) cusolverDnXgesvdr.invokeExact(handle, params, jobu, jobv,
                        m, n, k, p, niters, t, a, lda, t, s, t, 0L, ldu, t, v, ldv, t, w, devBytes, hostBuf, hostBytes,
                        i)));
                checkInfo("cusolverDnXgesvdr", i);
            }
        }
    }

    /** Destroys the handle, its parameter objects and its devInfo buffer. Idempotent. */
    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        if (context.isClosed()) return;
        context.bind();
        info.close();
        check("cusolverDnDestroyGesvdjInfo", call(() -> (int) cusolverDnDestroyGesvdjInfo.invokeExact(gesvdjInfo)));
        check("cusolverDnDestroyParams", call(() -> (int) cusolverDnDestroyParams.invokeExact(params)));
        check("cusolverDnDestroy", call(() -> (int) cusolverDnDestroy.invokeExact(handle)));
    }
}
