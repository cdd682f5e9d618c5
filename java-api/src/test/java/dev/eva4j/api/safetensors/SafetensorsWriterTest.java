package dev.eva4j.api.safetensors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.eva4j.api.tensor.DType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsWriterTest {
    @TempDir
    Path dir;

    /** The bytes the reference implementation's own test expects for this tensor (huggingface/safetensors). */
    @Test
    void writesTheSameBytesAsTheReferenceImplementation() throws Exception {
        Path file = dir.resolve("attn.safetensors");
        SafetensorsWriter.write(file, List.of(TensorData.ofFloats("attn.0", new long[] {1, 2, 3},
                new float[] {0, 1, 2, 3, 4, 5})), Map.of());
        String header = "{\"attn.0\":{\"dtype\":\"F32\",\"shape\":[1,2,3],\"data_offsets\":[0,24]}}";
        assertEquals(64, header.length());
        byte[] expected = concat(Fixtures.le64(64), header.getBytes(StandardCharsets.US_ASCII),
                new byte[] {0, 0, 0, 0, 0, 0, (byte) 128, 63, 0, 0, 0, 64, 0, 0, 64, 64, 0, 0, (byte) 128, 64, 0, 0, (byte) 160, 64});
        assertArrayEquals(expected, Files.readAllBytes(file));
    }

    @Test
    void padsTheHeaderWithSpacesToAMultipleOfEight() throws Exception {
        Path file = dir.resolve("pad.safetensors");
        SafetensorsWriter.write(file, List.of(TensorData.ofFloats("attn0", new long[] {1, 1, 2, 3},
                new float[] {0, 1, 2, 3, 4, 5})), Map.of());
        byte[] bytes = Files.readAllBytes(file);
        String json = "{\"attn0\":{\"dtype\":\"F32\",\"shape\":[1,1,2,3],\"data_offsets\":[0,24]}}";
        assertEquals(65, json.length());
        assertArrayEquals(Fixtures.le64(72), Arrays.copyOf(bytes, 8));
        assertEquals(json + "       ", new String(bytes, 8, 72, StandardCharsets.US_ASCII));
        assertEquals(8 + 72 + 24, bytes.length);
    }

    @Test
    void metadataComesFirstThenTensorsInTheGivenOrder() throws Exception {
        Path file = dir.resolve("order.safetensors");
        SafetensorsWriter.write(file, List.of(
                TensorData.ofFloats("z", new long[] {1}, new float[] {1}),
                TensorData.ofFloats("a", new long[] {}, new float[] {2})), Map.of("k", "v"));
        byte[] bytes = Files.readAllBytes(file);
        String header = new String(bytes, 8, (int) Fixtures.le64ToLong(bytes), StandardCharsets.UTF_8).strip();
        assertEquals("{\"__metadata__\":{\"k\":\"v\"},\"z\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                + "\"a\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[4,8]}}", header);
    }

    @Test
    void rejectsBadTensorsBeforeWritingAnything() {
        Path file = dir.resolve("bad.safetensors");
        var one = TensorData.ofFloats("x", new long[] {1}, new float[] {1});
        var e = assertThrows(IllegalArgumentException.class, () -> SafetensorsWriter.write(file, List.of(one, one), Map.of()));
        assertTrue(e.getMessage().contains("'x' is given twice"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> TensorData.ofFloats("x", new long[] {2}, new float[] {1}));
        assertThrows(IllegalArgumentException.class, () -> TensorData.ofFloats("", new long[] {1}, new float[] {1}));
        assertThrows(IllegalArgumentException.class, () -> TensorData.ofFloats("__metadata__", new long[] {1}, new float[] {1}));
        assertThrows(IllegalArgumentException.class, () -> TensorData.ofBytes("x", DType.I32, new long[] {-1}, new byte[0]));
        assertThrows(IllegalArgumentException.class, () -> TensorData.ofBytes("x", DType.I32, new long[] {3}, new byte[11]));
        assertFalse(Files.exists(file));
    }

    @Test
    void aFailedWriteLeavesTheOldFileAndNoTemporaryFile() throws Exception {
        Path file = dir.resolve("keep.safetensors");
        SafetensorsWriter.write(file, List.of(TensorData.ofFloats("old", new long[] {1}, new float[] {7})), Map.of());
        byte[] before = Files.readAllBytes(file);
        Arena arena = Arena.ofConfined();
        MemorySegment dead = arena.allocate(4);
        arena.close(); // the tensor's memory is gone: copying it fails half-way through the write
        var broken = new TensorData("broken", DType.F32, new long[] {1}, dead);
        var good = TensorData.ofFloats("good", new long[] {1}, new float[] {1});
        assertThrows(IllegalStateException.class, () -> SafetensorsWriter.write(file, List.of(good, broken), Map.of()));
        assertArrayEquals(before, Files.readAllBytes(file));
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(List.of(file), files.toList());
        }
    }

    private static byte[] concat(byte[]... parts) {
        int n = Arrays.stream(parts).mapToInt(p -> p.length).sum();
        byte[] out = new byte[n];
        int at = 0;
        for (byte[] p : parts) {
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return out;
    }
}
