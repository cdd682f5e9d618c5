package dev.eva4j.cuda;

/** A CUDA driver call that returned an error: names the call, the CUresult's name and the driver's own text. */
public final class CudaException extends RuntimeException {
    private final int status;

    CudaException(String call, int status, String name, String text) {
        super(call + " failed: " + name + " (" + status + "): " + text);
        this.status = status;
    }

    /** The CUresult value. */
    public int status() {
        return status;
    }
}
