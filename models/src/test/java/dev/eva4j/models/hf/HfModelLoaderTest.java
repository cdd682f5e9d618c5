package dev.eva4j.models.hf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.eva4j.api.safetensors.SafetensorsWriter;
import dev.eva4j.api.safetensors.TensorData;
import dev.eva4j.api.tensor.DType;
import dev.eva4j.models.Batch;
import dev.eva4j.models.bert.BertConfig;
import dev.eva4j.models.bert.BertModel;
import dev.eva4j.models.bert.TinyBert;
import dev.eva4j.models.ops.Check;
import dev.eva4j.models.ops.Floats;
import dev.eva4j.spi.ComputeBackend;
import dev.eva4j.spi.ModelLoader;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HfModelLoaderTest {
    private static final BertConfig CFG = TinyBert.config();
    private static final Map<String, FloatTensor> WEIGHTS = TinyBert.weights(CFG, 3);
    private static final String CONFIG_JSON = "{\"architectures\":[\"BertModel\"],\"model_type\":\"bert\","
            + "\"vocab_size\":50,\"hidden_size\":32,\"num_hidden_layers\":2,\"num_attention_heads\":4,"
            + "\"intermediate_size\":64,\"hidden_act\":\"gelu\",\"max_position_embeddings\":16,\"type_vocab_size\":2,"
            + "\"layer_norm_eps\":1e-12,\"torch_dtype\":\"float32\"}";

    @TempDir
    Path tmp;

    private static List<TensorData> tensors(Map<String, FloatTensor> w, DType dtype) {
        var list = new ArrayList<TensorData>();
        w.forEach((name, t) -> list.add(TensorData.ofFloats(name, dtype, t.shape(), t.values())));
        return list;
    }

    private Path writeFolder(String name, String config) throws IOException {
        Path dir = Files.createDirectory(tmp.resolve(name));
        Files.writeString(dir.resolve("config.json"), config);
        SafetensorsWriter.write(dir.resolve("model.safetensors"), tensors(WEIGHTS, DType.F32), Map.of("format", "pt"));
        return dir;
    }

    private static ModelLoader hfLoader() {
        return ServiceLoader.load(ModelLoader.class).stream().map(ServiceLoader.Provider::get)
                .filter(l -> l.name().equals("hf")).findFirst().orElseThrow(() -> new AssertionError("no hf ModelLoader"));
    }

    private static float[] forward(BertModel model) {
        int[] ids = {1, 7, 9, 33, 2, 0, 4, 8, 0, 0};
        int[] mask = {1, 1, 1, 1, 1, 1, 1, 1, 0, 0};
        try (Arena arena = Arena.ofConfined()) {
            return Floats.toArray(model.forward(Batch.of(2, 5, ids, mask), arena));
        }
    }

    @Test
    void loadsATinyBertThroughTheServiceLoader() throws IOException {
        Path dir = writeFolder("tiny-bert", CONFIG_JSON);
        ModelLoader loader = hfLoader();
        assertTrue(loader.isAvailable());
        assertTrue(loader.supports(dir));
        ComputeBackend backend = Check.backends().findFirst().orElseThrow();
        try (var loaded = loader.load(dir, backend);
             BertModel direct = BertModel.create(CFG, TensorSource.of(WEIGHTS), backend)) {
            BertModel model = assertInstanceOf(BertModel.class, loaded);
            assertEquals(CFG, model.config());
            assertEquals("bert", model.modelType());
            assertArrayEquals(forward(direct), forward(model), "weights read from the folder equal the originals");
        }
    }

    @Test
    void loadsAShardedBf16Checkpoint() throws IOException {
        Path dir = Files.createDirectory(tmp.resolve("sharded"));
        Files.writeString(dir.resolve("config.json"), CONFIG_JSON);
        var first = new LinkedHashMap<String, FloatTensor>();
        var second = new LinkedHashMap<String, FloatTensor>();
        var bf16 = new LinkedHashMap<String, FloatTensor>();
        StringBuilder index = new StringBuilder("{\"metadata\":{},\"weight_map\":{");
        WEIGHTS.forEach((name, t) -> {
            float[] v = t.values().clone();
            for (int i = 0; i < v.length; i++) v[i] = Float.intBitsToFloat(Float.floatToIntBits(v[i]) & 0xFFFF0000); // bf16-exact
            bf16.put(name, new FloatTensor(t.shape(), v));
            boolean inFirst = name.startsWith("embeddings") || name.startsWith("encoder.layer.0.");
            (inFirst ? first : second).put(name, bf16.get(name));
            if (index.charAt(index.length() - 1) != '{') index.append(',');
            index.append('"').append(name).append("\":\"").append(inFirst ? "model-00001-of-00002.safetensors"
                    : "model-00002-of-00002.safetensors").append('"');
        });
        Files.writeString(dir.resolve("model.safetensors.index.json"), index.append("}}"));
        SafetensorsWriter.write(dir.resolve("model-00001-of-00002.safetensors"), tensors(first, DType.BF16), Map.of());
        SafetensorsWriter.write(dir.resolve("model-00002-of-00002.safetensors"), tensors(second, DType.BF16), Map.of());
        ComputeBackend backend = Check.backends().findFirst().orElseThrow();
        try (var loaded = hfLoader().load(dir, backend);
             BertModel direct = BertModel.create(CFG, TensorSource.of(bf16), backend)) {
            assertArrayEquals(forward(direct), forward((BertModel) loaded));
        }
    }

    @Test
    void userMistakesAreOneLineErrorsNamingTheFolder() throws IOException {
        ModelLoader loader = hfLoader();
        ComputeBackend backend = Check.backends().findFirst().orElseThrow();
        Path empty = Files.createDirectory(tmp.resolve("empty"));
        assertFalse(loader.supports(empty));
        assertFalse(loader.supports(tmp.resolve("does-not-exist")));
        var e = assertThrows(IllegalArgumentException.class, () -> loader.load(empty, backend));
        assertEquals(empty + ": no config.json (not a Hugging Face model folder)", e.getMessage());

        Path gpt2 = writeFolder("gpt2", CONFIG_JSON.replace("\"bert\"", "\"gpt2\""));
        assertTrue(loader.supports(gpt2));
        e = assertThrows(IllegalArgumentException.class, () -> loader.load(gpt2, backend));
        assertTrue(e.getMessage().startsWith(gpt2 + ": model_type \"gpt2\" is not supported (supported: bert"),
                e.getMessage());

        Path untyped = writeFolder("untyped", CONFIG_JSON.replace("\"model_type\":\"bert\",", ""));
        e = assertThrows(IllegalArgumentException.class, () -> loader.load(untyped, backend));
        assertEquals(untyped + ": config.json has no model_type", e.getMessage());

        Path broken = writeFolder("broken", "{\"model_type\": \"bert\",");
        e = assertThrows(IllegalArgumentException.class, () -> loader.load(broken, backend));
        assertTrue(e.getMessage().startsWith(broken.resolve("config.json") + " is not valid JSON"), e.getMessage());
        assertEquals(1, e.getMessage().lines().count(), e.getMessage());

        Path noLayers = writeFolder("no-layers", CONFIG_JSON.replace("\"num_hidden_layers\":2,", ""));
        e = assertThrows(IllegalArgumentException.class, () -> loader.load(noLayers, backend));
        assertEquals(noLayers + ": config.json has no num_hidden_layers", e.getMessage());
    }

    @Test
    void folderGivesConfigTypeAndTensors() throws IOException {
        Path dir = writeFolder("folder", CONFIG_JSON);
        try (HfFolder f = HfFolder.open(dir)) {
            assertEquals("bert", f.modelType());
            assertEquals(32, f.config().get("hidden_size").intValue());
            assertArrayEquals(new long[] {64, 32}, f.tensors().shape("encoder.layer.1.intermediate.dense.weight").orElseThrow());
            assertFalse(f.tensors().contains("pooler.dense.weight"));
            try (Arena arena = Arena.ofConfined()) {
                assertArrayEquals(WEIGHTS.get("embeddings.LayerNorm.bias").values(),
                        Floats.toArray(f.tensors().floats("embeddings.LayerNorm.bias", arena)));
            }
        }
    }
}
