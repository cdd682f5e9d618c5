package dev.eva4j.api.tensor;

import java.util.Arrays;
import java.util.OptionalLong;

/** Small helpers for tensor shapes ({@code long[]}, outermost dimension first; {@code []} is a scalar). */
public final class Shapes {
    /** PyTorch's limit; a shape with more dimensions is treated as corrupt. */
    public static final int MAX_RANK = 64;

    private Shapes() {}

    /**
     * Number of elements of {@code shape}: the product of its dimensions, 1 for a scalar, 0 if any dimension is 0.
     *
     * @return empty if a dimension is negative or the product overflows a {@code long}
     */
    public static OptionalLong numel(long[] shape) {
        boolean empty = false;
        for (long d : shape) {
            if (d < 0) {
                return OptionalLong.empty();
            }
            empty |= d == 0;
        }
        if (empty) {
            return OptionalLong.of(0); // a zero dimension makes the tensor empty whatever the others are
        }
        long n = 1;
        for (long d : shape) {
            long hi = Math.multiplyHigh(n, d);
            n *= d;
            if (hi != 0 || n < 0) {
                return OptionalLong.empty();
            }
        }
        return OptionalLong.of(n);
    }

    /** Like {@link #numel(long[])} but throws {@link IllegalArgumentException} for a negative or overflowing shape. */
    public static long numelExact(long[] shape) {
        return numel(shape).orElseThrow(
                () -> new IllegalArgumentException("shape " + toString(shape) + " has a negative dimension or too many elements"));
    }

    /** {@code [2, 3]}; {@code []} for a scalar. */
    public static String toString(long[] shape) {
        return Arrays.toString(shape);
    }
}
