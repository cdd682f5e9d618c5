package dev.eva4j.models.peft;

import static dev.eva4j.models.peft.PeftFixtures.BACKEND;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.eva4j.models.Batch;
import dev.eva4j.models.MiniLm;
import dev.eva4j.models.TransformerModel;
import dev.eva4j.models.bert.BertModel;
import dev.eva4j.models.hf.HfModelLoader;
import dev.eva4j.models.nn.ClassificationHead;
import dev.eva4j.models.nn.Lora;
import dev.eva4j.models.onnx.OnnxModelLoader;
import dev.eva4j.models.train.LoraSettings;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** An adapter on the ONNX export of all-MiniLM-L6-v2 merges into a Hugging Face BERT folder that loads back. */
class OnnxMergeTest {
    @TempDir
    Path tmp;

    @Test
    void theMergedMiniLmFolderComputesBasePlusAdapter() throws Exception {
        Batch batch = PeftFixtures.batch(30522, 2, 9, 8);
        LoraSettings settings = LoraSettings.of(8, 16).withTargets("query,value,output.dense");
        Path adapterDir = tmp.resolve("adapter"), out = tmp.resolve("merged");
        float[] hidden, probs;
        PeftLoraAdapter adapter;
        try (BertModel model = new OnnxModelLoader().load(MiniLm.onnx(), BACKEND)) {
            try (Lora lora = new Lora(model.kernels(), settings.modules(model.linears()), 0f, 1);
                 ClassificationHead head = new ClassificationHead(model.kernels(), 384, 2, ClassificationHead.Pooling.MEAN, 5)) {
                PeftFixtures.randomise(lora, 0.05, 3);
                PeftFixtures.randomise(head, 4);
                hidden = PeftFixtures.hidden(model, batch, lora);
                probs = head.probabilities(model, batch, lora);
                assertTrue(PeftFixtures.relativeNormDiff(PeftFixtures.hidden(model, batch, null), hidden) > 1e-2,
                        "the adapter matters");
                PeftLoraAdapter.write(adapterDir, settings, lora, head, new PeftLoraAdapter.Meta(
                        "sentence-transformers/all-MiniLM-L6-v2", "SEQ_CLS", "gaussian"));
            }
            adapter = PeftLoraAdapter.read(adapterDir);
            AdapterMerge.Result r = AdapterMerge.merge(model, adapter, out, AdapterMerge.parseSize("40MB"), MiniLm.dir());
            assertEquals(24, r.mergedModules(), "query, value and both output.dense layers (a suffix match, as PEFT matches) of 6 layers");
            assertTrue(r.files().size() >= 2, "about 90 MB of float32 in 40 MB shards: " + r.files());
            assertTrue(PeftFixtures.relativeNormDiff(PeftFixtures.hidden(model, batch, null), hidden) <= 1e-5,
                    "the loaded model now holds the merged weights");
        }
        assertTrue(Files.exists(out.resolve("model.safetensors.index.json")));
        assertTrue(Files.exists(out.resolve("tokenizer.json")));
        assertFalse(Files.exists(out.resolve("model.onnx")));
        JsonNode config = new ObjectMapper().readTree(out.resolve("config.json").toFile());
        assertEquals("bert", config.get("model_type").asText());
        assertEquals(384, config.get("hidden_size").asInt());
        assertEquals(6, config.get("num_hidden_layers").asInt());
        try (TransformerModel merged = new HfModelLoader().load(out, BACKEND);
             ClassificationHead head = HeadFile.fromCheckpoint(out, merged.kernels(), 384, ClassificationHead.Pooling.CLS)) {
            double diff = PeftFixtures.relativeNormDiff(PeftFixtures.hidden(merged, batch, null), hidden);
            assertTrue(diff <= 1e-5, "merged folder vs ONNX base + adapter: relative " + diff);
            assertEquals(ClassificationHead.Pooling.MEAN, head.pooling());
            assertTrue(PeftFixtures.maxAbsDiff(head.probabilities(merged, batch, null), probs) <= 1e-5);
        }
    }
}
