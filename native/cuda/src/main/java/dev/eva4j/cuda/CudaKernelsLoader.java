package dev.eva4j.cuda;

import java.util.Optional;

/**
 * Opens the {@link CudaKernels} of device 0 once per JVM (the primary context, eva4j's fatbin loaded into it, cuBLAS),
 * or says why they cannot run here: no driver or device, a build without kernels (nvcc was absent), or cuBLAS missing.
 * Thread-safe.
 */
public final class CudaKernelsLoader {
    private static volatile KernelImage image;
    private static CudaKernels shared;

    private CudaKernelsLoader() {}

    /** The kernels this jar carries (read once). */
    public static KernelImage image() {
        KernelImage i = image;
        if (i == null) image = i = KernelImage.load();
        return i;
    }

    /**
     * Why eva4j's kernels cannot run here, or empty when they can: checked in the order driver and device, fatbin,
     * cuBLAS (with its dependencies). Never throws.
     */
    public static Optional<String> problem() {
        CudaDriverProbe.Result r = CudaDriverProbe.probe();
        if (!r.driverFound() || r.devices() == 0) return Optional.of(r.detail());
        KernelImage i = image();
        if (i.fatbin().isEmpty()) return Optional.of(i.reason());
        try {
            return CudaLibraries.system().problem(CudaLibraries.Library.CUBLAS);
        } catch (RuntimeException | LinkageError e) {
            return Optional.of("the CUDA libraries cannot be searched: " + e);
        }
    }

    /**
     * The kernels of device 0, opened on first call and shared by every caller (they live until the JVM exits).
     *
     * @throws IllegalStateException with {@link #problem()}'s reason when they cannot run here
     * @throws CudaException         when the driver refuses (e.g. no code in the fatbin for this GPU)
     */
    public static synchronized CudaKernels shared() {
        if (shared != null) return shared;
        Optional<String> problem = problem();
        if (problem.isPresent()) throw new IllegalStateException("cuda kernels cannot run here: " + problem.get());
        CudaContext context = CudaContext.open(0);
        try {
            CudaModule module = CudaModule.load(context, image().fatbin().orElseThrow());
            shared = new CudaKernels(context, module);
            return shared;
        } catch (RuntimeException | Error e) {
            context.close();
            throw e;
        }
    }
}
