package dev.eva4j.spi;

import java.lang.foreign.MemorySegment;

/**
 * The one argument checker every backend uses (ours and third parties'), so that a wrong operand reads the same
 * everywhere: {@code "<op>: <operand> <what is wrong> (<shape>)"}, as an {@link IllegalArgumentException}.
 */
public final class KernelArgs {
    private KernelArgs() {}

    /**
     * Checks that {@code buffer} is a live buffer of {@code owner} with dtype {@code dtype} and at least
     * {@code elements} elements; {@code shape} describes what the operand should be ("[N=4, C=8]").
     */
    public static void require(Kernels owner, String op, String operand, Buffer buffer, DType dtype, long elements,
                               String shape) {
        if (buffer == null) throw new IllegalArgumentException(op + ": " + operand + " is null (" + shape + ")");
        if (buffer.owner() != owner) {
            String other = buffer.owner().name().equals(owner.name()) ? "another instance of backend '" + owner.name()
                    + "'" : "backend '" + buffer.owner().name() + "', not '" + owner.name() + "'";
            throw new IllegalArgumentException(op + ": " + operand + " belongs to " + other);
        }
        if (!buffer.isAlive()) throw new IllegalArgumentException(op + ": " + operand + " was closed");
        if (buffer.dtype() != dtype) {
            throw new IllegalArgumentException(op + ": " + operand + " is " + buffer.dtype() + ", needs " + dtype
                    + " (" + shape + ")");
        }
        if (elements < 0) throw new IllegalArgumentException(op + ": negative size for " + operand + " (" + shape + ")");
        if (buffer.length() < elements) {
            throw new IllegalArgumentException(op + ": " + operand + " holds " + buffer.length() + " elements, needs "
                    + elements + " (" + shape + ")");
        }
    }

    /** As {@link #require} for an operand that may be null (an unwanted gradient). */
    public static void optional(Kernels owner, String op, String operand, Buffer buffer, DType dtype, long elements,
                                String shape) {
        if (buffer != null) require(owner, op, operand, buffer, dtype, elements, shape);
    }

    /** Checks that a host segment holds at least {@code elements} values of {@code elementBytes} bytes each. */
    public static void requireHost(String op, String operand, MemorySegment segment, long elements, int elementBytes,
                                   String shape) {
        if (segment == null) throw new IllegalArgumentException(op + ": " + operand + " is null (" + shape + ")");
        if (elements < 0) throw new IllegalArgumentException(op + ": negative size for " + operand + " (" + shape + ")");
        if (segment.byteSize() < elements * elementBytes) {
            throw new IllegalArgumentException(op + ": " + operand + " holds " + segment.byteSize() / elementBytes
                    + " elements, needs " + elements + " (" + shape + ")");
        }
    }

    /** Checks that every dimension is positive . */
    public static void dims(String op, String names, int... values) {
        String[] n = names.split(",");
        for (int i = 0; i < values.length; i++) {
            if (values[i] < 1) {
                throw new IllegalArgumentException(op + ": " + (i < n.length ? n[i].strip() : "dimension " + i)
                        + " must be >= 1, got " + values[i]);
            }
        }
    }

    /** Checks a condition, failing with {@code op: message}. */
    public static void check(boolean condition, String op, String message) {
        if (!condition) throw new IllegalArgumentException(op + ": " + message);
    }
}
