package dev.eva4j.cpu.openblas;

import java.lang.foreign.MemorySegment;

/**
 * Argument checks done before any native call, so that a wrong size is an {@link IllegalArgumentException} naming
 * the operation and operand instead of a crash or a silent overrun in native code.
 */
final class Operands {
    private Operands() {}

    /** Elements a row-major rows x cols matrix with leading dimension {@code ld} spans: (rows-1)*ld + cols, or 0. */
    static long span(int rows, int cols, int ld) {
        return rows == 0 || cols == 0 ? 0 : (long) (rows - 1) * ld + cols;
    }

    static void requireNonNegative(String op, String name, long value) {
        if (value < 0) throw new IllegalArgumentException(op + ": " + name + " must be >= 0 but is " + value);
    }

    /** A row-major leading dimension must cover a row: ld >= max(1, cols). */
    static void requireLeadingDim(String op, String ldName, int ld, int cols, String shape) {
        if (ld < Math.max(1, cols)) {
            throw new IllegalArgumentException(op + ": " + ldName + "=" + ld + " is smaller than a row of "
                    + Math.max(1, cols) + " (" + shape + ")");
        }
    }

    /**
     * {@code segment} is native, holds at least {@code needed} elements of {@code elementBytes} bytes, and (when
     * {@code written}) is writable.
     *
     * @param unit  "floats" or "doubles", for the message
     * @param shape the sizes the need follows from, for the message ("m=10, k=10, lda=40")
     */
    static void require(String op, String name, MemorySegment segment, long needed, int elementBytes, String unit,
                        String shape, boolean written) {
        if (segment == null) throw new IllegalArgumentException(op + ": " + name + " is null");
        if (!segment.isNative()) {
            throw new IllegalArgumentException(op + ": " + name + " is a heap segment; native code needs a native"
                    + " one (allocate it from an Arena)");
        }
        long holds = segment.byteSize() / elementBytes;
        if (holds < needed) {
            throw new IllegalArgumentException(op + ": " + name + " needs " + needed + " " + unit + " (" + shape
                    + ") but holds " + holds);
        }
        if (written && segment.isReadOnly()) {
            throw new IllegalArgumentException(op + ": " + name + " is written but the segment is read-only");
        }
    }
}
