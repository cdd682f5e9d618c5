package dev.eva4j.cuda;

import dev.eva4j.spi.Availability;
import java.util.Optional;

/**
 * The fatbin of this build ({@link #image()}, read once) and the {@link CudaKernels} of the shared CUDA context
 * ({@link CudaRuntime#context()}), or why they cannot run here: the libraries, driver or device
 * ({@link CudaBackend#availability()}), or a build without kernels (nvcc was absent). Thread-safe.
 */
public final class CudaKernelsLoader {
    private static volatile KernelImage image;
    private static final CudaBackend BACKEND = new CudaBackend();

    private CudaKernelsLoader() {}

    /** The kernels this jar carries (read once). */
    public static KernelImage image() {
        KernelImage i = image;
        if (i == null) image = i = KernelImage.load();
        return i;
    }

    /** Why eva4j's kernels cannot run here, or empty when they can. Never throws. */
    public static Optional<String> problem() {
        try {
            Availability a = BACKEND.availability();
            return a.available() ? Optional.empty() : Optional.of(a.reason());
        } catch (RuntimeException | LinkageError e) {
            return Optional.of("the CUDA backend cannot be probed: " + e);
        }
    }

    /**
     * The kernels of the shared context, created on first call and shared by every caller.
     *
     * @throws IllegalStateException with {@link #problem()}'s reason when they cannot run here
     */
    public static CudaKernels shared() {
        return (CudaKernels) BACKEND.kernels();
    }
}
