package dev.eva4j.models.peft;

import static dev.eva4j.models.peft.PeftFixtures.BACKEND;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.eva4j.api.safetensors.SafetensorsFile;
import dev.eva4j.models.Batch;
import dev.eva4j.models.TransformerModel;
import dev.eva4j.models.hf.HfModelLoader;
import dev.eva4j.models.llama.LlamaModel;
import dev.eva4j.models.nn.ClassificationHead;
import dev.eva4j.models.nn.Lora;
import dev.eva4j.models.tiny.TinyModels;
import dev.eva4j.models.tiny.TinySpec;
import dev.eva4j.models.train.LoraSettings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Writing, reading and loading PEFT LoRA adapter folders. */
class PeftLoraAdapterTest {
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

    /** rank 4, alpha 8; query at rank 2, value at alpha 12, rsLoRA, dropout 0.1 on query/value/intermediate. */
    static LoraSettings bertSettings() {
        return new LoraSettings(4, 8, 0.1, true, "query,value,intermediate.dense",
                Map.of("layer.1.attention.self.query", 2), Map.of("value", 12.0));
    }

    @Test
    void writeThenReadGivesTheSameTensorsAndSettings() throws Exception {
        try (TransformerModel model = new HfModelLoader().load(bert, BACKEND);
             Lora lora = new Lora(model.kernels(), bertSettings().modules(model.linears()), 0.1f, 1);
             ClassificationHead head = new ClassificationHead(model.kernels(), model.hiddenSize(), 3,
                     ClassificationHead.Pooling.CLS, 2)) {
            PeftFixtures.randomise(lora, 0.3, 11);
            PeftFixtures.randomise(head, 12);
            var meta = new PeftLoraAdapter.Meta("tiny-bert", "SEQ_CLS", "eva");
            PeftLoraAdapter written = PeftLoraAdapter.of(bertSettings(), lora, head, meta);
            Path dir = tmp.resolve("roundtrip");
            written.write(dir);
            PeftLoraAdapter read = PeftLoraAdapter.read(dir);

            assertEquals(written.settings(), read.settings());
            assertEquals(meta, read.meta());
            assertEquals(6, read.modules().size(), "query, value, intermediate.dense of 2 layers");
            for (int i = 0; i < written.modules().size(); i++) {
                PeftLoraAdapter.Module w = written.modules().get(i), r = read.modules().get(i);
                assertEquals(w.path(), r.path());
                assertEquals(w.rank(), r.rank());
                assertArrayEquals(w.a(), r.a(), w.path());
                assertArrayEquals(w.b(), r.b(), w.path());
                assertEquals(written.scaleOf(w), read.scaleOf(r));
            }
            assertEquals(2, read.module("encoder.layer.1.attention.self.query").rank());
            assertEquals((float) (12 / Math.sqrt(4)), read.scaleOf(read.module("encoder.layer.0.attention.self.value")));
            assertArrayEquals(written.head().weight(), read.head().weight());
            assertArrayEquals(written.head().bias(), read.head().bias());
            assertEquals(ClassificationHead.Pooling.CLS, read.head().pooling());
            assertEquals(3, read.head().numLabels());

            JsonNode config = new ObjectMapper().readTree(dir.resolve("adapter_config.json").toFile());
            assertEquals("LORA", config.get("peft_type").asText());
            assertEquals(4, config.get("r").asInt());
            assertTrue(config.get("lora_alpha").isIntegralNumber(), "alpha 8 as PEFT's int");
            assertEquals(2, config.get("rank_pattern").get("encoder.layer.1.attention.self.query").asInt());
            assertEquals(1, config.get("rank_pattern").size());
            assertEquals(2, config.get("alpha_pattern").size(), "the value layers");
            assertEquals("eva", config.get("init_lora_weights").asText());
            assertEquals("[\"classifier\"]", config.get("modules_to_save").toString());
            assertTrue(config.get("use_rslora").asBoolean());
            assertTrue(config.get("target_modules").isArray());
            assertFalse(config.has("pooling") || config.has("num_labels"), "eva4j's head facts stay out of PEFT's config");
            try (SafetensorsFile f = SafetensorsFile.open(dir.resolve("adapter_model.safetensors"))) {
                assertEquals(List.of(2L, 32L).toString(), java.util.Arrays.toString(
                        f.info("base_model.model.encoder.layer.1.attention.self.query.lora_A.weight").shape()));
                assertTrue(f.contains("base_model.model.classifier.weight"));
                assertTrue(f.contains("base_model.model.classifier.bias"));
                assertEquals(6 * 2 + 2, f.tensors().size());
            }
            JsonNode headJson = new ObjectMapper().readTree(dir.resolve("eva4j_head.json").toFile());
            assertEquals("cls", headJson.get("pooling").asText());
            assertEquals(3, headJson.get("num_labels").asInt());
        }
    }

    @Test
    void aSavedAdapterLoadedBackGivesTheSameOutputs() throws Exception {
        Batch batch = PeftFixtures.batch(96, 3, 9, 5);
        Path dir = tmp.resolve("outputs");
        float[] hidden, probs;
        try (TransformerModel model = new HfModelLoader().load(bert, BACKEND);
             Lora lora = new Lora(model.kernels(), bertSettings().modules(model.linears()), 0.1f, 1);
             ClassificationHead head = new ClassificationHead(model.kernels(), model.hiddenSize(), 2,
                     ClassificationHead.Pooling.MEAN, 2)) {
            PeftFixtures.randomise(lora, 0.3, 21);
            PeftFixtures.randomise(head, 22);
            hidden = PeftFixtures.hidden(model, batch, lora);
            probs = head.probabilities(model, batch, lora);
            float[] base = PeftFixtures.hidden(model, batch, null);
            assertTrue(PeftFixtures.maxAbsDiff(hidden, base) > 1e-2, "the adapter changes the output");
            PeftLoraAdapter.write(dir, bertSettings(), lora, head, new PeftLoraAdapter.Meta(null, "SEQ_CLS", null));
        }
        try (TransformerModel fresh = new HfModelLoader().load(bert, BACKEND)) {
            PeftLoraAdapter adapter = PeftLoraAdapter.read(dir);
            try (Lora lora = new Lora(fresh.kernels(), adapter.modules(fresh.linears()), 0f, 99);
                 ClassificationHead head = adapter.newHead(fresh.kernels(), fresh.hiddenSize(), ClassificationHead.Pooling.CLS)) {
                adapter.loadInto(lora);
                assertTrue(PeftFixtures.maxAbsDiff(PeftFixtures.hidden(fresh, batch, lora), hidden) <= 1e-6);
                assertTrue(PeftFixtures.maxAbsDiff(head.probabilities(fresh, batch, lora), probs) <= 1e-6);
                assertEquals(ClassificationHead.Pooling.MEAN, head.pooling(), "pooling from eva4j_head.json");
            }
        }
    }

    @Test
    void aLlamaAdapterLoadedBackGivesTheSameLogits() throws Exception {
        Batch batch = PeftFixtures.batch(96, 2, 7, 6);
        LoraSettings settings = LoraSettings.of(4, 16).withPatterns(Map.of("down_proj", 3), Map.of("o_proj", 4.0));
        Path dir = tmp.resolve("llama-adapter");
        float[] expected;
        try (LlamaModel model = LlamaModel.load(llama, BACKEND);
             Lora lora = new Lora(model.kernels(), settings.modules(model.linears()), 0f, 1)) {
            PeftFixtures.randomise(lora, 0.2, 31);
            expected = PeftFixtures.logits(model, batch, lora);
            PeftLoraAdapter.write(dir, settings, lora, null, new PeftLoraAdapter.Meta("tiny", "CAUSAL_LM", "gaussian"));
        }
        PeftLoraAdapter adapter = PeftLoraAdapter.read(dir);
        assertNull(adapter.head());
        assertFalse(Files.exists(dir.resolve("eva4j_head.json")));
        try (LlamaModel model = LlamaModel.load(llama, BACKEND);
             Lora lora = new Lora(model.kernels(), adapter.modules(model.linears()), 0f, 1)) {
            adapter.loadInto(lora);
            assertEquals(14, lora.modules().size());
            assertEquals(3, lora.module("model.layers.1.mlp.down_proj").rank());
            assertEquals(1f, lora.module("model.layers.0.self_attn.o_proj").scale());
            assertTrue(PeftFixtures.maxAbsDiff(PeftFixtures.logits(model, batch, lora), expected) <= 1e-6);
        }
    }
}
