package com.example.eva4j.compute;

import dev.eva4j.spi.KernelArgs;
import dev.eva4j.spi.Transpose;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Objects;

/**
 * The example backend's own GEMM: three plain loops, row-major, float32 operands, each dot product accumulated in
 * float64. As slow as it looks; its point is to be obviously right. Operands are checked first with eva4j's
 * {@link KernelArgs}, so a short or missing operand is an {@link IllegalArgumentException} naming it.
 */
final class TripleLoopGemm {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;

    private TripleLoopGemm() {}

    /**
     * C_t = alpha op(A_t) op(B_t) + beta C_t for t in [0, batch), operand t starting {@code t * stride} elements in.
     * Shapes: op(A) m x k (A stored m x k, or k x m when transposed), op(B) k x n, C m x n; beta 0 ignores C's values.
     */
    static void multiply(String op, Transpose transA, Transpose transB, int m, int n, int k, float alpha,
                         MemorySegment a, int lda, long strideA, MemorySegment b, int ldb, long strideB, float beta,
                         MemorySegment c, int ldc, long strideC, int batch) {
        Objects.requireNonNull(transA, "transA");
        Objects.requireNonNull(transB, "transB");
        KernelArgs.check(m >= 0 && n >= 0 && k >= 0 && batch >= 0, op,
                "m, n, k and batch must be >= 0, got m=" + m + ", n=" + n + ", k=" + k + ", batch=" + batch);
        KernelArgs.check(strideA >= 0 && strideB >= 0 && strideC >= 0, op, "strides must be >= 0");
        int colsA = transA.on() ? m : k, rowsA = transA.on() ? k : m;
        int colsB = transB.on() ? k : n, rowsB = transB.on() ? n : k;
        KernelArgs.check(lda >= Math.max(1, colsA), op, "lda=" + lda + " is below the " + colsA + " columns of A");
        KernelArgs.check(ldb >= Math.max(1, colsB), op, "ldb=" + ldb + " is below the " + colsB + " columns of B");
        KernelArgs.check(ldc >= Math.max(1, n), op, "ldc=" + ldc + " is below the " + n + " columns of C");
        if (m == 0 || n == 0 || batch == 0) return;
        String shape = "m=" + m + ", n=" + n + ", k=" + k + ", batch=" + batch;
        KernelArgs.requireHost(op, "A", a, span(batch, strideA, rowsA, colsA, lda), Float.BYTES, shape + ", lda=" + lda);
        KernelArgs.requireHost(op, "B", b, span(batch, strideB, rowsB, colsB, ldb), Float.BYTES, shape + ", ldb=" + ldb);
        KernelArgs.requireHost(op, "C", c, span(batch, strideC, m, n, ldc), Float.BYTES, shape + ", ldc=" + ldc);
        for (int t = 0; t < batch; t++) {
            long a0 = t * strideA, b0 = t * strideB, c0 = t * strideC;
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double sum = 0;
                    for (int p = 0; p < k; p++) {
                        float x = a.getAtIndex(F, a0 + (transA.on() ? (long) p * lda + i : (long) i * lda + p));
                        float y = b.getAtIndex(F, b0 + (transB.on() ? (long) j * ldb + p : (long) p * ldb + j));
                        sum += (double) x * y;
                    }
                    long at = c0 + (long) i * ldc + j;
                    double old = beta == 0f ? 0 : beta * (double) c.getAtIndex(F, at);
                    c.setAtIndex(F, at, (float) (alpha * sum + old));
                }
            }
        }
    }

    /** Elements that {@code batch} matrices of rows x cols (leading dimension ld), {@code stride} apart, reach. */
    private static long span(int batch, long stride, int rows, int cols, int ld) {
        if (rows == 0 || cols == 0) return 0;
        return (batch - 1L) * stride + (rows - 1L) * ld + cols;
    }
}
