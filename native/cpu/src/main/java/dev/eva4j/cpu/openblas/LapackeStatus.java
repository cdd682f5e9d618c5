package dev.eva4j.cpu.openblas;

/** Turns the {@code info} a LAPACKE function returns into an exception naming the call and what went wrong. */
final class LapackeStatus {
    /** LAPACKE could not allocate its work array ({@code LAPACK_WORK_MEMORY_ERROR}). */
    static final int WORK_MEMORY_ERROR = -1010;
    /** LAPACKE could not allocate the buffer for a row-major transpose ({@code LAPACK_TRANSPOSE_MEMORY_ERROR}). */
    static final int TRANSPOSE_MEMORY_ERROR = -1011;

    private LapackeStatus() {}

    /**
     * Returns normally when {@code info == 0}.
     *
     * @param call     the function ("LAPACKE_sgesdd")
     * @param argNames its arguments in order; LAPACKE reports a bad argument i (1-based) as info = -i
     * @param shape    the sizes of this call, for the message
     * @throws ArithmeticException   info > 0: the algorithm did not converge; or the matrix holds NaN (LAPACKE's
     *                               NaN check reports it as an illegal argument {@code a})
     * @throws IllegalStateException info < 0 otherwise: an argument LAPACKE rejected (a bug: arguments are checked
     *                               before the call), or no memory for its workspace
     */
    static void check(String call, int info, String[] argNames, String shape) {
        if (info == 0) return;
        if (info > 0) {
            throw new ArithmeticException(call + " did not converge (info=" + info + ", " + shape + ")");
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
