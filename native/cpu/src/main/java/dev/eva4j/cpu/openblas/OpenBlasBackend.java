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
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * {@link ComputeBackend} over OpenBLAS (CBLAS + LAPACKE) through FFM: one native call per operation, on the caller's
 * native segments, without copies. Arguments are checked in Java first ({@link HostArgs}); heap
 * segments are rejected. The library is loaded on the first {@link #availability()} or operation
 * ({@link OpenBlasLibrary}); an operation while it is unavailable is an {@link IllegalStateException} with the reason.
 *
 * <p>Thread-safe, on this model: any number of threads may run operations at once (OpenBLAS's threaded builds take
 * concurrent calls), but OpenBLAS's thread count is one process-wide setting, and changing it while another thread
 * is inside OpenBLAS can crash the process (its thread pool is resized under the running call). So every call into
 * OpenBLAS holds a process-wide lock shared, and whatever changes the thread count holds it exclusively, waiting
 * until no call is in flight: {@link #setThreads}, and the small batched products of {@link #sgemmStridedBatched},
 * which run single-threaded by setting the count to 1 and back ({@code openblas_set_num_threads_local} is no more
 * local than that in OpenBLAS's pthreads builds: it sets the same global). {@link #threads()} therefore always
 * reports the count last set by {@link #setThreads}. The cost is one uncontended lock per call.
 */
public final class OpenBlasBackend implements ComputeBackend {
    /** GEMMs up to this many multiply-adds (m*n*k) use the critical (no thread transition) downcall: ~0.1 ms. */
    static final long CRITICAL_MAX_MULTIPLY_ADDS = 64L * 64 * 64;
    /** Batched products up to this size run single-threaded (see {@link #loopStridedBatched}). */
    static final long SINGLE_THREAD_MAX_MULTIPLY_ADDS = 1L << 21;

    /**
     * Products up to this many multiply-adds never go to {@code cblas_sgemm_batch_strided}: OpenBLAS 0.3.31's
     * DYNAMIC_ARCH build sends them to its small-matrix kernels through a table that is not filled on this path,
     * and the call jumps to a bad address (SIGSEGV at pc=0x130, seen on AMD Zen for 19x23x17). Its threshold is
     * the same 100^3 (interface/gemm_batch_strided.c).
     */
    static final long BATCHED_MIN_MULTIPLY_ADDS = 100L * 100 * 100;

    private static final Set<Capability> CAPABILITIES = Set.of(Capability.HOST_MEMORY,
            Capability.NATIVE_LINEAR_ALGEBRA);

    /**
     * Held shared by every call into OpenBLAS, exclusively while its process-wide thread count changes; static, as
     * that count is one per process whatever the number of backend instances.
     */
    private static final ReentrantReadWriteLock THREAD_COUNT = new ReentrantReadWriteLock();

    private volatile HostKernels kernels;

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
        return OpenBlasLibrary.availability();
    }

    /** C (m x n, ldc) = alpha op(A) op(B) + beta C; op(A) m x k, op(B) k x n. See {@link ComputeBackend#sgemm}. */
    @Override
    public void sgemm(Transpose transA, Transpose transB, int m, int n, int k, float alpha, MemorySegment a, int lda,
                      MemorySegment b, int ldb, float beta, MemorySegment c, int ldc) {
        HostArgs.gemm("sgemm", transA, transB, m, n, k, a, lda, 0, b, ldb, 0, c, ldc, 0, 1, true);
        requireAvailable();
        if (m == 0 || n == 0) return;
        callSgemm(cblas(transA), cblas(transB), m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
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
        MethodHandle batched = OpenBlasFunctions.SGEMM_BATCH_STRIDED;
        if (batched == null || (long) m * n * k <= BATCHED_MIN_MULTIPLY_ADDS
                || !fitsInt(strideA) || !fitsInt(strideB) || !fitsInt(strideC)) {
            loopStridedBatched(transA, transB, m, n, k, alpha, a, lda, strideA, b, ldb, strideB, beta, c, ldc,
                    strideC, batch);
            return;
        }
        Lock shared = THREAD_COUNT.readLock();
        shared.lock();
        try {
            batched.invokeExact(ROW_MAJOR, cblas(transA), cblas(transB), m, n, k, alpha, a, lda, (int) strideA,
                    b, ldb, (int) strideB, beta, c, ldc, (int) strideC, batch);
        } catch (Throwable t) {
            throw failure("cblas_sgemm_batch_strided", t);
        } finally {
            shared.unlock();
        }
    }

    /** The fallback of {@link #sgemmStridedBatched}: one {@code cblas_sgemm} per matrix; arguments already checked. */
    void loopStridedBatched(Transpose transA, Transpose transB, int m, int n, int k, float alpha,
                            MemorySegment a, int lda, long strideA, MemorySegment b, int ldb, long strideB,
                            float beta, MemorySegment c, int ldc, long strideC, int batch) {
        int ta = cblas(transA), tb = cblas(transB);
        // Small products (attention's per-head GEMMs) gain nothing from OpenBLAS's threads but pay a thread hand-off
        // per call, which on a busy 2-core machine costs milliseconds each (measured: 12 x 128x128x32 took ~195 ms
        // with 2 threads, 0.4 ms with 1). Run them single-threaded: the count is process-wide, so the loop holds the
        // thread-count lock exclusively (no other call is inside OpenBLAS meanwhile) and restores the count after.
        boolean single = (long) m * n * k <= SINGLE_THREAD_MAX_MULTIPLY_ADDS
                && OpenBlasFunctions.SET_NUM_THREADS_LOCAL != null;
        Lock lock = single ? THREAD_COUNT.writeLock() : THREAD_COUNT.readLock();
        lock.lock();
        try {
            int previous = single ? setLocalThreads(1) : 0;
            try {
                for (int t = 0; t < batch; t++) {
                    callSgemm(ta, tb, m, n, k, alpha, a.asSlice(t * strideA * Float.BYTES), lda,
                            b.asSlice(t * strideB * Float.BYTES), ldb, beta, c.asSlice(t * strideC * Float.BYTES), ldc);
                }
            } finally {
                if (single) setLocalThreads(previous);
            }
        } finally {
            lock.unlock();
        }
    }

    private static int setLocalThreads(int n) {
        try {
            return (int) OpenBlasFunctions.SET_NUM_THREADS_LOCAL.invokeExact(n);
        } catch (Throwable t) {
            throw failure("openblas_set_num_threads_local", t);
        }
    }

    /** One {@code cblas_sgemm}, critical when small; m, n >= 1 and arguments checked; holds the lock shared. */
    private static void callSgemm(int ta, int tb, int m, int n, int k, float alpha, MemorySegment a, int lda,
                                  MemorySegment b, int ldb, float beta, MemorySegment c, int ldc) {
        Lock shared = THREAD_COUNT.readLock();
        shared.lock();
        try {
            if ((long) m * n * k <= CRITICAL_MAX_MULTIPLY_ADDS) {
                OpenBlasFunctions.SGEMM_CRITICAL.invokeExact(ROW_MAJOR, ta, tb, m, n, k, alpha, a, lda, b, ldb,
                        beta, c, ldc);
            } else {
                OpenBlasFunctions.SGEMM.invokeExact(ROW_MAJOR, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
            }
        } catch (Throwable t) {
            throw failure("cblas_sgemm", t);
        } finally {
            shared.unlock();
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

    /** OpenBLAS's process-wide thread count (as last set by {@link #setThreads}, or its default). */
    @Override
    public int threads() {
        requireAvailable();
        Lock shared = THREAD_COUNT.readLock();
        shared.lock();
        try {
            return (int) OpenBlasFunctions.GET_NUM_THREADS.invokeExact();
        } catch (Throwable t) {
            throw failure("openblas_get_num_threads", t);
        } finally {
            shared.unlock();
        }
    }

    @Override
    public void setThreads(int threads) {
        if (threads < 1) throw new IllegalArgumentException("setThreads: threads must be >= 1 but is " + threads);
        requireAvailable();
        Lock exclusive = THREAD_COUNT.writeLock();
        exclusive.lock(); // waits until no thread is inside OpenBLAS
        try {
            OpenBlasFunctions.SET_NUM_THREADS.invokeExact(threads);
        } catch (Throwable t) {
            throw failure("openblas_set_num_threads", t);
        } finally {
            exclusive.unlock();
        }
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
        Lock shared = THREAD_COUNT.readLock();
        shared.lock();
        try {
            info = (int) handle.invokeExact(ROW_MAJOR, (byte) 'S', m, n, a, n, s, u, p, vt, n);
        } catch (Throwable t) {
            throw failure("LAPACKE_" + op, t);
        } finally {
            shared.unlock();
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
        Lock shared = THREAD_COUNT.readLock();
        shared.lock();
        try {
            info = (int) handle.invokeExact(ROW_MAJOR, (byte) 'V', (byte) 'U', n, a, n, w);
        } catch (Throwable t) {
            throw failure("LAPACKE_" + op, t);
        } finally {
            shared.unlock();
        }
        LapackeStatus.checkSyevd("LAPACKE_" + op, info, n, shape);
    }

    private void requireAvailable() {
        Availability availability = OpenBlasLibrary.availability();
        if (!availability.available()) {
            throw new IllegalStateException("the openblas backend is unavailable: " + availability.reason());
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

    /** Every kernel in float32 on the host: GEMMs in OpenBLAS, the rest in Java ({@link HostKernels}). */
    @Override
    public Kernels kernels() {
        requireAvailable();
        HostKernels k = kernels;
        if (k == null) {
            synchronized (this) {
                k = kernels;
                if (k == null) kernels = k = new HostKernels(name(), HostGemm.of(this), CAPABILITIES);
            }
        }
        return k;
    }

    @Override
    public Set<Capability> capabilities() {
        return CAPABILITIES;
    }
}
