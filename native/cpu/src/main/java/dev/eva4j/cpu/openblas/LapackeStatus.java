package dev.eva4j.cpu.openblas;

/**
 * The one place a LAPACKE {@code info} becomes an exception: it names the call ("LAPACKE_sgesdd"), the sizes, and
 * what LAPACK documents the value to mean. Every LAPACKE call of {@link OpenBlasBackend} goes through it.
 */
final class LapackeStatus {
    /** LAPACKE could not allocate its work array ({@code LAPACK_WORK_MEMORY_ERROR}). */
    static final int WORK_MEMORY_ERROR = -1010;
    /** LAPACKE could not allocate the buffer for a row-major transpose ({@code LAPACK_TRANSPOSE_MEMORY_ERROR}). */
    static final int TRANSPOSE_MEMORY_ERROR = -1011;

    private LapackeStatus() {}

    /** ?gesdd (jobz 'S'): info > 0 means the bidiagonal divide and conquer did not converge. */
    static void checkGesdd(String call, int info, String shape) {
        check(call, info, OpenBlasFunctions.GESDD_ARGS, shape,
                "the bidiagonal divide and conquer (?bdsdc) failed to converge");
    }

    /**
     * ?syevd (jobz 'V'): info > 0 means no eigenvalue was found for the submatrix in rows and columns info/(n+1)
     * through info mod (n+1).
     */
    static void checkSyevd(String call, int info, int n, String shape) {
        check(call, info, OpenBlasFunctions.SYEVD_ARGS, shape, info <= 0 ? "" : "it failed to compute an eigenvalue "
                + "of the submatrix in rows and columns " + info / (n + 1) + " through " + info % (n + 1));
    }

    /**
     * Returns normally when {@code info == 0}.
     *
     * @param call         the function ("LAPACKE_sgesdd")
     * @param argNames     its arguments in order; LAPACKE reports a bad argument i (1-based) as info = -i
     * @param shape        the sizes of this call, for the message
     * @param notConverged what info > 0 means for this function
     * @throws ArithmeticException   info > 0: the algorithm did not converge; or the matrix holds NaN (LAPACKE's
     *                               NaN check reports it as an illegal argument {@code a})
     * @throws IllegalStateException info < 0 otherwise: an argument LAPACKE rejected (a bug: arguments are checked
     *                               before the call), or no memory for its workspace
     */
    static void check(String call, int info, String[] argNames, String shape, String notConverged) {
        if (info == 0) return;
        if (info > 0) {
            throw new ArithmeticException(call + " did not converge: " + notConverged + " (info=" + info + ", "
                    + shape + ")");
        }
        if (info == WORK_MEMORY_ERROR || info == TRANSPOSE_MEMORY_ERROR) {
            throw new IllegalStateException(call + " could not allocate its workspace (info=" + info + ", " + shape
                    + ")");
        }
        int arg = -info;
        String name = arg <= argNames.length ? argNames[arg - 1] : "?";
        if (name.equals("a")) {
            throw new ArithmeticException(call + ": the input matrix holds NaN (info=" + info + ", " + shape + ")");
        }
        throw new IllegalStateException(call + ": argument " + arg + " (" + name + ") had an illegal value (info="
                + info + ", " + shape + ")");
    }
}
