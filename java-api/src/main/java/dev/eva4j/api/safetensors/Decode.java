package dev.eva4j.api.safetensors;

import dev.eva4j.api.tensor.DType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/** Little-endian element decoding from raw tensor bytes (safetensors stores everything little-endian). */
final class Decode {
    static final ValueLayout.OfShort I16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfInt I32_LE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfLong I64_LE = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfDouble F64_LE = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private Decode() {}

    /** bf16 is the top half of a float32: shift its 16 bits into place. */
    static float bf16ToFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xffff) << 16);
    }

    /** float32 to bf16 rounding to nearest even; NaN stays a (quiet) NaN. */
    static short floatToBf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if (Float.isNaN(f)) {
            return (short) ((bits >>> 16) | 0x0040);
        }
        int rounded = bits + 0x7fff + ((bits >>> 16) & 1);
        return (short) (rounded >>> 16);
    }

    /**
     * Decodes {@code n} floating-point elements, starting at element {@code first} of {@code src}, into
     * {@code dst[dstIndex .. dstIndex + n)}. F64 is narrowed to float32 (rounding to nearest).
     */
    static void toFloats(MemorySegment src, DType dtype, long first, float[] dst, int dstIndex, int n) {
        switch (dtype) {
            case F32 -> MemorySegment.copy(src, F32_LE, first * 4, dst, dstIndex, n);
            case F16 -> {
                for (int i = 0; i < n; i++) {
                    dst[dstIndex + i] = Float.float16ToFloat(src.get(I16_LE, (first + i) * 2));
                }
            }
            case BF16 -> {
                for (int i = 0; i < n; i++) {
                    dst[dstIndex + i] = bf16ToFloat(src.get(I16_LE, (first + i) * 2));
                }
            }
            case F64 -> {
                for (int i = 0; i < n; i++) {
                    dst[dstIndex + i] = (float) src.get(F64_LE, (first + i) * 8);
                }
            }
            default -> throw new IllegalArgumentException(dtype + " is not a floating-point type");
        }
    }

    /** Element {@code i} of an integer tensor (U8 zero-extended, the others sign-extended). */
    static long integerAt(MemorySegment src, DType dtype, long i) {
        return switch (dtype) {
            case I8 -> src.get(ValueLayout.JAVA_BYTE, i);
            case U8 -> src.get(ValueLayout.JAVA_BYTE, i) & 0xffL;
            case I16 -> src.get(I16_LE, i * 2);
            case I32 -> src.get(I32_LE, i * 4);
            case I64 -> src.get(I64_LE, i * 8);
            default -> throw new IllegalArgumentException(dtype + " is not an integer type");
        };
    }
}
