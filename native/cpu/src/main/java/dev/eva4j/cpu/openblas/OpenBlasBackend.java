package dev.eva4j.cpu.openblas;

import static dev.eva4j.cpu.openblas.OpenBlasFunctions.NO_TRANS;
import static dev.eva4j.cpu.openblas.OpenBlasFunctions.ROW_MAJOR;
import static dev.eva4j.cpu.openblas.OpenBlasFunctions.TRANS;

import dev.eva4j.api.kernels.HostGemm;
import dev.eva4j.cpu.HostArgs;
import dev.eva4j.api.kernels.HostKernels;
import dev.eva4j.spi.Availability;
import dev.eva4j.spi.Capability;
import dev.eva4j.spi.ComputeBackend;
import dev.eva4j.spi.Kernels;
import dev.eva4j.spi.Transpose;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.Set;
import java.util.stream.IntStream;

/**
 * {@link ComputeBackend} over OpenBLAS (CBLAS + LAPACKE) through FFM: one native call per operation, on the caller's
 * native segments, without copies. Arguments are checked in Java first ({@link HostArgs}); heap
 * segments are rejected. The library is loaded on the first {@link #availability()} or operation
 * ({@link OpenBlasLibrary}); an operation while it is unavailable is an {@link IllegalStateException} with the reason.
 *
 * <p><b>Threads.</b> OpenBLAS's own thread pool is never used: on loading, its process-wide thread count is set to 1
 * once and never changed again (changing it while another thread is inside OpenBLAS is a known crash source). This
 * backend parallelises in Java instead: a large GEMM is split into {@link #threads()} slabs of rows (or columns) of C,
 * and a batch of small GEMMs into groups of matrices, each slab a single-threaded OpenBLAS call on a fork-join
 * worker. The host kernels' element-wise ops use the same fork-join pool, so the cores never have OpenBLAS threads
 * busy-waiting for work while Java threads compute (OpenBLAS's workers spin for a while after each call, which on a
 * small machine took a third of a forward pass). Slabs are fixed by the sizes and the thread count alone, so a given
 * thread count gives the same result on every run. LAPACK calls run single-threaded on the calling thread.
 * Thread-safe: any number of threads may call any operation at once; {@link #setThreads} affects later calls.
 */
public final class OpenBlasBackend implements ComputeBackend {
    /** GEMMs up to this many multiply-adds (m*n*k) use the critical (no thread transition) downcall: ~0.1 ms. */
    static final long CRITICAL_MAX_MULTIPLY_ADDS = 64L * 64 * 64;

    /**
     * Products up to this many multiply-adds never go to {@code cblas_sgemm_batch_strided}: OpenBLAS 0.3.31's
     * DYNAMIC_ARCH build sends them to its small-matrix kernels through a table that is not filled on this path,
     * and the call jumps to a bad address (SIGSEGV at pc=0x130, seen on AMD Zen for 19x23x17). Its threshold is
     * the same 100^3 (interface/gemm_batch_strided.c).
     */
    static final long BATCHED_MIN_MULTIPLY_ADDS = 100L * 100 * 100;

    private static final Set<Capability> CAPABILITIES = Set.of(Capability.HOST_MEMORY,
            Capability.NATIVE_LINEAR_ALGEBRA);

    /** GEMMs with fewer multiply-adds than this are not split (a hand-off costs a few microseconds). */
    static final long SPLIT_MIN_MULTIPLY_ADDS = 1L << 20;
    /** Slabs are at least this many rows (or columns) of C. */
    static final int SPLIT_MIN_ROWS = 16;

    private volatile HostKernels kernels;
    private volatile int threads = Math.max(1, Runtime.getRuntime().availableProcessors());

    public OpenBlasBackend() {}

    @Override
    public String name() {
        return "openblas";
    }

    @Override
    public int priority() {
        return 100;
    }

    @Override
    public String description() {
        return "OpenBLAS (CBLAS + LAPACKE) through FFM, float32/float64 on the CPU";
    }

    @Override
    public Availability availability() {
        Availability a = OpenBlasLibrary.availability();
        return a.available() ? Availability.ok(a.reason() + "; row kernels: " + RowLibrary.description()) : a;
    }

    /** C (m x n, ldc) = alpha op(A) op(B) + beta C; op(A) m x k, op(B) k x n. See {@link ComputeBackend#sgemm}. */
    @Override
    public void sgemm(Transpose transA, Transpose transB, int m, int n, int k, float alpha, MemorySegment a, int lda,
                      MemorySegment b, int ldb, float beta, MemorySegment c, int ldc) {
        HostArgs.gemm("sgemm", transA, transB, m, n, k, a, lda, 0, b, ldb, 0, c, ldc, 0, 1, true);
        requireAvailable();
        if (m == 0 || n == 0) return;
        split(cblas(transA), cblas(transB), m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, threads);
    }

    /**
     * One GEMM as up to {@code parts} single-threaded calls over slabs of C: rows when C has at least as many rows as
     * columns, else columns. Row i of op(A) starts at A + i lda (not transposed) or A + i (transposed); column j of
     * op(B) at B + j (not transposed) or B + j ldb (transposed).
     */
    private static void split(int ta, int tb, int m, int n, int k, float alpha, MemorySegment a0, int lda,
                              MemorySegment b0, int ldb, float beta, MemorySegment c0, int ldc, int parts) {
        boolean rows = m >= n;
        int extent = rows ? m : n;
        int slabs = (int) Math.min(parts, extent / SPLIT_MIN_ROWS);
        if (slabs < 2 || (long) m * n * k < SPLIT_MIN_MULTIPLY_ADDS) {
            callSgemm(ta, tb, m, n, k, alpha, a0, lda, b0, ldb, beta, c0, ldc);
            return;
        }
        MemorySegment a = anyThread(a0), b = anyThread(b0), c = anyThread(c0);
        IntStream.range(0, slabs).parallel().forEach(p -> {
            int first = (int) ((long) extent * p / slabs), end = (int) ((long) extent * (p + 1) / slabs);
            if (first == end) return;
            if (rows) {
                long aOff = (ta == NO_TRANS ? (long) first * lda : first) * Float.BYTES;
                callSgemm(ta, tb, end - first, n, k, alpha, a.asSlice(aOff), lda, b, ldb, beta,
                        c.asSlice((long) first * ldc * Float.BYTES), ldc);
            } else {
                long bOff = (tb == NO_TRANS ? first : (long) first * ldb) * Float.BYTES;
                callSgemm(ta, tb, m, end - first, k, alpha, a, lda, b.asSlice(bOff), ldb, beta,
                        c.asSlice((long) first * Float.BYTES), ldc);
            }
        });
    }

    /**
     * {@code batch} GEMMs, matrix t of each operand {@code t * stride} elements after the first; one call to
     * {@code cblas_sgemm_batch_strided} when the library has it, the strides fit its 32-bit ints and each product
     * has more than {@link #BATCHED_MIN_MULTIPLY_ADDS} multiply-adds; else one {@code cblas_sgemm} per matrix.
     * See {@link ComputeBackend#sgemmStridedBatched}.
     */
    @Override
    public void sgemmStridedBatched(Transpose transA, Transpose transB, int m, int n, int k, float alpha,
                                    MemorySegment a, int lda, long strideA, MemorySegment b, int ldb, long strideB,
                                    float beta, MemorySegment c, int ldc, long strideC, int batch) {
        String op = "sgemmStridedBatched";
        HostArgs.gemm(op, transA, transB, m, n, k, a, lda, strideA, b, ldb, strideB, c, ldc, strideC, batch, true);
        requireAvailable();
        if (batch == 0 || m == 0 || n == 0) return;
        int parts = threads;
        if (parts > 1) {
            parallelBatch(cblas(transA), cblas(transB), m, n, k, alpha, a, lda, strideA, b, ldb, strideB, beta, c,
                    ldc, strideC, batch, parts);
            return;
        }
        MethodHandle batched = OpenBlasFunctions.SGEMM_BATCH_STRIDED;
        if (batched == null || (long) m * n * k <= BATCHED_MIN_MULTIPLY_ADDS
                || !fitsInt(strideA) || !fitsInt(strideB) || !fitsInt(strideC)) {
            loopStridedBatched(transA, transB, m, n, k, alpha, a, lda, strideA, b, ldb, strideB, beta, c, ldc,
                    strideC, batch);
            return;
        }
        try {
            batched.invokeExact(ROW_MAJOR, cblas(transA), cblas(transB), m, n, k, alpha, a, lda, (int) strideA,
                    b, ldb, (int) strideB, beta, c, ldc, (int) strideC, batch);
        } catch (Throwable t) {
            throw failure("cblas_sgemm_batch_strided", t);
        }
    }

    /**
     * A batch on {@code parts} threads: matrices in contiguous groups, one group per worker, each GEMM single-threaded
     * (a single matrix, or fewer matrices than workers, is split by slabs instead).
     */
    private static void parallelBatch(int ta, int tb, int m, int n, int k, float alpha, MemorySegment a0, int lda,
                                      long strideA, MemorySegment b0, int ldb, long strideB, float beta,
                                      MemorySegment c0, int ldc, long strideC, int batch, int parts) {
        MemorySegment a = anyThread(a0), b = anyThread(b0), c = anyThread(c0);
        if (batch < parts) {
            for (int t = 0; t < batch; t++) {
                split(ta, tb, m, n, k, alpha, a.asSlice(t * strideA * Float.BYTES), lda,
                        b.asSlice(t * strideB * Float.BYTES), ldb, beta, c.asSlice(t * strideC * Float.BYTES), ldc,
                        parts);
            }
            return;
        }
        IntStream.range(0, parts).parallel().forEach(p -> {
            int first = (int) ((long) batch * p / parts), end = (int) ((long) batch * (p + 1) / parts);
            for (int t = first; t < end; t++) {
                callSgemm(ta, tb, m, n, k, alpha, a.asSlice(t * strideA * Float.BYTES), lda,
                        b.asSlice(t * strideB * Float.BYTES), ldb, beta, c.asSlice(t * strideC * Float.BYTES), ldc);
            }
        });
    }

    /**
     * The same memory as a segment any thread may pass to a downcall: the caller's segments may belong to a confined
     * arena, and the slabs run on fork-join workers. Safe because the caller blocks until every slab is done, so
     * its arena (which only it can close, when confined) outlives the calls.
     */
    private static MemorySegment anyThread(MemorySegment s) {
        return MemorySegment.ofAddress(s.address()).reinterpret(s.byteSize());
    }

    /** The fallback of {@link #sgemmStridedBatched}: one {@code cblas_sgemm} per matrix; arguments already checked. */
    void loopStridedBatched(Transpose transA, Transpose transB, int m, int n, int k, float alpha,
                            MemorySegment a, int lda, long strideA, MemorySegment b, int ldb, long strideB,
                            float beta, MemorySegment c, int ldc, long strideC, int batch) {
        int ta = cblas(transA), tb = cblas(transB);
        for (int t = 0; t < batch; t++) {
            callSgemm(ta, tb, m, n, k, alpha, a.asSlice(t * strideA * Float.BYTES), lda,
                    b.asSlice(t * strideB * Float.BYTES), ldb, beta, c.asSlice(t * strideC * Float.BYTES), ldc);
        }
    }

    /** One {@code cblas_sgemm}, critical when small; m, n >= 1 and arguments checked. */
    private static void callSgemm(int ta, int tb, int m, int n, int k, float alpha, MemorySegment a, int lda,
                                  MemorySegment b, int ldb, float beta, MemorySegment c, int ldc) {
        try {
            if ((long) m * n * k <= CRITICAL_MAX_MULTIPLY_ADDS) {
                OpenBlasFunctions.SGEMM_CRITICAL.invokeExact(ROW_MAJOR, ta, tb, m, n, k, alpha, a, lda, b, ldb,
                        beta, c, ldc);
            } else {
                OpenBlasFunctions.SGEMM.invokeExact(ROW_MAJOR, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
            }
        } catch (Throwable t) {
            throw failure("cblas_sgemm", t);
        }
    }

    /** A (m x n, overwritten) = U (m x p) diag(S) (p) Vt (p x n), p = min(m, n); LAPACKE_sgesdd, jobz 'S'. */
    @Override
    public void sgesdd(int m, int n, MemorySegment a, MemorySegment s, MemorySegment u, MemorySegment vt) {
        gesdd("sgesdd", OpenBlasFunctions.SGESDD, Float.BYTES, m, n, a, s, u, vt);
    }

    /** As {@link #sgesdd} in float64; LAPACKE_dgesdd. */
    @Override
    public void dgesdd(int m, int n, MemorySegment a, MemorySegment s, MemorySegment u, MemorySegment vt) {
        gesdd("dgesdd", OpenBlasFunctions.DGESDD, Double.BYTES, m, n, a, s, u, vt);
    }

    /** Symmetric A (n x n, upper triangle read) -> eigenvalues W (n, ascending), eigenvectors in A's columns. */
    @Override
    public void ssyevd(int n, MemorySegment a, MemorySegment w) {
        syevd("ssyevd", OpenBlasFunctions.SSYEVD, Float.BYTES, n, a, w);
    }

    /** As {@link #ssyevd} in float64; LAPACKE_dsyevd. */
    @Override
    public void dsyevd(int n, MemorySegment a, MemorySegment w) {
        syevd("dsyevd", OpenBlasFunctions.DSYEVD, Double.BYTES, n, a, w);
    }

    /** Java threads one GEMM (or batch of GEMMs) is split across; OpenBLAS itself always runs single-threaded. */
    @Override
    public int threads() {
        return threads;
    }

    /** Sets how many Java threads later GEMMs are split across (this backend instance only). */
    @Override
    public void setThreads(int threads) {
        if (threads < 1) throw new IllegalArgumentException("setThreads: threads must be >= 1 but is " + threads);
        this.threads = threads;
    }

    // ---- helpers ------------------------------------------------------------------------------------------------

    /** ?gesdd on row-major A m x n: lda = n, ldu = p, ldvt = n. */
    private void gesdd(String op, MethodHandle handle, int bytes, int m, int n, MemorySegment a,
                       MemorySegment s, MemorySegment u, MemorySegment vt) {
        HostArgs.nonNegative(op, "m", m);
        HostArgs.nonNegative(op, "n", n);
        int p = Math.min(m, n);
        String shape = "m=" + m + ", n=" + n;
        HostArgs.operand(op, "A", a, (long) m * n, bytes, shape, true, true);
        HostArgs.operand(op, "S", s, p, bytes, shape + ", p=" + p, true, true);
        HostArgs.operand(op, "U", u, (long) m * p, bytes, shape + ", U m x p, p=" + p, true, true);
        HostArgs.operand(op, "Vt", vt, (long) p * n, bytes, shape + ", Vt p x n, p=" + p, true, true);
        requireAvailable();
        if (p == 0) return;
        int info;
        try {
            info = (int) handle.invokeExact(ROW_MAJOR, (byte) 'S', m, n, a, n, s, u, p, vt, n);
        } catch (Throwable t) {
            throw failure("LAPACKE_" + op, t);
        }
        LapackeStatus.checkGesdd("LAPACKE_" + op, info, shape);
    }

    /** ?syevd on row-major A n x n, jobz 'V', uplo 'U', lda = n. */
    private void syevd(String op, MethodHandle handle, int bytes, int n, MemorySegment a,
                       MemorySegment w) {
        HostArgs.nonNegative(op, "n", n);
        String shape = "n=" + n;
        HostArgs.operand(op, "A", a, (long) n * n, bytes, shape, true, true);
        HostArgs.operand(op, "W", w, n, bytes, shape, true, true);
        requireAvailable();
        if (n == 0) return;
        int info;
        try {
            info = (int) handle.invokeExact(ROW_MAJOR, (byte) 'V', (byte) 'U', n, a, n, w);
        } catch (Throwable t) {
            throw failure("LAPACKE_" + op, t);
        }
        LapackeStatus.checkSyevd("LAPACKE_" + op, info, n, shape);
    }

    private void requireAvailable() {
        Availability availability = OpenBlasLibrary.availability();
        if (!availability.available()) {
            throw new IllegalStateException("the openblas backend is unavailable: " + availability.reason());
        }
        SingleThreaded.ensure();
    }

    /** Sets OpenBLAS's process-wide thread count to 1, once, before this backend's first call into it. */
    private static final class SingleThreaded {
        static {
            try {
                OpenBlasFunctions.SET_NUM_THREADS.invokeExact(1);
            } catch (Throwable t) {
                throw failure("openblas_set_num_threads", t);
            }
        }

        static void ensure() {
            // loading the class ran the static initialiser
        }
    }

    private static int cblas(Transpose t) {
        return t.on() ? TRANS : NO_TRANS;
    }

    private static boolean fitsInt(long v) {
        return v <= Integer.MAX_VALUE;
    }

    /** What a downcall threw: runtime exceptions (a closed arena, ...) and errors as they are. */
    private static RuntimeException failure(String call, Throwable t) {
        if (t instanceof RuntimeException e) return e;
        if (t instanceof Error e) throw e;
        return new IllegalStateException(call + " failed", t);
    }

    /**
     * Every kernel in float32 on the host ({@link HostKernels}): GEMMs in OpenBLAS, the element-wise ops in
     * eva4j's C row kernels when the build made them ({@link RowLibrary}), the rest in Java.
     */
    @Override
    public Kernels kernels() {
        requireAvailable();
        HostKernels k = kernels;
        if (k == null) {
            synchronized (this) {
                k = kernels;
                if (k == null) kernels = k = new HostKernels(name(), HostGemm.of(this), RowLibrary.kernels(), CAPABILITIES);
            }
        }
        return k;
    }

    @Override
    public Set<Capability> capabilities() {
        return CAPABILITIES;
    }
}
