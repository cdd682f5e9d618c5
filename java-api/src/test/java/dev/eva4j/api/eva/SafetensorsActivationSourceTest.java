package dev.eva4j.api.eva;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.eva4j.api.safetensors.SafetensorsWriter;
import dev.eva4j.api.safetensors.TensorData;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsActivationSourceTest {
    @TempDir
    Path dir;

    private Path write(int rowsA, int rowsB, int d) throws Exception {
        float[] a = new float[rowsA * d], b = new float[rowsB * d];
        for (int i = 0; i < a.length; i++) a[i] = i; // row r starts with r * d: the first value names the row
        for (int i = 0; i < b.length; i++) b[i] = -i;
        Path f = dir.resolve("batch.safetensors");
        SafetensorsWriter.write(f, List.of(TensorData.ofFloats("a", new long[] {rowsA, d}, a),
                TensorData.ofFloats("b", new long[] {rowsB, d}, b)),
                Map.of(SafetensorsActivationSource.OUT_FEATURES_KEY, "{\"a\": 3, \"b\": 3}"));
        return f;
    }

    /** 10 rows in steps of at most 4: 4, 4, 2 (before: 4 and 6, a step of almost twice the size asked for). */
    @Test
    void stepsHoldAtMostRowsPerStep() throws Exception {
        int d = 2;
        try (SafetensorsActivationSource src = SafetensorsActivationSource.open(write(10, 7, d), 4, Map.of())) {
            List<Integer> a = new ArrayList<>(), b = new ArrayList<>(), firstRows = new ArrayList<>();
            for (Map<String, Rows> batch; (batch = src.next()) != null; ) {
                a.add(batch.get("a").count());
                b.add(batch.containsKey("b") ? batch.get("b").count() : 0);
                firstRows.add((int) batch.get("a").data().getAtIndex(ValueLayout.JAVA_FLOAT, 0) / d);
            }
            assertEquals(List.of(4, 4, 2), a);
            assertEquals(List.of(4, 3, 0), b);
            assertEquals(List.of(0, 4, 8), firstRows, "consecutive rows, none skipped or repeated");
        }
    }

    /** After request(), only the named layers' tensors are read; rewinding keeps the request. */
    @Test
    void requestSkipsTheOtherLayers() throws Exception {
        try (SafetensorsActivationSource src = SafetensorsActivationSource.open(write(6, 6, 3), 100, Map.of())) {
            assertEquals(Set.of("a", "b"), src.next().keySet());
            src.rewind();
            src.request(Set.of("b"));
            Map<String, Rows> batch = src.next();
            assertEquals(Set.of("b"), batch.keySet());
            assertEquals(-3f, batch.get("b").data().getAtIndex(ValueLayout.JAVA_FLOAT, 3));
            assertNull(src.next());
            src.request(Set.of("a", "b"));
            src.rewind();
            assertEquals(Set.of("a", "b"), src.next().keySet());
        }
    }
}
