package dev.eva4j.api.safetensors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.eva4j.api.tensor.DType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.List;
import java.util.NoSuchElementException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsRoundTripTest {
    @TempDir
    Path dir;

    private SafetensorsFile writeEveryDType() throws Exception {
        Path file = dir.resolve("every.safetensors");
        SafetensorsWriter.write(file, Fixtures.everyDType(), Fixtures.metadata());
        return SafetensorsFile.open(file);
    }

    @Test
    void everyDTypeKeepsNameTypeShapeBytesAndOrder() throws Exception {
        List<TensorData> written = Fixtures.everyDType();
        try (SafetensorsFile f = writeEveryDType()) {
            assertEquals(Fixtures.metadata(), f.metadata());
            assertEquals(written.stream().map(TensorData::name).toList(), f.tensorNames());
            long offset = 0;
            for (TensorData t : written) {
                TensorInfo info = f.info(t.name());
                assertEquals(new TensorInfo(t.name(), t.dtype(), t.shape(), offset, offset + t.bytes().byteSize()), info);
                assertEquals(t.numel(), info.numel());
                assertEquals(-1, t.bytes().mismatch(f.raw(t.name())), t.name());
                offset = info.end();
            }
            assertEquals(0, f.dataStart() % 8, "header padded to a multiple of 8");
        }
    }

    @Test
    void floatsWidenF16AndBf16ToKnownValues() throws Exception {
        try (SafetensorsFile f = writeEveryDType()) {
            assertArrayEquals(new float[] {1.5f, -2f, Float.MIN_VALUE, Float.MAX_VALUE}, f.readFloats("f32"));
            assertArrayEquals(new float[] {1f, -2f, 65504f}, f.readFloats("f16"));
            assertArrayEquals(new float[] {1f, 3.140625f, -123.5f}, f.readFloats("bf16"));
            assertArrayEquals(new float[] {0.1f}, f.readFloats("f64"));
            assertArrayEquals(new float[0], f.readFloats("empty"));
            try (Arena arena = Arena.ofConfined()) {
                for (String name : List.of("f32", "f16", "bf16", "f64", "empty")) {
                    MemorySegment s = f.floats(name, arena);
                    assertArrayEquals(f.readFloats(name), s.toArray(ValueLayout.JAVA_FLOAT), name);
                }
            }
        }
    }

    @Test
    void specialF16AndBf16Values() throws Exception {
        Path file = dir.resolve("special.safetensors");
        SafetensorsWriter.write(file, List.of(
                TensorData.ofBytes("h", DType.F16, new long[] {5}, Fixtures.le16(0x0001, 0x7C00, 0xFC00, 0x7E00, 0x8000)),
                TensorData.ofBytes("b", DType.BF16, new long[] {4}, Fixtures.le16(0x0001, 0x7F80, 0xFF80, 0x7FC0))), java.util.Map.of());
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            float[] h = f.readFloats("h");
            assertEquals(0x1p-24f, h[0]);
            assertEquals(Float.POSITIVE_INFINITY, h[1]);
            assertEquals(Float.NEGATIVE_INFINITY, h[2]);
            assertTrue(Float.isNaN(h[3]));
            assertEquals(Float.floatToRawIntBits(-0f), Float.floatToRawIntBits(h[4]));
            float[] b = f.readFloats("b");
            assertEquals(Float.intBitsToFloat(0x00010000), b[0]);
            assertEquals(Float.POSITIVE_INFINITY, b[1]);
            assertEquals(Float.NEGATIVE_INFINITY, b[2]);
            assertTrue(Float.isNaN(b[3]));
        }
    }

    @Test
    void ofFloatsEncodesHalfTypesRoundingToNearestEven() throws Exception {
        float[] values = {1f, 1.00390625f, 1.01171875f, -123.5f, 65504f};
        Path file = dir.resolve("encoded.safetensors");
        SafetensorsWriter.write(file, List.of(
                TensorData.ofFloats("bf16", DType.BF16, new long[] {5}, values),
                TensorData.ofFloats("f16", DType.F16, new long[] {5}, values),
                TensorData.ofFloats("f64", DType.F64, new long[] {5}, values)), java.util.Map.of());
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            // 1 + 2^-8 ties to 1.0 (even); 1 + 3 * 2^-8 ties to 1.015625 (even)
            assertArrayEquals(Fixtures.le16(0x3F80, 0x3F80, 0x3F82, 0xC2F7, 0x4780), f.raw("bf16").toArray(ValueLayout.JAVA_BYTE));
            assertArrayEquals(new float[] {1f, 1.00390625f, 1.01171875f, -123.5f, 65504f}, f.readFloats("f16"));
            assertArrayEquals(values, f.readFloats("f64"));
        }
    }

    @Test
    void integerAndByteReaders() throws Exception {
        try (SafetensorsFile f = writeEveryDType()) {
            assertArrayEquals(new int[] {-128, 127}, f.readInts("i8"));
            assertArrayEquals(new int[] {255, 7}, f.readInts("u8"));
            assertArrayEquals(new int[] {-32768, 32767}, f.readInts("i16"));
            assertArrayEquals(new int[] {-123456789}, f.readInts("i32"));
            assertArrayEquals(new long[] {Long.MIN_VALUE + 1}, f.readLongs("i64"));
            assertArrayEquals(new long[] {-123456789}, f.readLongs("i32"));
            assertArrayEquals(new long[] {255, 7}, f.readLongs("u8"));
            assertArrayEquals(new byte[] {1, 0, 1}, f.readBytes("bool"));
            assertArrayEquals(new byte[] {(byte) 255, 7}, f.readBytes("u8"));
            assertArrayEquals(new byte[] {-128, 127}, f.readBytes("i8"));
        }
    }

    @Test
    void wrongReaderForTheTypeSaysWhichTypesItReads() throws Exception {
        try (SafetensorsFile f = writeEveryDType()) {
            var e = assertThrows(IllegalArgumentException.class, () -> f.readFloats("i32"));
            assertTrue(e.getMessage().contains("'i32' is I32; readFloats reads [F32, F16, BF16, F64]"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> f.readInts("i64"));
            assertThrows(IllegalArgumentException.class, () -> f.readLongs("f32"));
            assertThrows(IllegalArgumentException.class, () -> f.readBytes("i16"));
            try (Arena arena = Arena.ofConfined()) {
                assertThrows(IllegalArgumentException.class, () -> f.floats("bool", arena));
            }
        }
    }

    @Test
    void missingNameNamesTheFileAndTheClosestTensor() throws Exception {
        try (SafetensorsFile f = writeEveryDType()) {
            var e = assertThrows(NoSuchElementException.class, () -> f.info("bf61"));
            assertEquals("every.safetensors: no tensor 'bf61' (it holds 11 tensors; closest name: 'bf16')", e.getMessage());
            assertTrue(f.find("bf61").isEmpty());
            assertTrue(f.contains("bf16"));
        }
    }

    @Test
    @SuppressWarnings("try") // the explicit close() inside try-with-resources is the point of the test
    void rawIsReadOnlyAndDeadAfterClose() throws Exception {
        MemorySegment raw;
        try (SafetensorsFile f = writeEveryDType()) {
            raw = f.raw("f32");
            assertTrue(raw.isReadOnly());
            MemorySegment r = raw;
            assertThrows(IllegalArgumentException.class, () -> r.set(ValueLayout.JAVA_BYTE, 0, (byte) 1));
            f.close(); // a second close (by try-with-resources) must be harmless
        }
        MemorySegment r = raw;
        assertThrows(IllegalStateException.class, () -> r.get(ValueLayout.JAVA_BYTE, 0));
    }

    @Test
    void emptyFileHasNoTensorsAndNoMetadata() throws Exception {
        Path file = dir.resolve("empty.safetensors");
        SafetensorsWriter.write(file, List.of(), java.util.Map.of());
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertTrue(f.tensors().isEmpty());
            assertTrue(f.metadata().isEmpty());
            var e = assertThrows(NoSuchElementException.class, () -> f.info("x"));
            assertTrue(e.getMessage().contains("it holds no tensors"), e.getMessage());
        }
    }
}
