package dev.eva4j.cpu.java;

import java.lang.foreign.MemorySegment;
import java.util.Objects;

/** Argument checks shared by every operation: a mismatch is an {@link IllegalArgumentException} naming the operand. */
final class Operands {
    private Operands() {}

    /**
     * A row-major rows x cols matrix with leading dimension ld, elements of elemBytes, fits in seg.
     * Needs (rows - 1) * ld + cols elements when rows and cols are positive; ld >= max(1, cols) always.
     */
    static void requireMatrix(String op, String name, MemorySegment seg, long rows, long cols, long ld,
                              int elemBytes) {
        Objects.requireNonNull(seg, () -> op + ": operand " + name + " is null");
        if (ld < Math.max(1, cols)) {
            throw new IllegalArgumentException(op + ": leading dimension of " + name + " is " + ld
                    + " but its rows hold " + cols + " elements (need ld >= " + Math.max(1, cols) + ")");
        }
        if (rows == 0 || cols == 0) return;
        long need = (rows - 1) * ld + cols;
        if (seg.byteSize() / elemBytes < need) {
            throw new IllegalArgumentException(op + ": operand " + name + " (" + rows + " x " + cols
                    + ", leading dimension " + ld + ") needs " + need + " elements but its segment holds "
                    + seg.byteSize() / elemBytes);
        }
    }

    /** A strided batch of matrices fits: the last matrix starts (batch - 1) * stride elements in. */
    static void requireBatch(String op, String name, MemorySegment seg, long rows, long cols, long ld,
                             long stride, int batch, int elemBytes) {
        if (stride < 0) throw new IllegalArgumentException(op + ": stride of " + name + " is negative: " + stride);
        requireMatrix(op, name, seg, rows, cols, ld, elemBytes);
        if (rows == 0 || cols == 0 || batch <= 1) return;
        long need = (batch - 1) * stride + (rows - 1) * ld + cols;
        if (seg.byteSize() / elemBytes < need) {
            throw new IllegalArgumentException(op + ": operand " + name + " (" + batch + " matrices " + rows + " x "
                    + cols + ", leading dimension " + ld + ", stride " + stride + ") needs " + need
                    + " elements but its segment holds " + seg.byteSize() / elemBytes);
        }
    }

    /** A plain vector of count elements fits in seg. */
    static void requireLength(String op, String name, MemorySegment seg, long count, int elemBytes) {
        Objects.requireNonNull(seg, () -> op + ": operand " + name + " is null");
        if (seg.byteSize() / elemBytes < count) {
            throw new IllegalArgumentException(op + ": operand " + name + " needs " + count
                    + " elements but its segment holds " + seg.byteSize() / elemBytes);
        }
    }

    static void requireNonNegative(String op, String what, long v) {
        if (v < 0) throw new IllegalArgumentException(op + ": " + what + " is negative: " + v);
    }
}
