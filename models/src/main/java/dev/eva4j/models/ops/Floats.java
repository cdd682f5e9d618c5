package dev.eva4j.models.ops;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** Small helpers for float32 segments in native byte order (host copies of tensors and results). */
public final class Floats {
    /** Float32 in native byte order, 4-byte aligned: the element layout of host tensors. */
    public static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT;

    private Floats() {}

    /** A zeroed segment of {@code n} floats from {@code arena}. */
    public static MemorySegment allocate(Arena arena, long n) {
        return arena.allocate(Math.multiplyExact(n, (long) Float.BYTES), Float.BYTES);
    }

    /** A new segment from {@code arena} holding a copy of {@code values}. */
    public static MemorySegment of(Arena arena, float[] values) {
        MemorySegment s = allocate(arena, values.length);
        MemorySegment.copy(values, 0, s, F32, 0, values.length);
        return s;
    }

    /** The first {@code n} floats of {@code s} as an array. */
    public static float[] toArray(MemorySegment s, int n) {
        float[] out = new float[n];
        MemorySegment.copy(s, F32, 0, out, 0, n);
        return out;
    }

    /** All floats of {@code s} as an array. */
    public static float[] toArray(MemorySegment s) {
        return toArray(s, Math.toIntExact(s.byteSize() / Float.BYTES));
    }

    /** The first {@code n} floats of {@code s}, exactly {@code n * 4} bytes long (a view, nothing copied). */
    public static MemorySegment head(MemorySegment s, long n) {
        return s.asSlice(0, n * Float.BYTES);
    }

    /** Floats {@code [first, first + n)} of {@code s} (a view). */
    public static MemorySegment slice(MemorySegment s, long first, long n) {
        return s.asSlice(first * Float.BYTES, n * Float.BYTES);
    }

    /** Checks that {@code s} holds at least {@code n} floats; the message names the operand of {@code op}. */
    static void require(String op, String operand, MemorySegment s, long n, String shape) {
        if (s == null) throw new IllegalArgumentException(op + ": " + operand + " is null");
        if (s.byteSize() < n * Float.BYTES) {
            throw new IllegalArgumentException(op + ": " + operand + " holds " + s.byteSize() / Float.BYTES
                    + " floats, needs " + n + " (" + shape + ")");
        }
    }
}
