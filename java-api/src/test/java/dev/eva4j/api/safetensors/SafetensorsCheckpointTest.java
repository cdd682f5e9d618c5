package dev.eva4j.api.safetensors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.eva4j.api.tensor.DType;
import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsCheckpointTest {
    private static final String INDEX = "model.safetensors.index.json";
    private static final String SHARD1 = "model-00001-of-00002.safetensors";
    private static final String SHARD2 = "model-00002-of-00002.safetensors";

    @TempDir
    Path dir;

    /** Two shards: q and k in the first, v (BF16) and an unmapped extra tensor in the second. */
    private void writeShards() throws Exception {
        SafetensorsWriter.write(dir.resolve(SHARD1), List.of(
                TensorData.ofFloats("layers.0.q.weight", new long[] {2, 2}, new float[] {1, 2, 3, 4}),
                TensorData.ofFloats("layers.0.k.weight", new long[] {2}, new float[] {5, 6})), Map.of("format", "pt"));
        SafetensorsWriter.write(dir.resolve(SHARD2), List.of(
                TensorData.ofFloats("layers.0.v.weight", DType.BF16, new long[] {3}, new float[] {7, 8, 9}),
                TensorData.ofFloats("extra", new long[] {1}, new float[] {0})), shard2Metadata());
    }

    private static Map<String, String> shard2Metadata() {
        var m = new java.util.LinkedHashMap<String, String>();
        m.put("format", "pt");
        m.put("shard", "2");
        return m;
    }

    private void writeIndex(String weightMap) throws Exception {
        Files.writeString(dir.resolve(INDEX), "{\"metadata\":{\"total_size\":30},\"weight_map\":{" + weightMap + "}}");
    }

    private static final String GOOD_MAP = "\"layers.0.v.weight\":\"" + SHARD2 + "\",\"layers.0.q.weight\":\"" + SHARD1
            + "\",\"layers.0.k.weight\":\"" + SHARD1 + "\"";

    @Test
    void shardedCheckpointLooksUpAcrossShards() throws Exception {
        writeShards();
        writeIndex(GOOD_MAP);
        try (SafetensorsCheckpoint c = SafetensorsCheckpoint.open(dir)) {
            assertEquals(List.of("layers.0.v.weight", "layers.0.q.weight", "layers.0.k.weight"), c.tensorNames());
            assertEquals(List.of(dir.resolve(SHARD2), dir.resolve(SHARD1)), c.files());
            assertArrayEquals(new float[] {1, 2, 3, 4}, c.readFloats("layers.0.q.weight"));
            assertArrayEquals(new float[] {7, 8, 9}, c.readFloats("layers.0.v.weight"));
            assertEquals(DType.BF16, c.info("layers.0.v.weight").dtype());
            assertEquals(dir.resolve(SHARD1), c.fileOf("layers.0.k.weight"));
            try (Arena arena = Arena.ofConfined()) {
                assertArrayEquals(new float[] {5, 6}, c.floats("layers.0.k.weight", arena).toArray(ValueLayout.JAVA_FLOAT));
            }
            assertEquals(Map.of("total_size", "30", "format", "pt", "shard", "2"), c.metadata());
            assertEquals(List.of("total_size", "format", "shard"), List.copyOf(c.metadata().keySet()));
            assertTrue(c.find("extra").isEmpty(), "tensors the index does not map are not exposed");
            var e = assertThrows(NoSuchElementException.class, () -> c.info("layers.0.q.weights"));
            assertTrue(e.getMessage().contains("closest name: 'layers.0.q.weight'"), e.getMessage());
        }
    }

    @Test
    void missingShardIsAOneLineErrorOnTheIndex() throws Exception {
        writeShards();
        Files.delete(dir.resolve(SHARD1));
        writeIndex(GOOD_MAP);
        var e = assertThrows(SafetensorsFormatException.class, () -> SafetensorsCheckpoint.open(dir));
        Fixtures.assertOneLineNaming(dir.resolve(INDEX), e);
        assertTrue(e.getMessage().contains("shard '" + SHARD1 + "' (holding 'layers.0.q.weight') does not exist"), e.getMessage());
    }

    @Test
    void tensorMissingFromItsShard() throws Exception {
        writeShards();
        writeIndex(GOOD_MAP + ",\"layers.0.o.weight\":\"" + SHARD1 + "\"");
        var e = assertThrows(SafetensorsFormatException.class, () -> SafetensorsCheckpoint.open(dir));
        Fixtures.assertOneLineNaming(dir.resolve(INDEX), e);
        assertTrue(e.getMessage().contains("tensor 'layers.0.o.weight' is mapped to '" + SHARD1 + "', which does not contain it"),
                e.getMessage());
    }

    @Test
    void badIndexFiles() throws Exception {
        writeShards();
        Map<String, String> cases = Map.of(
                "{\"weight_map\":", "not valid JSON",
                "[]", "must hold a JSON object with a weight_map",
                "{\"metadata\":{}}", "weight_map must be an object",
                "{\"weight_map\":{\"a\":1}}", "weight_map value for 'a' must be a shard file name, not number",
                "{\"weight_map\":{\"a\":\"../x.safetensors\"}}", "is not a file name in the index's folder",
                "{\"weight_map\":{\"a\":\"" + SHARD1 + "\",\"a\":\"" + SHARD2 + "\"}}", "not valid JSON: Duplicate field 'a'",
                "{\"weight_map\":{}} x", "not valid JSON",
                "{\"metadata\":3,\"weight_map\":{}}", "metadata must be an object");
        for (var c : cases.entrySet()) {
            Files.writeString(dir.resolve(INDEX), c.getKey());
            var e = assertThrows(SafetensorsFormatException.class, () -> SafetensorsCheckpoint.open(dir), c.getKey());
            Fixtures.assertOneLineNaming(dir.resolve(INDEX), e);
            assertTrue(e.getMessage().contains(c.getValue()), () -> c.getKey() + " gave: " + e.getMessage());
        }
    }

    @Test
    void corruptShardIsReportedWithTheShardsName() throws Exception {
        writeShards();
        writeIndex(GOOD_MAP);
        Files.write(dir.resolve(SHARD2), new byte[3]);
        var e = assertThrows(SafetensorsFormatException.class, () -> SafetensorsCheckpoint.open(dir));
        Fixtures.assertOneLineNaming(dir.resolve(SHARD2), e);
    }

    @Test
    void singleFileFolderAndAdapterFolder() throws Exception {
        Path model = Files.createDirectory(dir.resolve("model"));
        SafetensorsWriter.write(model.resolve("model.safetensors"), List.of(TensorData.ofFloats("w", new long[] {1}, new float[] {3})), Map.of("a", "b"));
        SafetensorsWriter.write(model.resolve("other.safetensors"), List.of(), Map.of());
        try (SafetensorsCheckpoint c = SafetensorsCheckpoint.open(model)) {
            assertEquals(List.of("w"), c.tensorNames());
            assertEquals(Map.of("a", "b"), c.metadata());
        }
        Path adapter = Files.createDirectory(dir.resolve("adapter"));
        SafetensorsWriter.write(adapter.resolve("adapter_model.safetensors"),
                List.of(TensorData.ofFloats("lora_A", new long[] {1, 2}, new float[] {1, 2})), Map.of());
        Files.writeString(adapter.resolve("adapter_config.json"), "{}");
        try (SafetensorsCheckpoint c = SafetensorsCheckpoint.open(adapter)) {
            assertArrayEquals(new float[] {1, 2}, c.readFloats("lora_A"));
        }
        try (SafetensorsCheckpoint c = SafetensorsCheckpoint.open(adapter.resolve("adapter_model.safetensors"))) {
            assertEquals(List.of("lora_A"), c.tensorNames());
        }
    }

    @Test
    void folderWithoutAnObviousFileIsAnError() throws Exception {
        Path empty = Files.createDirectory(dir.resolve("empty"));
        var none = assertThrows(SafetensorsFormatException.class, () -> SafetensorsCheckpoint.open(empty));
        Fixtures.assertOneLineNaming(empty, none);
        assertTrue(none.getMessage().contains("folder has no .safetensors file"), none.getMessage());
        Path two = Files.createDirectory(dir.resolve("two"));
        SafetensorsWriter.write(two.resolve("a.safetensors"), List.of(), Map.of());
        SafetensorsWriter.write(two.resolve("b.safetensors"), List.of(), Map.of());
        var ambiguous = assertThrows(SafetensorsFormatException.class, () -> SafetensorsCheckpoint.open(two));
        assertTrue(ambiguous.getMessage().contains("folder has 2 .safetensors files ([a.safetensors, b.safetensors])"),
                ambiguous.getMessage());
        assertThrows(java.nio.file.NoSuchFileException.class, () -> SafetensorsCheckpoint.open(dir.resolve("nope")));
    }

    @Test
    void closeReleasesEveryShard() throws Exception {
        writeShards();
        writeIndex(GOOD_MAP);
        java.lang.foreign.MemorySegment q;
        java.lang.foreign.MemorySegment v;
        try (SafetensorsCheckpoint c = SafetensorsCheckpoint.open(dir)) {
            q = c.raw("layers.0.q.weight");
            v = c.raw("layers.0.v.weight");
            assertEquals(16, q.byteSize());
        }
        assertThrows(IllegalStateException.class, () -> q.get(ValueLayout.JAVA_BYTE, 0));
        assertThrows(IllegalStateException.class, () -> v.get(ValueLayout.JAVA_BYTE, 0));
    }
}
