package dev.eva4j.cpu.openblas;

import dev.eva4j.spi.Transpose;
import java.lang.foreign.MemorySegment;
import java.util.Objects;

/**
 * Checks the arguments of a (strided-batched) row-major GEMM before it reaches native code.
 * Shapes: op(A) m x k (A stored m x k, or k x m when transposed), op(B) k x n, C m x n; matrix t of an operand
 * starts {@code t * stride} elements after the first.
 */
final class GemmChecks {
    private GemmChecks() {}

    /** For a plain GEMM: batch 1, strides 0. @throws IllegalArgumentException naming the operand at fault */
    static void check(String op, Transpose transA, Transpose transB, int m, int n, int k,
                      MemorySegment a, int lda, long strideA, MemorySegment b, int ldb, long strideB,
                      MemorySegment c, int ldc, long strideC, int batch) {
        Objects.requireNonNull(transA, "transA");
        Objects.requireNonNull(transB, "transB");
        Operands.requireNonNegative(op, "m", m);
        Operands.requireNonNegative(op, "n", n);
        Operands.requireNonNegative(op, "k", k);
        Operands.requireNonNegative(op, "batch", batch);
        Operands.requireNonNegative(op, "strideA", strideA);
        Operands.requireNonNegative(op, "strideB", strideB);
        Operands.requireNonNegative(op, "strideC", strideC);
        boolean batched = batch != 1 || strideA != 0 || strideB != 0 || strideC != 0;

        int rowsA = transA.on() ? k : m, colsA = transA.on() ? m : k;
        int rowsB = transB.on() ? n : k, colsB = transB.on() ? k : n;
        String shapeA = (transA.on() ? "k=" + k + ", m=" + m + ", transposed" : "m=" + m + ", k=" + k)
                + ", lda=" + lda + (batched ? ", batch=" + batch + ", strideA=" + strideA : "");
        String shapeB = (transB.on() ? "n=" + n + ", k=" + k + ", transposed" : "k=" + k + ", n=" + n)
                + ", ldb=" + ldb + (batched ? ", batch=" + batch + ", strideB=" + strideB : "");
        String shapeC = "m=" + m + ", n=" + n + ", ldc=" + ldc + (batched ? ", batch=" + batch + ", strideC="
                + strideC : "");
        Operands.requireLeadingDim(op, "lda", lda, colsA, shapeA);
        Operands.requireLeadingDim(op, "ldb", ldb, colsB, shapeB);
        Operands.requireLeadingDim(op, "ldc", ldc, n, shapeC);

        long spanC = Operands.span(m, n, ldc);
        if (batch > 1 && strideC < spanC) {
            throw new IllegalArgumentException(op + ": the C matrices overlap: strideC=" + strideC + " but one C spans "
                    + spanC + " floats (" + shapeC + ")");
        }
        Operands.require(op, "A", a, batchSpan(batch, strideA, Operands.span(rowsA, colsA, lda)), Float.BYTES,
                "floats", shapeA, false);
        Operands.require(op, "B", b, batchSpan(batch, strideB, Operands.span(rowsB, colsB, ldb)), Float.BYTES,
                "floats", shapeB, false);
        Operands.require(op, "C", c, batchSpan(batch, strideC, spanC), Float.BYTES, "floats", shapeC, true);
    }

    /** Elements {@code batch} matrices of {@code span} elements, {@code stride} apart, cover; saturates. */
    static long batchSpan(int batch, long stride, long span) {
        if (batch == 0 || span == 0) return 0;
        try {
            return Math.addExact(Math.multiplyExact(batch - 1L, stride), span);
        } catch (ArithmeticException overflow) {
            return Long.MAX_VALUE;
        }
    }
}
