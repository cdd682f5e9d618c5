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
    public static final int UINT8 = 2;
    public static final int INT8 = 3;
    public static final int INT32 = 6;
    public static final int INT64 = 7;

    private static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt I32_LE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
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

    /** The values of an INT8, UINT8 (as 0..255) or INT32 tensor, copied into a new array. */
    public int[] ints() {
        int n = Math.toIntExact(numel());
        int[] out = new int[n];
        switch (dataType) {
            case INT8 -> { for (int i = 0; i < n; i++) out[i] = bytes.get(ValueLayout.JAVA_BYTE, i); }
            case UINT8 -> { for (int i = 0; i < n; i++) out[i] = bytes.get(ValueLayout.JAVA_BYTE, i) & 0xff; }
            case INT32 -> { for (int i = 0; i < n; i++) out[i] = bytes.get(I32_LE, 4L * i); }
            default -> throw new IllegalArgumentException("ONNX tensor '" + name + "' has data type " + dataType
                    + ", not INT8, UINT8 or INT32");
        }
        return out;
    }

    /** Whether this is an 8-bit integer tensor (the weights of a quantized export). */
    public boolean isInt8() {
        return dataType == INT8 || dataType == UINT8;
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
