package dev.eva4j.cuda;

/**
 * A CUDA call that failed: names the library ({@code CUDA driver}, {@code cuBLAS}, {@code cuSOLVER}), the call,
 * the status' symbolic name and the library's own description. {@link #status()} is the raw status value
 * ({@code CUresult}, {@code cublasStatus_t} or {@code cusolverStatus_t}); for a cuSOLVER {@code devInfo} failure
 * ({@link CusolverInfoException}) it is the info value.
 */
public class CudaException extends RuntimeException {
    private final String call;
    private final int status;
    private final String statusName;

    /** A failed driver call ({@code CUresult}); kept for the probe's message format. */
    CudaException(String call, int status, String name, String text) {
        this("CUDA driver", call, status, name, text);
    }

    CudaException(String library, String call, int status, String name, String text) {
        super(library + " call " + call + " failed: " + name + " (" + status + "): " + text);
        this.call = call;
        this.status = status;
        this.statusName = name;
    }

    /** A failure with a message of its own (a library that cannot be loaded, a symbol that is missing). */
    CudaException(String message, Throwable cause) {
        super(message, cause);
        this.call = "";
        this.status = -1;
        this.statusName = "";
    }

    /** The C function that failed, e.g. {@code cuMemAlloc_v2}; empty for a failure that is not a call's status. */
    public String call() {
        return call;
    }

    /** The status value the call returned ({@code CUresult}, {@code cublasStatus_t}, {@code cusolverStatus_t}). */
    public int status() {
        return status;
    }

    /** The status' symbolic name, e.g. {@code CUDA_ERROR_OUT_OF_MEMORY}. */
    public String statusName() {
        return statusName;
    }
}
