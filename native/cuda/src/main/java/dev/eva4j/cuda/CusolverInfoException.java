package dev.eva4j.cuda;

/**
 * A cuSOLVER routine that returned {@code CUSOLVER_STATUS_SUCCESS} but reported failure through its
 * {@code devInfo}/{@code info} output: a negative value {@code -i} means parameter {@code i} was wrong, a positive
 * value means the algorithm did not converge (or, for QR/Cholesky, a breakdown at that position).
 */
public final class CusolverInfoException extends CudaException {
    private final int info;

    CusolverInfoException(String call, int info) {
        super("cuSOLVER", call, info, "info=" + info, info < 0
                ? "parameter " + (-info) + " had an illegal value"
                : "the algorithm did not converge or broke down (info " + info + ")");
        this.info = info;
    }

    /** The {@code devInfo} value the routine wrote. */
    public int info() {
        return info;
    }
}
