package dev.eva4j.models.onnx;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * An ONNX TensorProto: its name, element type, dimensions (outermost first) and data as little-endian bytes
 * (for FLOAT and INT64 tensors exactly {@code numel * 4} or {@code numel * 8} bytes; checked when read).
 *
 * @param dataType ONNX TensorProto.DataType code ({@link #FLOAT} = 1, {@link #INT64} = 7, ...)
 * @param bytes    the values, little-endian row-major; may be a slice of the file's bytes
 */
public record OnnxTensor(String name, int dataType, long[] dims, MemorySegment bytes) {
    public static final int FLOAT = 1;
    public static final int INT64 = 7;

    private static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong I64_LE = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    public OnnxTensor {
        dims = dims.clone();
    }

    @Override
    public long[] dims() {
        return dims.clone();
    }

    /** Number of elements (1 for a scalar). */
    public long numel() {
        long n = 1;
        for (long d : dims) n = Math.multiplyExact(n, d);
        return n;
    }

    /** The values of a FLOAT tensor, copied into a new array. */
    public float[] floats() {
        require(FLOAT, "FLOAT");
        return bytes.toArray(F32_LE);
    }

    /** The values of an INT64 tensor, copied into a new array. */
    public long[] longs() {
        require(INT64, "INT64");
        return bytes.toArray(I64_LE);
    }

    private void require(int type, String typeName) {
        if (dataType != type) {
            throw new IllegalArgumentException("ONNX tensor '" + name + "' has data type " + dataType + ", not " + typeName);
        }
    }

    @Override
    public String toString() {
        return "OnnxTensor[" + name + ", type " + dataType + ", dims " + Arrays.toString(dims) + "]";
    }
}
