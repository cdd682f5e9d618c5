package dev.eva4j.api.safetensors;

import dev.eva4j.api.tensor.DType;
import dev.eva4j.api.tensor.Shapes;
import java.lang.foreign.MemorySegment;
import java.util.Objects;

/**
 * A tensor to write: its name, type, shape and bytes exactly as they go into the file (little-endian, row-major).
 * The segment is not copied; keep it alive until {@link SafetensorsWriter#write} returns.
 *
 * @param name  non-empty, not {@code __metadata__}
 * @param dtype element type
 * @param shape dimensions, outermost first ({@code []} for a scalar)
 * @param bytes {@code numel(shape) * dtype.byteSize()} bytes
 */
public record TensorData(String name, DType dtype, long[] shape, MemorySegment bytes) {
    public TensorData {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(dtype, "dtype");
        Objects.requireNonNull(bytes, "bytes");
        shape = shape.clone();
        if (name.isEmpty() || name.equals(HeaderParser.METADATA_KEY)) {
            throw new IllegalArgumentException("tensor name " + Text.quote(name) + " is not allowed");
        }
        long numel = Shapes.numelExact(shape);
        if (numel > Long.MAX_VALUE / dtype.byteSize() || numel * dtype.byteSize() != bytes.byteSize()) {
            throw new IllegalArgumentException("tensor " + Text.quote(name) + " is " + dtype + " " + Shapes.toString(shape)
                    + " but has " + bytes.byteSize() + " bytes");
        }
    }

    /** A copy of the shape. */
    @Override
    public long[] shape() {
        return shape.clone();
    }

    /** An F32 tensor holding {@code values} (row-major, {@code values.length == numel(shape)}). */
    public static TensorData ofFloats(String name, long[] shape, float[] values) {
        return ofFloats(name, DType.F32, shape, values);
    }

    /**
     * A floating-point tensor of type {@code dtype} (F32, F16, BF16 or F64) holding {@code values}, converted
     * with rounding to nearest even for F16 and BF16.
     */
    public static TensorData ofFloats(String name, DType dtype, long[] shape, float[] values) {
        MemorySegment out = MemorySegment.ofArray(new byte[Math.multiplyExact(values.length, dtype.byteSize())]);
        switch (dtype) {
            case F32 -> MemorySegment.copy(values, 0, out, Decode.F32_LE, 0, values.length);
            case F64 -> {
                for (int i = 0; i < values.length; i++) {
                    out.set(Decode.F64_LE, i * 8L, values[i]);
                }
            }
            case F16 -> {
                for (int i = 0; i < values.length; i++) {
                    out.set(Decode.I16_LE, i * 2L, Float.floatToFloat16(values[i]));
                }
            }
            case BF16 -> {
                for (int i = 0; i < values.length; i++) {
                    out.set(Decode.I16_LE, i * 2L, Decode.floatToBf16(values[i]));
                }
            }
            default -> throw new IllegalArgumentException("ofFloats makes F32, F16, BF16 or F64 tensors, not " + dtype);
        }
        return new TensorData(name, dtype, shape, out);
    }

    /** A tensor whose stored bytes (little-endian) are {@code bytes}; the array is not copied. */
    public static TensorData ofBytes(String name, DType dtype, long[] shape, byte[] bytes) {
        return new TensorData(name, dtype, shape, MemorySegment.ofArray(bytes));
    }

    /** Copies a tensor from a reader (e.g. to re-shard or filter a checkpoint); valid while the reader is open. */
    public static TensorData of(TensorReader reader, String name) {
        TensorInfo t = reader.info(name);
        return new TensorData(name, t.dtype(), t.shape(), reader.raw(name));
    }

    /** Number of elements. */
    public long numel() {
        return bytes.byteSize() / dtype.byteSize();
    }

    @Override
    public String toString() {
        return "TensorData[" + name + " " + dtype + " " + Shapes.toString(shape) + ", " + bytes.byteSize() + " bytes]";
    }

}
