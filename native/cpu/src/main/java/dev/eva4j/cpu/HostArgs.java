package dev.eva4j.cpu;

import dev.eva4j.spi.KernelArgs;
import dev.eva4j.spi.Transpose;
import java.lang.foreign.MemorySegment;
import java.util.Objects;

/**
 * The argument checks of both CPU backends' host linear algebra (sgemm, gesdd, syevd on host segments), done before
 * any native or Java work, through the one checker every backend shares ({@link KernelArgs}): a wrong argument is
 * an {@link IllegalArgumentException} reading {@code "<op>: <operand> <what is wrong> (<shape>)"}.
 */
public final class HostArgs {
    private HostArgs() {}

    /** Elements a row-major rows x cols matrix with leading dimension {@code ld} spans: (rows-1)*ld + cols, or 0. */
    public static long span(long rows, long cols, long ld) {
        return rows == 0 || cols == 0 ? 0 : (rows - 1) * ld + cols;
    }

    /** Elements {@code batch} matrices of {@code span} elements, {@code stride} apart, cover; saturates. */
    public static long batchSpan(int batch, long stride, long span) {
        if (batch == 0 || span == 0) return 0;
        try {
            return Math.addExact(Math.multiplyExact(batch - 1L, stride), span);
        } catch (ArithmeticException overflow) {
            return Long.MAX_VALUE;
        }
    }

    public static void nonNegative(String op, String name, long value) {
        KernelArgs.check(value >= 0, op, name + " must be >= 0, got " + value);
    }

    /**
     * {@code segment} holds {@code elements} values of {@code elementBytes} bytes; when {@code nativeOnly} it is a
     * native segment (a heap one cannot be handed to native code), when {@code written} it is writable.
     */
    public static void operand(String op, String name, MemorySegment segment, long elements, int elementBytes,
                               String shape, boolean nativeOnly, boolean written) {
        KernelArgs.check(segment == null || !nativeOnly || segment.isNative(), op, name
                + " is a heap segment; native code needs a native one (allocate it from an Arena)");
        KernelArgs.requireHost(op, name, segment, elements, elementBytes, shape);
        KernelArgs.check(!written || !segment.isReadOnly(), op, name + " is written but the segment is read-only");
    }

    /**
     * A (strided-batched) row-major float32 GEMM: op(A) m x k (A stored m x k, or k x m when transposed), op(B)
     * k x n, C m x n; matrix t of an operand starts {@code t * stride} elements after the first; the C matrices may
     * not overlap.
     */
    public static void gemm(String op, Transpose transA, Transpose transB, int m, int n, int k,
                            MemorySegment a, int lda, long strideA, MemorySegment b, int ldb, long strideB,
                            MemorySegment c, int ldc, long strideC, int batch, boolean nativeOnly) {
        // the common case, every argument right, without building a message (a GEMM is called thousands of times a
        // pass, and C2 compiles this smaller method sooner); anything wrong goes through the full check below,
        // which names the problem
        if (transA != null && transB != null && (m | n | k | batch) >= 0 && (strideA | strideB | strideC) >= 0) {
            boolean ta = transA.on(), tb = transB.on();
            int colsA = ta ? m : k, colsB = tb ? k : n;
            long spanC = span(m, n, ldc);
            if (lda >= Math.max(1, colsA) && ldb >= Math.max(1, colsB) && ldc >= Math.max(1, n)
                    && (batch <= 1 || strideC >= spanC)
                    && fits(a, batchSpan(batch, strideA, span(ta ? k : m, colsA, lda)), nativeOnly)
                    && fits(b, batchSpan(batch, strideB, span(tb ? n : k, colsB, ldb)), nativeOnly)
                    && fits(c, batchSpan(batch, strideC, spanC), nativeOnly) && !c.isReadOnly()) {
                return;
            }
        }
        checkGemm(op, transA, transB, m, n, k, a, lda, strideA, b, ldb, strideB, c, ldc, strideC, batch, nativeOnly);
    }

    /** A float32 operand that {@link #operand} accepts: present, native when required, large enough. */
    private static boolean fits(MemorySegment s, long elements, boolean nativeOnly) {
        return s != null && (!nativeOnly || s.isNative()) && elements >= 0 && s.byteSize() >= elements * Float.BYTES;
    }

    private static void checkGemm(String op, Transpose transA, Transpose transB, int m, int n, int k,
                                  MemorySegment a, int lda, long strideA, MemorySegment b, int ldb, long strideB,
                                  MemorySegment c, int ldc, long strideC, int batch, boolean nativeOnly) {
        Objects.requireNonNull(transA, "transA");
        Objects.requireNonNull(transB, "transB");
        nonNegative(op, "m", m);
        nonNegative(op, "n", n);
        nonNegative(op, "k", k);
        nonNegative(op, "batch", batch);
        nonNegative(op, "strideA", strideA);
        nonNegative(op, "strideB", strideB);
        nonNegative(op, "strideC", strideC);
        boolean batched = batch != 1 || strideA != 0 || strideB != 0 || strideC != 0;

        int rowsA = transA.on() ? k : m, colsA = transA.on() ? m : k;
        int rowsB = transB.on() ? n : k, colsB = transB.on() ? k : n;
        String shapeA = (transA.on() ? "k=" + k + ", m=" + m + ", transposed" : "m=" + m + ", k=" + k)
                + ", lda=" + lda + (batched ? ", batch=" + batch + ", strideA=" + strideA : "");
        String shapeB = (transB.on() ? "n=" + n + ", k=" + k + ", transposed" : "k=" + k + ", n=" + n)
                + ", ldb=" + ldb + (batched ? ", batch=" + batch + ", strideB=" + strideB : "");
        String shapeC = "m=" + m + ", n=" + n + ", ldc=" + ldc + (batched ? ", batch=" + batch + ", strideC="
                + strideC : "");
        leadingDim(op, "lda", lda, colsA, shapeA);
        leadingDim(op, "ldb", ldb, colsB, shapeB);
        leadingDim(op, "ldc", ldc, n, shapeC);

        long spanC = span(m, n, ldc);
        KernelArgs.check(batch <= 1 || strideC >= spanC, op, "the C matrices overlap: strideC=" + strideC
                + " but one C spans " + spanC + " floats (" + shapeC + ")");
        operand(op, "A", a, batchSpan(batch, strideA, span(rowsA, colsA, lda)), Float.BYTES, shapeA, nativeOnly,
                false);
        operand(op, "B", b, batchSpan(batch, strideB, span(rowsB, colsB, ldb)), Float.BYTES, shapeB, nativeOnly,
                false);
        operand(op, "C", c, batchSpan(batch, strideC, spanC), Float.BYTES, shapeC, nativeOnly, true);
    }

    /** A row-major leading dimension must cover a row: ld >= max(1, cols). */
    private static void leadingDim(String op, String ldName, int ld, int cols, String shape) {
        KernelArgs.check(ld >= Math.max(1, cols), op, ldName + "=" + ld + " is smaller than a row of "
                + Math.max(1, cols) + " (" + shape + ")");
    }
}
