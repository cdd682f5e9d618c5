package dev.eva4j.models.peft;

import static dev.eva4j.models.peft.PeftFixtures.BACKEND;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.eva4j.api.safetensors.SafetensorsWriter;
import dev.eva4j.api.safetensors.TensorData;
import dev.eva4j.api.tensor.DType;
import dev.eva4j.models.Batch;
import dev.eva4j.models.TransformerModel;
import dev.eva4j.models.hf.HfModelLoader;
import dev.eva4j.models.llama.LlamaModel;
import dev.eva4j.models.nn.ClassificationHead;
import dev.eva4j.models.nn.Lora;
import dev.eva4j.models.tiny.TinyModels;
import dev.eva4j.models.tiny.TinySpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Adapters in the forms Python's PEFT writes, built by the test itself: keys with the adapter name
 * ({@code lora_A.default.weight}), a regex {@code target_modules}, regex keys in rank_pattern / alpha_pattern (first
 * match wins), rsLoRA, BF16 and F16 tensors, a head saved through modules_to_save, a {@code bert.} prefix.
 */
class PythonStyleAdapterTest {
    @TempDir
    static Path tmp;
    static Path bert, llama;

    @BeforeAll
    static void models() throws Exception {
        bert = tmp.resolve("bert");
        llama = tmp.resolve("llama");
        TinyModels.write(bert, TinySpec.bert());
        TinyModels.write(llama, TinySpec.llama());
    }

    /** Values exactly representable in BF16 and F16: multiples of 1/64 in [-1/4, 1/4]. */
    static float[] values(int n, Random rnd) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (rnd.nextInt(33) - 16) / 64f;
        return v;
    }

    static void writeAdapter(Path dir, String config, List<TensorData> tensors) throws Exception {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("adapter_config.json"), config);
        SafetensorsWriter.write(dir.resolve("adapter_model.safetensors"), tensors, Map.of("format", "pt"));
    }

    @Test
    void regexTargetsPatternsAdapterNamesAndRsLoraLoadWithTheRightRanksAndScales() throws Exception {
        // the ranks and alphas PEFT resolves for this config (first matching key wins; keys are regular expressions)
        Map<String, Integer> rank = new LinkedHashMap<>();
        Map<String, Double> alpha = new LinkedHashMap<>();
        for (int l = 0; l < 2; l++) {
            String p = "model.layers." + l + ".";
            rank.put(p + "self_attn.q_proj", l == 1 ? 6 : 3);
            rank.put(p + "self_attn.v_proj", 4);
            rank.put(p + "mlp.down_proj", 2);
            alpha.put(p + "self_attn.q_proj", 8.0);
            alpha.put(p + "self_attn.v_proj", l == 1 ? 32.0 : 8.0);
            alpha.put(p + "mlp.down_proj", 8.0);
        }
        String config = """
                {"peft_type": "LORA", "task_type": "CAUSAL_LM", "base_model_name_or_path": "some/llama",
                 "r": 4, "lora_alpha": 8, "lora_dropout": 0.05, "use_rslora": true, "bias": "none",
                 "target_modules": ".*\\\\.(q_proj|v_proj|down_proj)",
                 "rank_pattern": {"down_proj": 2, "model.layers.1.self_attn.q_proj": 6, "q_proj": 3},
                 "alpha_pattern": {"layers\\\\.1\\\\..*v_proj": 32},
                 "init_lora_weights": true, "fan_in_fan_out": false, "use_dora": false, "modules_to_save": null,
                 "layers_to_transform": null, "layers_pattern": null, "revision": null, "inference_mode": true}
                """;
        Random rnd = new Random(7);
        var tensors = new ArrayList<TensorData>();
        var a = new LinkedHashMap<String, float[]>();
        var b = new LinkedHashMap<String, float[]>();
        Map<String, int[]> dims = Map.of("self_attn.q_proj", new int[] {32, 32}, "self_attn.v_proj", new int[] {32, 32},
                "mlp.down_proj", new int[] {64, 32});
        for (String m : rank.keySet()) {
            int[] io = dims.get(m.substring(m.indexOf('.', "model.layers.".length()) + 1));
            int r = rank.get(m);
            a.put(m, values(r * io[0], rnd));
            b.put(m, values(io[1] * r, rnd));
            DType d = m.contains("mlp") ? DType.F16 : DType.BF16;
            tensors.add(TensorData.ofFloats("base_model.model." + m + ".lora_A.default.weight", d, new long[] {r, io[0]}, a.get(m)));
            tensors.add(TensorData.ofFloats("base_model.model." + m + ".lora_B.default.weight", d, new long[] {io[1], r}, b.get(m)));
        }
        Path dir = tmp.resolve("python-llama");
        writeAdapter(dir, config, tensors);

        PeftLoraAdapter adapter = PeftLoraAdapter.read(dir);
        assertEquals("re:.*\\.(q_proj|v_proj|down_proj)", adapter.settings().targets());
        assertEquals(0.05, adapter.settings().dropout());
        assertEquals("true", adapter.meta().initLoraWeights());
        assertEquals("CAUSAL_LM", adapter.meta().taskType());
        for (String m : rank.keySet()) {
            PeftLoraAdapter.Module mod = adapter.module(m);
            assertEquals(rank.get(m), mod.rank(), m);
            assertEquals((float) (alpha.get(m) / Math.sqrt(rank.get(m))), adapter.scaleOf(mod), m);
            assertArrayEquals(a.get(m), mod.a(), m);
            assertArrayEquals(b.get(m), mod.b(), m);
        }
        Batch batch = PeftFixtures.batch(96, 2, 6, 3);
        try (LlamaModel model = LlamaModel.load(llama, BACKEND);
             Lora loaded = new Lora(model.kernels(), adapter.modules(model.linears()), 0f, 1)) {
            adapter.loadInto(loaded);
            float[] actual = PeftFixtures.logits(model, batch, loaded);
            // the same adapter built by hand from the expected ranks and scalings
            var byHand = new ArrayList<Lora.Module>();
            for (String m : rank.keySet()) {
                int[] io = dims.get(m.substring(m.indexOf('.', "model.layers.".length()) + 1));
                byHand.add(new Lora.Module(m, io[0], io[1], rank.get(m), (float) (alpha.get(m) / Math.sqrt(rank.get(m)))));
            }
            try (Lora expected = new Lora(model.kernels(), byHand, 0f, 1)) {
                for (String m : rank.keySet()) {
                    expected.params().write(m + ".lora_A.weight", a.get(m));
                    expected.params().write(m + ".lora_B.weight", b.get(m));
                }
                float[] want = PeftFixtures.logits(model, batch, expected);
                float[] base = PeftFixtures.logits(model, batch, null);
                assertTrue(PeftFixtures.maxAbsDiff(want, base) > 1e-3, "the adapter does something");
                assertEquals(0.0, PeftFixtures.maxAbsDiff(actual, want));
            }
        }
    }

    @Test
    void aSequenceClassificationAdapterWithBertPrefixAndSavedHeadLoads() throws Exception {
        String config = """
                {"peft_type": "LORA", "task_type": "SEQ_CLS", "r": 2, "lora_alpha": 4, "lora_dropout": 0.1,
                 "target_modules": ["query", "value"], "rank_pattern": {}, "alpha_pattern": {},
                 "modules_to_save": ["classifier", "score"], "bias": "none", "init_lora_weights": "gaussian"}
                """;
        Random rnd = new Random(9);
        var tensors = new ArrayList<TensorData>();
        var expectedA = new LinkedHashMap<String, float[]>();
        for (int l = 0; l < 2; l++) {
            for (String m : List.of("query", "value")) {
                String path = "bert.encoder.layer." + l + ".attention.self." + m;
                float[] av = values(2 * 32, rnd), bv = values(32 * 2, rnd);
                expectedA.put(path, av);
                tensors.add(TensorData.ofFloats("base_model.model." + path + ".lora_A.weight", new long[] {2, 32}, av));
                tensors.add(TensorData.ofFloats("base_model.model." + path + ".lora_B.weight", new long[] {32, 2}, bv));
            }
        }
        float[] w = values(3 * 32, rnd), bias = values(3, rnd);
        tensors.add(TensorData.ofFloats("base_model.model.classifier.modules_to_save.default.weight", new long[] {3, 32}, w));
        tensors.add(TensorData.ofFloats("base_model.model.classifier.modules_to_save.default.bias", new long[] {3}, bias));
        Path dir = tmp.resolve("python-bert");
        writeAdapter(dir, config, tensors);

        PeftLoraAdapter adapter = PeftLoraAdapter.read(dir);
        assertEquals("query,value", adapter.settings().targets());
        assertEquals("classifier", adapter.head().module());
        assertNull(adapter.head().pooling(), "a head written by Python says nothing about pooling");
        assertArrayEquals(w, adapter.head().weight());
        try (TransformerModel model = new HfModelLoader().load(bert, BACKEND);
             Lora lora = new Lora(model.kernels(), adapter.modules(model.linears()), 0f, 1);
             ClassificationHead head = adapter.newHead(model.kernels(), model.hiddenSize(), ClassificationHead.Pooling.CLS)) {
            adapter.loadInto(lora);
            assertEquals(4, lora.modules().size());
            assertTrue(lora.adapts("encoder.layer.1.attention.self.value"), "bert. prefix dropped for a bare encoder");
            assertArrayEquals(expectedA.get("bert.encoder.layer.0.attention.self.query"),
                    lora.params().read("encoder.layer.0.attention.self.query.lora_A.weight"));
            assertEquals(2f, lora.module("encoder.layer.0.attention.self.query").scale());
            assertEquals(ClassificationHead.Pooling.CLS, head.pooling(), "the fallback");
            assertArrayEquals(bias, head.params().read(ClassificationHead.BIAS));
        }
    }
}
