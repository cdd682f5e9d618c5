package dev.eva4j.cpu.openblas;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;

/**
 * Downcall handles for the OpenBLAS functions the backend calls (32-bit {@code blasint}/{@code lapack_int}, as the
 * bytedeco build uses). Loading this class loads the library: touch it only after
 * {@link OpenBlasLibrary#availability()} said yes. No argument checking happens here; {@link OpenBlasBackend} checks
 * every call first.
 */
final class OpenBlasFunctions {
    static final int ROW_MAJOR = 101;
    static final int NO_TRANS = 111;
    static final int TRANS = 112;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LIB = OpenBlasLibrary.lookup();

    private static final FunctionDescriptor SGEMM_DESC = FunctionDescriptor.ofVoid(
            JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT,   // order, transA, transB, m, n, k
            JAVA_FLOAT, ADDRESS, JAVA_INT, ADDRESS, JAVA_INT,            // alpha, A, lda, B, ldb
            JAVA_FLOAT, ADDRESS, JAVA_INT);                              // beta, C, ldc

    /** {@code void cblas_sgemm(order, transA, transB, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc)}. */
    static final MethodHandle SGEMM = handle("cblas_sgemm", SGEMM_DESC);

    /**
     * {@link #SGEMM} without the Java-to-native thread transition: for small products only, as the thread holds
     * up every safepoint (and so the GC) until the call returns.
     */
    static final MethodHandle SGEMM_CRITICAL = handle("cblas_sgemm", SGEMM_DESC, Linker.Option.critical(false));

    /**
     * {@code void cblas_sgemm_batch_strided(order, transA, transB, m, n, k, alpha, A, lda, strideA, B, ldb, strideB,
     * beta, C, ldc, strideC, batch)}, strides in elements; {@code null} when the library lacks it (before 0.3.30).
     */
    static final MethodHandle SGEMM_BATCH_STRIDED = LIB.find("cblas_sgemm_batch_strided")
            .map(s -> LINKER.downcallHandle(s, FunctionDescriptor.ofVoid(
                    JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT,
                    JAVA_FLOAT, ADDRESS, JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT,
                    JAVA_FLOAT, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT)))
            .orElse(null);

    private static final FunctionDescriptor GESDD_DESC = FunctionDescriptor.of(JAVA_INT,
            JAVA_INT, JAVA_BYTE, JAVA_INT, JAVA_INT,       // layout, jobz, m, n
            ADDRESS, JAVA_INT, ADDRESS,                   // A, lda, S
            ADDRESS, JAVA_INT, ADDRESS, JAVA_INT);        // U, ldu, VT, ldvt

    /** {@code lapack_int LAPACKE_sgesdd(layout, jobz, m, n, A, lda, S, U, ldu, VT, ldvt)}. */
    static final MethodHandle SGESDD = handle("LAPACKE_sgesdd", GESDD_DESC);
    static final MethodHandle DGESDD = handle("LAPACKE_dgesdd", GESDD_DESC);

    /** Argument names of LAPACKE_?gesdd, 1-based as LAPACKE's info reports them. */
    static final String[] GESDD_ARGS = {"matrix_layout", "jobz", "m", "n", "a", "lda", "s", "u", "ldu", "vt", "ldvt"};

    private static final FunctionDescriptor SYEVD_DESC = FunctionDescriptor.of(JAVA_INT,
            JAVA_INT, JAVA_BYTE, JAVA_BYTE, JAVA_INT,      // layout, jobz, uplo, n
            ADDRESS, JAVA_INT, ADDRESS);                  // A, lda, W

    /** {@code lapack_int LAPACKE_ssyevd(layout, jobz, uplo, n, A, lda, W)}. */
    static final MethodHandle SSYEVD = handle("LAPACKE_ssyevd", SYEVD_DESC);
    static final MethodHandle DSYEVD = handle("LAPACKE_dsyevd", SYEVD_DESC);

    static final String[] SYEVD_ARGS = {"matrix_layout", "jobz", "uplo", "n", "a", "lda", "w"};

    /** {@code void openblas_set_num_threads(int)}. */
    static final MethodHandle SET_NUM_THREADS = handle("openblas_set_num_threads",
            FunctionDescriptor.ofVoid(JAVA_INT));

    /** {@code int openblas_get_num_threads(void)}: reads a global, so a critical call is safe and cheap. */
    static final MethodHandle GET_NUM_THREADS = handle("openblas_get_num_threads",
            FunctionDescriptor.of(JAVA_INT), Linker.Option.critical(false));

    /**
     * {@code int openblas_set_num_threads_local(int)}: sets the thread count and returns the previous one (OpenBLAS
     * >= 0.3.27); {@code null} when the library lacks it. Despite its name it sets the process-wide count in the
     * pthreads builds (measured on the bundled 0.3.31: another thread reads the new value), so callers hold
     * {@link OpenBlasBackend}'s thread-count lock exclusively.
     */
    static final MethodHandle SET_NUM_THREADS_LOCAL = LIB.find("openblas_set_num_threads_local")
            .map(s -> LINKER.downcallHandle(s, FunctionDescriptor.of(JAVA_INT, JAVA_INT)))
            .orElse(null);

    private OpenBlasFunctions() {}

    private static MethodHandle handle(String name, FunctionDescriptor desc, Linker.Option... options) {
        MemorySegment symbol = LIB.find(name)
                .orElseThrow(() -> new IllegalStateException("OpenBLAS lacks " + name));
        return LINKER.downcallHandle(symbol, desc, options);
    }
}
