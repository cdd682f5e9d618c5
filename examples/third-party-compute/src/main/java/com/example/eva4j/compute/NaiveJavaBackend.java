package com.example.eva4j.compute;

import dev.eva4j.api.kernels.HostGemm;
import dev.eva4j.api.kernels.HostKernels;
import dev.eva4j.spi.Availability;
import dev.eva4j.spi.Capability;
import dev.eva4j.spi.ComputeBackend;
import dev.eva4j.spi.Kernels;
import dev.eva4j.spi.Transpose;
import java.lang.foreign.MemorySegment;
import java.util.Set;

/**
 * A third-party compute backend, {@code naive-java}: eva4j finds it through {@code META-INF/services} when this jar
 * is on the class path, with no change to eva4j. Its kernels are eva4j's host kernels ({@link HostKernels}: buffers
 * in host memory, every transformer op in float32 Java) with this backend's own {@link TripleLoopGemm} plugged in as
 * the GEMM every matrix product runs on. It offers no host LAPACK: {@code sgesdd}, {@code dgesdd}, {@code ssyevd} and
 * {@code dsyevd} throw, so it has no {@link Capability#NATIVE_LINEAR_ALGEBRA}, and eva4j's SVD backend keeps its
 * own compute backend when this one is chosen. Its priority is below eva4j's backends: it is used only when named
 * ({@code --backend naive-java}).
 */
public final class NaiveJavaBackend implements ComputeBackend {
    private final HostKernels kernels = new HostKernels("naive-java", HostGemm.of(this), Set.of());

    public NaiveJavaBackend() {}

    @Override
    public String name() {
        return "naive-java";
    }

    /** Below eva4j's own backends (java is 10). */
    @Override
    public int priority() {
        return 5;
    }

    @Override
    public String description() {
        return "example third-party backend: eva4j's host kernels over a triple-loop GEMM, no LAPACK";
    }

    @Override
    public Availability availability() {
        return Availability.ok("plain Java, one thread, triple-loop GEMM");
    }

    @Override
    public Kernels kernels() {
        return kernels;
    }

    @Override
    public void sgemm(Transpose transA, Transpose transB, int m, int n, int k, float alpha, MemorySegment a, int lda,
                      MemorySegment b, int ldb, float beta, MemorySegment c, int ldc) {
        TripleLoopGemm.multiply("sgemm", transA, transB, m, n, k, alpha, a, lda, 0, b, ldb, 0, beta, c, ldc, 0, 1);
    }

    @Override
    public void sgemmStridedBatched(Transpose transA, Transpose transB, int m, int n, int k, float alpha,
                                    MemorySegment a, int lda, long strideA, MemorySegment b, int ldb, long strideB,
                                    float beta, MemorySegment c, int ldc, long strideC, int batch) {
        TripleLoopGemm.multiply("sgemmStridedBatched", transA, transB, m, n, k, alpha, a, lda, strideA, b, ldb,
                strideB, beta, c, ldc, strideC, batch);
    }

    @Override
    public void sgesdd(int m, int n, MemorySegment a, MemorySegment s, MemorySegment u, MemorySegment vt) {
        throw noLapack("sgesdd");
    }

    @Override
    public void dgesdd(int m, int n, MemorySegment a, MemorySegment s, MemorySegment u, MemorySegment vt) {
        throw noLapack("dgesdd");
    }

    @Override
    public void ssyevd(int n, MemorySegment a, MemorySegment w) {
        throw noLapack("ssyevd");
    }

    @Override
    public void dsyevd(int n, MemorySegment a, MemorySegment w) {
        throw noLapack("dsyevd");
    }

    private static UnsupportedOperationException noLapack(String call) {
        return new UnsupportedOperationException("naive-java has no host LAPACK (" + call + "): it only runs the "
                + "kernels; use an SVD backend on another compute backend (eva4j's cpu SVD backend does so by itself)");
    }

    /** One thread, always. */
    @Override
    public int threads() {
        return 1;
    }

    /** Accepted and ignored: this backend runs on the caller's thread. */
    @Override
    public void setThreads(int threads) {
        if (threads < 1) throw new IllegalArgumentException("threads must be >= 1, got " + threads);
    }
}
