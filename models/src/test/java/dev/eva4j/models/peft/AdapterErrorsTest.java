package dev.eva4j.models.peft;

import static dev.eva4j.models.peft.PeftFixtures.BACKEND;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.eva4j.api.safetensors.SafetensorsWriter;
import dev.eva4j.api.safetensors.TensorData;
import dev.eva4j.models.LinearModule;
import dev.eva4j.models.llama.LlamaModel;
import dev.eva4j.models.nn.ClassificationHead;
import dev.eva4j.models.nn.Lora;
import dev.eva4j.models.tiny.TinyModels;
import dev.eva4j.models.tiny.TinySpec;
import dev.eva4j.models.train.LoraSettings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

/** Every way an adapter folder can be wrong is one line naming the file, the key or the shape. */
class AdapterErrorsTest {
    @TempDir
    static Path tmp;
    static Path llama, good;
    static final String CONFIG = "{\"peft_type\": \"LORA\", \"r\": 2, \"lora_alpha\": 4, \"target_modules\": [\"q_proj\"]}";

    @BeforeAll
    static void fixtures() throws Exception {
        llama = tmp.resolve("llama");
        TinyModels.write(llama, TinySpec.llama());
        good = folder("good", CONFIG, tensors(2, 32, 32, 2));
    }

    /** lora_A [r, in] / lora_B [out, r] of q_proj in {@code layers} layers. */
    static List<TensorData> tensors(int layers, int in, int out, int r) {
        var t = new ArrayList<TensorData>();
        for (int l = 0; l < layers; l++) {
            String p = "base_model.model.model.layers." + l + ".self_attn.q_proj";
            t.add(TensorData.ofFloats(p + ".lora_A.weight", new long[] {r, in}, new float[r * in]));
            t.add(TensorData.ofFloats(p + ".lora_B.weight", new long[] {out, r}, new float[out * r]));
        }
        return t;
    }

    static Path folder(String name, String config, List<TensorData> tensors) throws Exception {
        Path dir = Files.createDirectories(tmp.resolve(name));
        if (config != null) Files.writeString(dir.resolve("adapter_config.json"), config);
        if (tensors != null) SafetensorsWriter.write(dir.resolve("adapter_model.safetensors"), tensors, Map.of());
        return dir;
    }

    static String oneLine(Executable e, String... expected) {
        IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, e);
        String m = ex.getMessage();
        assertFalse(m.contains("\n"), "one line: " + m);
        for (String x : expected) assertTrue(m.contains(x), "'" + x + "' in: " + m);
        return m;
    }

    @Test
    void unreadableFoldersNameTheFileAndTheProblem() throws Exception {
        oneLine(() -> PeftLoraAdapter.read(tmp.resolve("nowhere")), "nowhere", "does not exist");
        oneLine(() -> PeftLoraAdapter.read(folder("noconfig", null, tensors(1, 32, 32, 2))), "noconfig",
                "no adapter_config.json");
        oneLine(() -> PeftLoraAdapter.read(folder("noweights", CONFIG, null)), "noweights", "no adapter_model.safetensors");
        oneLine(() -> PeftLoraAdapter.read(folder("badjson", "{\"peft_type\": \"LORA\", \"r\": ", tensors(1, 32, 32, 2))),
                "badjson", "adapter_config.json is not valid JSON");
        oneLine(() -> PeftLoraAdapter.read(folder("ia3", "{\"peft_type\": \"IA3\"}", tensors(1, 32, 32, 2))),
                "adapter_config.json", "peft_type is IA3");
        oneLine(() -> PeftLoraAdapter.read(folder("dora", CONFIG.replace("}", ", \"use_dora\": true}"), tensors(1, 32, 32, 2))),
                "use_dora is true");
        oneLine(() -> PeftLoraAdapter.read(folder("badregex", CONFIG.replace("}", ", \"rank_pattern\": {\"q_(\": 3}}"),
                tensors(1, 32, 32, 2))), "rank_pattern", "q_(");
        Path corrupt = Files.createDirectories(tmp.resolve("corrupt"));
        Files.writeString(corrupt.resolve("adapter_config.json"), CONFIG);
        Files.write(corrupt.resolve("adapter_model.safetensors"), new byte[] {1, 2, 3});
        oneLine(() -> PeftLoraAdapter.read(corrupt), "adapter_model.safetensors");
    }

    @Test
    void inconsistentTensorsAreOneLine() throws Exception {
        var extra = new ArrayList<>(tensors(1, 32, 32, 2));
        extra.add(TensorData.ofFloats("base_model.model.model.layers.0.self_attn.q_proj.bias", new long[] {32}, new float[32]));
        oneLine(() -> PeftLoraAdapter.read(folder("extra", CONFIG, extra)), "q_proj.bias", "neither a LoRA weight");
        oneLine(() -> PeftLoraAdapter.read(folder("rank", CONFIG, tensors(1, 32, 32, 5))),
                "lora_A of model.layers.0.self_attn.q_proj is [5, 32]", "gives rank 2");
        var onlyA = List.of(tensors(1, 32, 32, 2).getFirst());
        oneLine(() -> PeftLoraAdapter.read(folder("onlya", CONFIG, onlyA)), "has lora_A but no lora_B");
        oneLine(() -> PeftLoraAdapter.read(folder("untargeted", CONFIG.replace("q_proj", "v_proj"), tensors(1, 32, 32, 2))),
                "model.layers.0.self_attn.q_proj", "target_modules (v_proj) does not select");
        var embedding = List.of(TensorData.ofFloats("base_model.model.model.embed_tokens.lora_embedding_A.weight",
                new long[] {2, 96}, new float[192]));
        oneLine(() -> PeftLoraAdapter.read(folder("embedding", CONFIG, embedding)), "lora_embedding_A");
        var lmHead = new ArrayList<>(tensors(1, 32, 32, 2));
        lmHead.add(TensorData.ofFloats("base_model.model.lm_head.weight", new long[] {96, 32}, new float[96 * 32]));
        oneLine(() -> PeftLoraAdapter.read(folder("lmhead", CONFIG.replace("}", ", \"modules_to_save\": [\"lm_head\"]}"), lmHead)),
                "saves lm_head whole (modules_to_save)");
    }

    @Test
    void anAdapterForAnotherModelNamesTheMismatch() throws Exception {
        try (LlamaModel model = LlamaModel.load(llama, BACKEND)) {
            List<LinearModule> linears = model.linears();
            PeftLoraAdapter fourLayers = PeftLoraAdapter.read(folder("four", CONFIG, tensors(4, 32, 32, 2)));
            String m = oneLine(() -> fourLayers.modules(linears),
                    "adapter module model.layers.2.self_attn.q_proj is not in the model (2 layers)",
                    "model.layers.3.self_attn.q_proj");
            assertFalse(m.contains("layers.1."), "only the missing ones: " + m);
            PeftLoraAdapter wider = PeftLoraAdapter.read(folder("wider", CONFIG, tensors(2, 48, 32, 2)));
            oneLine(() -> wider.modules(linears), "lora_A of model.layers.0.self_attn.q_proj is [2, 48] but the layer's input is 32");
            PeftLoraAdapter taller = PeftLoraAdapter.read(folder("taller", CONFIG, tensors(1, 32, 40, 2)));
            oneLine(() -> taller.modules(linears), "lora_B of model.layers.0.self_attn.q_proj is [40, 2] but the layer's output is 32");
            PeftLoraAdapter huge = PeftLoraAdapter.read(folder("huge", CONFIG.replace("\"r\": 2", "\"r\": 40"), tensors(1, 32, 32, 40)));
            oneLine(() -> huge.modules(linears), "rank 40 of model.layers.0.self_attn.q_proj exceeds the layer's smaller dimension");

            PeftLoraAdapter adapter = PeftLoraAdapter.read(good);
            try (Lora more = new Lora(model.kernels(), LoraSettings.of(2, 4).withTargets("q_proj,v_proj").modules(linears), 0f, 1)) {
                oneLine(() -> adapter.loadInto(more), "the LoRA layers adapt 2 module(s) the adapter lacks");
            }
            try (Lora rank4 = new Lora(model.kernels(), LoraSettings.of(4, 8).withTargets("q_proj").modules(linears), 0f, 1)) {
                oneLine(() -> adapter.loadInto(rank4), "is rank 2 [32 x 32] in the adapter but rank 4");
            }
            try (Lora scaled = new Lora(model.kernels(), LoraSettings.of(2, 8).withTargets("q_proj").modules(linears), 0f, 1)) {
                oneLine(() -> adapter.loadInto(scaled), "scales by 2.0 in the adapter but by 4.0");
            }
            oneLine(() -> adapter.newHead(model.kernels(), 32, ClassificationHead.Pooling.MEAN), "no classification head");
        }
    }

    @Test
    void aWriterWhoseSettingsDisagreeWithTheLayersIsRefused() throws Exception {
        try (LlamaModel model = LlamaModel.load(llama, BACKEND);
             Lora lora = new Lora(model.kernels(), LoraSettings.of(2, 4).withTargets("q_proj").modules(model.linears()), 0f, 1)) {
            Path out = tmp.resolve("never");
            oneLine(() -> PeftLoraAdapter.write(out, LoraSettings.of(3, 4).withTargets("q_proj"), lora, null,
                    new PeftLoraAdapter.Meta(null, null, null)), "has rank 2 but the settings give 3");
            oneLine(() -> PeftLoraAdapter.write(out, LoraSettings.of(2, 4).withRslora(true).withTargets("q_proj"), lora, null,
                    new PeftLoraAdapter.Meta(null, null, null)), "scales by 2.0", "rsLoRA");
            assertFalse(Files.exists(out), "nothing written");
            assertEquals(0, tmp.toFile().list((d, n) -> n.startsWith(".never")).length, "no temporary left behind");
        }
    }
}
