package dev.eva4j.cuda;

import dev.eva4j.spi.Availability;
import dev.eva4j.spi.ComputeBackend;
import dev.eva4j.spi.Transpose;
import java.lang.foreign.MemorySegment;

/**
 * The CUDA compute backend (cuBLAS, cuSOLVER and eva4j's kernels through FFM). This version holds only the module
 * and the driver probe: it reports itself unavailable — with what it found — until the CUDA issue lands its
 * operations, so it is listed by {@code eva4j backends} but never chosen.
 */
public final class CudaBackend implements ComputeBackend {
    private volatile Availability availability;

    @Override
    public String name() {
        return "cuda";
    }

    @Override
    public int priority() {
        return 200;
    }

    @Override
    public String description() {
        return "NVIDIA GPUs through the CUDA driver API, cuBLAS and cuSOLVER (FFM)";
    }

    @Override
    public Availability availability() {
        Availability a = availability;
        if (a == null) {
            CudaDriverProbe.Result r = CudaDriverProbe.probe();
            if (!r.driverFound() || r.devices() == 0) {
                KernelImage image = CudaKernelsLoader.image();
                a = Availability.unavailable(r.detail() + (image.fatbin().isPresent() ? "" : "; also, " + image.reason()));
            } else {
                // the kernels' own problem first (a build without nvcc, cuBLAS missing): what a person can act on
                a = Availability.unavailable(CudaKernelsLoader.problem().map(p -> r.detail() + ", but " + p)
                        .orElse(r.detail() + ", but this eva4j build has no CUDA host linear algebra yet"));
            }
            availability = a;
        }
        return a;
    }

    private UnsupportedOperationException unavailable() {
        return new UnsupportedOperationException("cuda backend cannot work here: " + availability().reason());
    }

    @Override
    public void sgemm(Transpose transA, Transpose transB, int m, int n, int k, float alpha, MemorySegment a, int lda,
                      MemorySegment b, int ldb, float beta, MemorySegment c, int ldc) {
        throw unavailable();
    }

    @Override
    public void sgemmStridedBatched(Transpose transA, Transpose transB, int m, int n, int k, float alpha,
                                    MemorySegment a, int lda, long strideA, MemorySegment b, int ldb, long strideB,
                                    float beta, MemorySegment c, int ldc, long strideC, int batch) {
        throw unavailable();
    }

    @Override
    public void sgesdd(int m, int n, MemorySegment a, MemorySegment s, MemorySegment u, MemorySegment vt) {
        throw unavailable();
    }

    @Override
    public void dgesdd(int m, int n, MemorySegment a, MemorySegment s, MemorySegment u, MemorySegment vt) {
        throw unavailable();
    }

    @Override
    public void ssyevd(int n, MemorySegment a, MemorySegment w) {
        throw unavailable();
    }

    @Override
    public void dsyevd(int n, MemorySegment a, MemorySegment w) {
        throw unavailable();
    }

    @Override
    public int threads() {
        return 1;
    }

    @Override
    public void setThreads(int threads) {
        if (threads < 1) throw new IllegalArgumentException("threads must be >= 1, got " + threads);
    }

    @Override
    /**
     * The CUDA kernels of device 0 ({@link CudaKernelsLoader#shared()}), shared by every caller. They work wherever
     * the driver, a device, this build's fatbin and cuBLAS are present, even while the backend as a whole reports
     * itself unavailable for its host linear algebra.
     *
     * @throws IllegalStateException when the kernels cannot run here (the message says why)
     */
    public dev.eva4j.spi.Kernels kernels() {
        return CudaKernelsLoader.shared();
    }
}
