package dev.eva4j.api.safetensors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.eva4j.api.tensor.DType;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Builders for test files and assertions shared by the safetensors tests. */
final class Fixtures {
    private Fixtures() {}

    /** An 8-byte little-endian length prefix, {@code header} as UTF-8, then {@code dataBytes} bytes 0, 1, 2, ... */
    static byte[] file(String header, int dataBytes) {
        return file(header.getBytes(StandardCharsets.UTF_8), dataBytes);
    }

    static byte[] file(byte[] header, int dataBytes) {
        ByteBuffer b = ByteBuffer.allocate(8 + header.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(header.length).put(header);
        for (int i = 0; i < dataBytes; i++) {
            b.put((byte) i);
        }
        return b.array();
    }

    /** A length prefix claiming {@code headerLength} bytes, followed by {@code rest}. */
    static byte[] withLength(long headerLength, byte[] rest) {
        return ByteBuffer.allocate(8 + rest.length).order(ByteOrder.LITTLE_ENDIAN).putLong(headerLength).put(rest).array();
    }

    /** A small valid checkpoint: metadata, and a tensor of every dtype with distinct values. */
    static List<TensorData> everyDType() {
        return List.of(
                TensorData.ofFloats("f32", new long[] {2, 2}, new float[] {1.5f, -2f, Float.MIN_VALUE, Float.MAX_VALUE}),
                TensorData.ofBytes("f16", DType.F16, new long[] {3}, le16(0x3C00, 0xC000, 0x7BFF)),
                TensorData.ofBytes("bf16", DType.BF16, new long[] {1, 3}, le16(0x3F80, 0x4049, 0xC2F7)),
                TensorData.ofBytes("f64", DType.F64, new long[] {}, le64(Double.doubleToLongBits(0.1))),
                TensorData.ofBytes("i8", DType.I8, new long[] {2}, new byte[] {-128, 127}),
                TensorData.ofBytes("u8", DType.U8, new long[] {2}, new byte[] {(byte) 255, 7}),
                TensorData.ofBytes("bool", DType.BOOL, new long[] {3}, new byte[] {1, 0, 1}),
                TensorData.ofBytes("i16", DType.I16, new long[] {2}, le16(0x8000, 0x7FFF)),
                TensorData.ofBytes("i32", DType.I32, new long[] {1}, le32(-123456789)),
                TensorData.ofBytes("i64", DType.I64, new long[] {1, 1}, le64(Long.MIN_VALUE + 1)),
                TensorData.ofBytes("empty", DType.F32, new long[] {0, 4}, new byte[0]));
    }

    static Map<String, String> metadata() {
        var m = new LinkedHashMap<String, String>();
        m.put("format", "pt");
        m.put("note", "ünïcode \"quoted\"\nnew line");
        return m;
    }

    static byte[] le16(int... values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 2).order(ByteOrder.LITTLE_ENDIAN);
        for (int v : values) {
            b.putShort((short) v);
        }
        return b.array();
    }

    static byte[] le32(int... values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int v : values) {
            b.putInt(v);
        }
        return b.array();
    }

    static byte[] le64(long... values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        for (long v : values) {
            b.putLong(v);
        }
        return b.array();
    }

    static long le64ToLong(byte[] bytes) {
        return ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
    }

    /** The message is one line, starts with the file's name and a colon. */
    static void assertOneLineNaming(Path file, Exception e) {
        String msg = e.getMessage();
        assertFalse(msg.contains("\n") || msg.contains("\r"), () -> "message spans lines: " + msg);
        assertEquals(1, msg.lines().count(), msg);
        assertTrue(msg.startsWith(file.getFileName() + ": "), () -> "message does not name " + file.getFileName() + ": " + msg);
    }
}
