package dev.eva4j.spi;

import java.lang.foreign.MemorySegment;
import java.util.Set;

/**
 * A compute backend: the {@link Kernels} a transformer's forward and backward passes run on (backend-owned memory,
 * every op as a forward/backward pair), plus host linear algebra for the SVD backends.
 *
 * <p>Host linear algebra: all matrices are <b>row-major</b>; a leading dimension is the distance, in
 * elements, between the starts of two consecutive rows as stored. Operands are host {@link MemorySegment}s holding
 * float32 ({@code s...}) or float64 ({@code d...}) values in native byte order; their sizes are checked against the
 * shapes and leading dimensions, and a mismatch is an {@link IllegalArgumentException} naming the operand.
 *
 * <p>Implementations: {@code openblas} (native, FFM) and {@code java} (pure Java, Vector API) in eva4j-native-cpu;
 * third parties add their own through {@link java.util.ServiceLoader}.
 */
public interface ComputeBackend extends Provider {

    /**
     * The kernels of this backend (memory it owns and every transformer op). Models upload their weights here once
     * and compute only through these calls, so the same model code runs on every backend.
     *
     * @throws IllegalStateException when the backend is not available (the message says why)
     */
    Kernels kernels();

    /** What this backend offers beyond the contract (host memory, native LAPACK, an accelerator, ...); empty when it
     * is not available here. */
    default Set<Capability> capabilities() {
        return isAvailable() ? kernels().capabilities() : Set.of();
    }

    default boolean has(Capability capability) {
        return capabilities().contains(capability);
    }

    /**
     * C = alpha * op(A) * op(B) + beta * C.
     * Shapes: op(A) m x k (A stored m x k, or k x m when transposed), op(B) k x n, C m x n.
     */
    void sgemm(Transpose transA, Transpose transB, int m, int n, int k,
               float alpha, MemorySegment a, int lda, MemorySegment b, int ldb,
               float beta, MemorySegment c, int ldc);

    /**
     * {@code batch} independent GEMMs; matrix i of each operand starts {@code stride*} elements after matrix i-1.
     * Shapes as {@link #sgemm}; strides may be 0 to share an operand across the batch (not for C).
     */
    void sgemmStridedBatched(Transpose transA, Transpose transB, int m, int n, int k,
                             float alpha, MemorySegment a, int lda, long strideA,
                             MemorySegment b, int ldb, long strideB,
                             float beta, MemorySegment c, int ldc, long strideC, int batch);

    /**
     * Thin SVD of a row-major m x n float32 matrix A = U diag(S) Vt (divide and conquer, LAPACK's gesdd semantics).
     * With p = min(m, n): {@code s} p values, descending; {@code u} m x p; {@code vt} p x n. A is overwritten.
     *
     * @throws ArithmeticException when the algorithm does not converge
     */
    void sgesdd(int m, int n, MemorySegment a, MemorySegment s, MemorySegment u, MemorySegment vt);

    /** As {@link #sgesdd} in float64. */
    void dgesdd(int m, int n, MemorySegment a, MemorySegment s, MemorySegment u, MemorySegment vt);

    /**
     * Eigen-decomposition of a symmetric n x n float32 matrix (only its upper triangle is read).
     * On return {@code w} holds the n eigenvalues in ascending order and {@code a} the eigenvectors as
     * <i>columns</i>: element (i, j) of A is component i of the eigenvector of w[j].
     */
    void ssyevd(int n, MemorySegment a, MemorySegment w);

    /** As {@link #ssyevd} in float64. */
    void dsyevd(int n, MemorySegment a, MemorySegment w);

    /** Number of threads this backend uses for one operation. */
    int threads();

    /** Sets the number of threads for later operations (>= 1). */
    void setThreads(int threads);
}
