package dev.eva4j.api.eva;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import dev.eva4j.api.safetensors.SafetensorsFile;
import dev.eva4j.api.safetensors.SafetensorsWriter;
import dev.eva4j.api.safetensors.TensorData;
import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A valid safetensors file whose header length leaves the F32 data unaligned (offset 8 + N not a multiple of 4)
 * reads like any other: through the file reader, and as activation rows, which come back 4-byte aligned for the
 * kernels (they were handed out in place before, and the first aligned float access failed).
 */
class UnalignedActivationsTest {
    @TempDir
    Path tmp;

    @Test
    void unalignedF32TensorsReadCorrectly() throws Exception {
        int rows = 37, d = 12;
        float[] values = new float[rows * d];
        Random rnd = new Random(5);
        for (int i = 0; i < values.length; i++) values[i] = (float) rnd.nextGaussian();
        Path aligned = tmp.resolve("aligned.safetensors");
        SafetensorsWriter.write(aligned, List.of(TensorData.ofFloats("model.layers.0.mlp.down_proj",
                new long[] {rows, d}, values)), Map.of("eva4j.out_features", "{\"model.layers.0.mlp.down_proj\": 8}"));
        for (int misalign : new int[] {1, 2, 3, 5}) {
            Path dir = Files.createDirectories(tmp.resolve("m" + misalign));
            Path file = padHeader(aligned, dir.resolve("acts.safetensors"), misalign);
            try (SafetensorsFile f = SafetensorsFile.open(file); Arena arena = Arena.ofConfined()) {
                assertNotEquals(0, f.raw("model.layers.0.mlp.down_proj").address() % 4, "the fixture must be unaligned");
                assertArrayEquals(values, f.readFloats("model.layers.0.mlp.down_proj"));
                assertArrayEquals(values, f.floats("model.layers.0.mlp.down_proj", arena).toArray(ValueLayout.JAVA_FLOAT));
            }
            try (SafetensorsActivationSource source = SafetensorsActivationSource.open(file, 16, Map.of())) {
                float[] got = new float[rows * d];
                int seen = 0;
                for (Map<String, Rows> batch; (batch = source.next()) != null; ) {
                    Rows r = batch.get("model.layers.0.mlp.down_proj");
                    assertEquals(0, r.data().address() % 4, "rows handed to the kernels are aligned");
                    for (int i = 0; i < r.count() * d; i++) got[seen * d + i] = r.data().getAtIndex(ValueLayout.JAVA_FLOAT, i);
                    seen += r.count();
                }
                assertEquals(rows, seen);
                assertArrayEquals(values, got, "misalign " + misalign);
            }
        }
    }

    /** A copy of a safetensors file with spaces added to its header so that the data starts at 8k + misalign. */
    static Path padHeader(Path from, Path to, int misalign) throws java.io.IOException {
        byte[] all = Files.readAllBytes(from);
        int n = (int) java.nio.ByteBuffer.wrap(all, 0, 8).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong();
        String json = new String(all, 8, n, java.nio.charset.StandardCharsets.UTF_8).strip();
        int len = json.getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
        byte[] header = (json + " ".repeat(Math.floorMod(misalign - (8 + len), 8)))
                .getBytes(java.nio.charset.StandardCharsets.UTF_8);
        java.nio.ByteBuffer out = java.nio.ByteBuffer.allocate(8 + header.length + all.length - 8 - n)
                .order(java.nio.ByteOrder.LITTLE_ENDIAN);
        out.putLong(header.length).put(header).put(java.util.Arrays.copyOfRange(all, 8 + n, all.length));
        Files.write(to, out.array());
        return to;
    }
}
