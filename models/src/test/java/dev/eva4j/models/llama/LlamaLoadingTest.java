package dev.eva4j.models.llama;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.eva4j.api.safetensors.SafetensorsCheckpoint;
import dev.eva4j.api.safetensors.SafetensorsWriter;
import dev.eva4j.api.safetensors.TensorData;
import dev.eva4j.api.tensor.DType;
import dev.eva4j.models.Batch;
import dev.eva4j.models.TransformerModel;
import dev.eva4j.models.bert.BertModel;
import dev.eva4j.models.tiny.TinyModels;
import dev.eva4j.models.tiny.TinySpec;
import dev.eva4j.spi.ComputeBackend;
import dev.eva4j.spi.ModelLoader;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Loading tiny Llama-family folders through the {@code hf} loader: single file, sharded, and user mistakes. */
class LlamaLoadingTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final ComputeBackend BACKEND = LlamaModelTest.cpuBackend();

    @TempDir
    Path tmp;

    static ModelLoader hfLoader() {
        return ServiceLoader.load(ModelLoader.class).stream().map(ServiceLoader.Provider::get)
                .filter(l -> l.name().equals("hf")).findFirst().orElseThrow();
    }

    static float[] logits(LlamaModel model) {
        int[] ids = {0, 0, 2, 7, 9, 33, 2, 41, 8, 11, 60, 0};
        int[] mask = {0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0};
        try (Arena arena = Arena.ofConfined()) {
            return model.logits(Batch.of(2, 6, ids, mask), arena).toArray(ValueLayout.JAVA_FLOAT);
        }
    }

    @Test
    void everyLlamaOptionLoadsThroughTheHfLoader() throws Exception {
        ModelLoader loader = hfLoader();
        var specs = List.of(TinySpec.llama(), TinySpec.llama().withKvHeads(1).withQwen2Biases(true).withDtype(DType.BF16),
                TinySpec.llama().withTiedEmbeddings(true).withLlama3RopeScaling(true));
        for (int i = 0; i < specs.size(); i++) {
            Path dir = tmp.resolve("m" + i);
            TinyModels.write(dir, specs.get(i));
            assertTrue(loader.supports(dir));
            try (TransformerModel loaded = (TransformerModel) loader.load(dir, BACKEND);
                 LlamaModel direct = LlamaModel.load(dir, BACKEND)) {
                LlamaModel model = assertInstanceOf(LlamaModel.class, loaded);
                assertEquals(TinyModels.llamaConfig(specs.get(i)), model.config());
                assertEquals(i == 1 ? "qwen2" : "llama", model.modelType());
                assertEquals(14, model.linearModules().size());
                assertArrayEquals(logits(direct), logits(model));
            }
        }
    }

    @Test
    void mistralAndQwen2TypesAreRegistered() throws Exception {
        Path dir = tmp.resolve("mistral");
        TinyModels.write(dir, TinySpec.llama().withKvHeads(2));
        float[] asLlama;
        try (LlamaModel m = LlamaModel.load(dir, BACKEND)) {
            asLlama = logits(m);
        }
        ObjectNode config = (ObjectNode) JSON.readTree(dir.resolve("config.json").toFile());
        config.put("model_type", "mistral");
        config.put("sliding_window", 4096);
        Files.writeString(dir.resolve("config.json"), config.toString());
        try (TransformerModel m = (TransformerModel) hfLoader().load(dir, BACKEND)) {
            assertEquals("mistral", m.modelType());
            assertArrayEquals(asLlama, logits((LlamaModel) m), "mistral is llama without biases");
        }
    }

    @Test
    void aShardedCopyLoadsTheSame() throws Exception {
        Path single = tmp.resolve("single");
        TinyModels.write(single, TinySpec.llama().withQwen2Biases(true).withDtype(DType.BF16));
        Path sharded = Files.createDirectory(tmp.resolve("sharded"));
        Files.copy(single.resolve("config.json"), sharded.resolve("config.json"));
        var first = new ArrayList<TensorData>();
        var second = new ArrayList<TensorData>();
        ObjectNode index = JSON.createObjectNode();
        ObjectNode weightMap = index.putObject("weight_map");
        long total = 0;
        try (var ckpt = SafetensorsCheckpoint.open(single)) {
            for (String name : ckpt.tensorNames()) {
                boolean inFirst = name.startsWith("model.embed_tokens") || name.startsWith("model.layers.0.");
                var t = TensorData.of(ckpt, name);
                var copy = new TensorData(name, t.dtype(), t.shape(), MemorySegment.ofArray(t.bytes().toArray(ValueLayout.JAVA_BYTE)));
                (inFirst ? first : second).add(copy);
                total += copy.bytes().byteSize();
                weightMap.put(name, inFirst ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors");
            }
        }
        index.putObject("metadata").put("total_size", total);
        Files.writeString(sharded.resolve("model.safetensors.index.json"), index.toString());
        SafetensorsWriter.write(sharded.resolve("model-00001-of-00002.safetensors"), first, Map.of("format", "pt"));
        SafetensorsWriter.write(sharded.resolve("model-00002-of-00002.safetensors"), second, Map.of("format", "pt"));
        assertFalse(first.isEmpty() || second.isEmpty());
        try (LlamaModel a = LlamaModel.load(single, BACKEND);
             TransformerModel b = (TransformerModel) hfLoader().load(sharded, BACKEND)) {
            assertArrayEquals(logits(a), logits((LlamaModel) b));
        }
    }

    @Test
    void missingConfigIsAOneLineError() throws Exception {
        Path dir = tmp.resolve("noconfig");
        TinyModels.write(dir, TinySpec.llama());
        Files.delete(dir.resolve("config.json"));
        var viaLoader = assertThrows(IllegalArgumentException.class, () -> hfLoader().load(dir, BACKEND));
        var direct = assertThrows(IllegalArgumentException.class, () -> LlamaModel.load(dir, BACKEND));
        for (var e : List.of(viaLoader, direct)) {
            assertTrue(e.getMessage().contains("config.json") && e.getMessage().contains(dir.toString()), e.getMessage());
            assertEquals(1, e.getMessage().lines().count());
        }
    }

    @Test
    void unknownModelTypeIsAOneLineError() throws Exception {
        Path dir = tmp.resolve("neox");
        TinyModels.write(dir, TinySpec.llama());
        ObjectNode config = (ObjectNode) JSON.readTree(dir.resolve("config.json").toFile());
        config.put("model_type", "gpt_neox");
        Files.writeString(dir.resolve("config.json"), config.toString());
        var e = assertThrows(IllegalArgumentException.class, () -> hfLoader().load(dir, BACKEND));
        assertTrue(e.getMessage().contains("gpt_neox") && e.getMessage().contains("llama")
                && e.getMessage().contains("mistral") && e.getMessage().contains("qwen2"), e.getMessage());
        assertEquals(1, e.getMessage().lines().count());
        var direct = assertThrows(IllegalArgumentException.class, () -> LlamaModel.load(dir, BACKEND));
        assertTrue(direct.getMessage().contains("gpt_neox"), direct.getMessage());
    }

    @Test
    void invalidConfigFieldIsAOneLineErrorNamingFolderAndField() throws Exception {
        Path dir = tmp.resolve("badkv");
        TinyModels.write(dir, TinySpec.llama());
        ObjectNode config = (ObjectNode) JSON.readTree(dir.resolve("config.json").toFile());
        config.put("num_key_value_heads", 3);
        Files.writeString(dir.resolve("config.json"), config.toString());
        var e = assertThrows(IllegalArgumentException.class, () -> hfLoader().load(dir, BACKEND));
        assertTrue(e.getMessage().startsWith(dir.toString()) && e.getMessage().contains("num_key_value_heads"), e.getMessage());
        assertEquals(1, e.getMessage().lines().count());
    }

    @Test
    void wrongTensorShapeThroughTheLoaderNamesTensorExpectedAndActual() throws Exception {
        Path dir = tmp.resolve("wrongshape");
        TinyModels.write(dir, TinySpec.llama().withKvHeads(2));
        ObjectNode config = (ObjectNode) JSON.readTree(dir.resolve("config.json").toFile());
        config.put("num_key_value_heads", 4); // k_proj/v_proj are [16, 32] in the file, config says [32, 32]
        Files.writeString(dir.resolve("config.json"), config.toString());
        var e = assertThrows(IllegalArgumentException.class, () -> hfLoader().load(dir, BACKEND));
        assertEquals("weight model.layers.0.self_attn.k_proj.weight has shape [16, 32], expected [32, 32] from config.json",
                e.getMessage());
    }

    @Test
    void tinyBertLoadsAsABertModel() throws Exception {
        Path dir = tmp.resolve("bert");
        TinyModels.write(dir, TinySpec.bert());
        try (TransformerModel m = (TransformerModel) hfLoader().load(dir, BACKEND); Arena arena = Arena.ofConfined()) {
            assertInstanceOf(BertModel.class, m);
            assertEquals(12, m.linears().size());
            float[] h = m.forward(Batch.of(1, 4, new int[] {2, 10, 11, 3}, new int[] {1, 1, 1, 1}), arena, java.util.Set.of(), null)
                    .toArray(ValueLayout.JAVA_FLOAT);
            assertEquals(4 * 32, h.length);
            for (float v : h) assertTrue(Float.isFinite(v));
        }
    }
}
