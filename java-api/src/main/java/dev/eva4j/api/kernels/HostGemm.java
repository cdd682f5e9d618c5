package dev.eva4j.api.kernels;

import dev.eva4j.spi.ComputeBackend;
import dev.eva4j.spi.Transpose;
import java.lang.foreign.MemorySegment;
import java.util.Objects;

/**
 * The host GEMMs {@link HostKernels} runs every matrix product on (OpenBLAS, the pure-Java GEMM, ...): row-major,
 * float32, on native segments, with the semantics of {@link ComputeBackend#sgemm} and
 * {@link ComputeBackend#sgemmStridedBatched}.
 */
public interface HostGemm {

    /** C (m x n) = alpha op(A) op(B) + beta C. See {@link ComputeBackend#sgemm}. */
    void sgemm(Transpose transA, Transpose transB, int m, int n, int k, float alpha, MemorySegment a, int lda,
               MemorySegment b, int ldb, float beta, MemorySegment c, int ldc);

    /** {@code batch} GEMMs, matrix t of each operand {@code t * stride} elements in. */
    void sgemmStridedBatched(Transpose transA, Transpose transB, int m, int n, int k, float alpha, MemorySegment a,
                             int lda, long strideA, MemorySegment b, int ldb, long strideB, float beta,
                             MemorySegment c, int ldc, long strideC, int batch);

    /** The GEMMs of a compute backend. */
    static HostGemm of(ComputeBackend backend) {
        Objects.requireNonNull(backend, "backend");
        return new HostGemm() {
            @Override
            public void sgemm(Transpose transA, Transpose transB, int m, int n, int k, float alpha, MemorySegment a,
                              int lda, MemorySegment b, int ldb, float beta, MemorySegment c, int ldc) {
                backend.sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
            }

            @Override
            public void sgemmStridedBatched(Transpose transA, Transpose transB, int m, int n, int k, float alpha,
                                            MemorySegment a, int lda, long strideA, MemorySegment b, int ldb,
                                            long strideB, float beta, MemorySegment c, int ldc, long strideC,
                                            int batch) {
                backend.sgemmStridedBatched(transA, transB, m, n, k, alpha, a, lda, strideA, b, ldb, strideB, beta,
                        c, ldc, strideC, batch);
            }
        };
    }
}
