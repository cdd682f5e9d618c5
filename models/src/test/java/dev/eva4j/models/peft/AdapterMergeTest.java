package dev.eva4j.models.peft;

import static dev.eva4j.models.peft.PeftFixtures.BACKEND;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.eva4j.api.safetensors.SafetensorsCheckpoint;
import dev.eva4j.api.safetensors.SafetensorsFile;
import dev.eva4j.api.safetensors.SafetensorsWriter;
import dev.eva4j.api.safetensors.TensorData;
import dev.eva4j.api.safetensors.TensorInfo;
import dev.eva4j.api.tensor.DType;
import dev.eva4j.models.Batch;
import dev.eva4j.models.TransformerModel;
import dev.eva4j.models.hf.HfModelLoader;
import dev.eva4j.models.llama.LlamaModel;
import dev.eva4j.models.nn.ClassificationHead;
import dev.eva4j.models.nn.Lora;
import dev.eva4j.models.tiny.TinyModels;
import dev.eva4j.models.tiny.TinySpec;
import dev.eva4j.models.train.LoraSettings;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Merged checkpoints compute what base + adapter computes, keep names and dtypes, shard, and load back. */
class AdapterMergeTest {
    /** F32 merge: the merged model's logits against base + adapter, norm-wise relative (the acceptance bound). */
    static final double F32_TOLERANCE = 1e-5;
    /**
     * BF16 merge against base + adapter (both on the same BF16 base weights, computed in float32): W' = W + s B A is
     * rounded once to BF16 (relative step 2^-8, up to 2^-9 per weight), which on this random 2-layer model moves the
     * logits by 1.8e-2 of their norm (measured); hence 5e-2. The merge itself is checked tightly: every merged weight
     * within one BF16 step of W + s B A in float64, and the logits equal (<= 1e-6 relative) those of a checkpoint whose
     * weights are that float64 merge rounded to BF16 on the host.
     */
    static final double BF16_TOLERANCE = 5e-2;

    @TempDir
    static Path tmp;

    static final LoraSettings SETTINGS = LoraSettings.of(4, 8).withPatterns(Map.of("down_proj", 2), Map.of("q_proj", 16.0));

    /** Writes an adapter with random non-zero A and B for {@code model} and reads it back from its folder. */
    static PeftLoraAdapter adapterFor(TransformerModel model, LoraSettings settings, String name, ClassificationHead head)
            throws Exception {
        try (Lora lora = new Lora(model.kernels(), settings.modules(model.linears()), 0f, 1)) {
            PeftFixtures.randomise(lora, 0.2, name.hashCode());
            Path dir = tmp.resolve(name);
            PeftLoraAdapter.write(dir, settings, lora, head, new PeftLoraAdapter.Meta(null, null, null));
            return PeftLoraAdapter.read(dir);
        }
    }

    /** Logits of base + adapter (the adapter applied as LoRA layers, not merged). */
    static float[] adapted(LlamaModel model, PeftLoraAdapter adapter, Batch batch) {
        try (Lora lora = new Lora(model.kernels(), adapter.modules(model.linears()), 0f, 1)) {
            adapter.loadInto(lora);
            return PeftFixtures.logits(model, batch, lora);
        }
    }

    @Test
    void aMergedF32LlamaGivesTheLogitsOfBasePlusAdapter() throws Exception {
        Path base = tmp.resolve("llama-f32");
        TinyModels.write(base, TinySpec.llama().withKvHeads(2).withQwen2Biases(true));
        Batch batch = PeftFixtures.batch(96, 3, 10, 4);
        Path out = tmp.resolve("merged-f32");
        float[] expected, baseLogits;
        PeftLoraAdapter adapter;
        try (LlamaModel model = LlamaModel.load(base, BACKEND)) {
            adapter = adapterFor(model, SETTINGS, "adapter-f32", null);
            expected = adapted(model, adapter, batch);
            baseLogits = PeftFixtures.logits(model, batch, null);
        }
        AdapterMerge.Result r = AdapterMerge.merge(base, adapter, out, AdapterMerge.DEFAULT_MAX_SHARD_BYTES, BACKEND.kernels());
        assertEquals(14, r.mergedModules());
        assertEquals(List.of("model.safetensors"), r.files());
        assertEquals(DType.F32, r.dtype());
        try (LlamaModel merged = LlamaModel.load(out, BACKEND)) {
            float[] actual = PeftFixtures.logits(merged, batch, null);
            double diff = PeftFixtures.relativeNormDiff(actual, expected);
            assertTrue(PeftFixtures.relativeNormDiff(baseLogits, expected) > 1e-2, "the adapter matters");
            assertTrue(diff <= F32_TOLERANCE, "merged vs base + adapter: relative " + diff);
        }
        for (String f : List.of("config.json", "tokenizer.json", "tokenizer_config.json")) {
            assertEquals(Files.readString(base.resolve(f)), Files.readString(out.resolve(f)), f);
        }
        try (SafetensorsFile b = SafetensorsFile.open(base.resolve("model.safetensors"));
             SafetensorsFile m = SafetensorsFile.open(out.resolve("model.safetensors"))) {
            assertEquals(b.tensorNames(), m.tensorNames(), "names and order kept");
            for (String n : List.of("model.embed_tokens.weight", "model.layers.0.self_attn.q_proj.bias", "lm_head.weight")) {
                assertArrayEquals(b.raw(n).toArray(ValueLayout.JAVA_BYTE), m.raw(n).toArray(ValueLayout.JAVA_BYTE), n);
            }
        }
    }

    @Test
    void aMergedBf16LlamaStaysBf16AndMatchesWithinOneRounding() throws Exception {
        Path base = tmp.resolve("llama-bf16");
        TinyModels.write(base, TinySpec.llama().withDtype(DType.BF16).withSeed(8));
        Batch batch = PeftFixtures.batch(96, 2, 8, 5);
        Path out = tmp.resolve("merged-bf16");
        float[] expected;
        PeftLoraAdapter adapter;
        try (LlamaModel model = LlamaModel.load(base, BACKEND)) {
            adapter = adapterFor(model, SETTINGS.withRslora(true), "adapter-bf16", null);
            expected = adapted(model, adapter, batch);
        }
        AdapterMerge.Result r = AdapterMerge.merge(base, adapter, out, AdapterMerge.DEFAULT_MAX_SHARD_BYTES, BACKEND.kernels());
        assertEquals(DType.BF16, r.dtype());
        try (SafetensorsFile b = SafetensorsFile.open(base.resolve("model.safetensors"));
             SafetensorsFile m = SafetensorsFile.open(out.resolve("model.safetensors"))) {
            for (TensorInfo t : m.tensors()) assertEquals(DType.BF16, t.dtype(), t.name());
            for (PeftLoraAdapter.Module mod : adapter.modules()) {
                String name = mod.path() + ".weight";
                float[] w = b.readFloats(name), merged = m.readFloats(name);
                double s = adapter.scaleOf(mod);
                for (int o = 0; o < mod.out(); o++) {
                    for (int i = 0; i < mod.in(); i++) {
                        double ba = 0;
                        for (int k = 0; k < mod.rank(); k++) ba += (double) mod.b()[o * mod.rank() + k] * mod.a()[k * mod.in() + i];
                        double want = w[o * mod.in() + i] + s * ba;
                        double step = Math.ulp((float) want) * 65536;           // one BF16 step at this magnitude
                        assertTrue(Math.abs(merged[o * mod.in() + i] - want) <= step,
                                name + "[" + o + ", " + i + "] = " + merged[o * mod.in() + i] + ", want " + want);
                    }
                }
            }
        }
        // the same merge computed on the host in float64 and rounded once to BF16, written as an independent checkpoint
        Path reference = tmp.resolve("reference-bf16");
        TinyModels.write(reference, TinySpec.llama().withDtype(DType.BF16).withSeed(8));
        try (SafetensorsFile b = SafetensorsFile.open(base.resolve("model.safetensors"))) {
            var tensors = new ArrayList<TensorData>();
            for (TensorInfo t : b.tensors()) {
                PeftLoraAdapter.Module mod = adapter.module(t.name().replace(".weight", ""));
                if (mod == null) {
                    tensors.add(TensorData.of(b, t.name()));
                    continue;
                }
                float[] w = b.readFloats(t.name());
                double s = adapter.scaleOf(mod);
                for (int o = 0; o < mod.out(); o++) {
                    for (int i = 0; i < mod.in(); i++) {
                        double ba = 0;
                        for (int k = 0; k < mod.rank(); k++) ba += (double) mod.b()[o * mod.rank() + k] * mod.a()[k * mod.in() + i];
                        w[o * mod.in() + i] = (float) (w[o * mod.in() + i] + s * ba);
                    }
                }
                tensors.add(TensorData.ofFloats(t.name(), DType.BF16, t.shape(), w));
            }
            SafetensorsWriter.write(reference.resolve("model.safetensors"), tensors, Map.of("format", "pt"));
        }
        try (LlamaModel merged = LlamaModel.load(out, BACKEND); LlamaModel ref = LlamaModel.load(reference, BACKEND)) {
            float[] actual = PeftFixtures.logits(merged, batch, null);
            double vsRounded = PeftFixtures.relativeNormDiff(actual, PeftFixtures.logits(ref, batch, null));
            double diff = PeftFixtures.relativeNormDiff(actual, expected);
            assertTrue(vsRounded <= 1e-6, "merged BF16 vs the same merge rounded on the host: relative " + vsRounded);
            assertTrue(diff <= BF16_TOLERANCE, "merged BF16 vs base + adapter: relative " + diff);
        }
    }

    @Test
    void aLargeMergeIsShardedWithAnIndexThatLoads() throws Exception {
        Path base = tmp.resolve("llama-shard");
        TinyModels.write(base, TinySpec.llama());
        Batch batch = PeftFixtures.batch(96, 2, 6, 6);
        PeftLoraAdapter adapter;
        try (LlamaModel model = LlamaModel.load(base, BACKEND)) {
            adapter = adapterFor(model, SETTINGS, "adapter-shard", null);
        }
        Path single = tmp.resolve("merged-single"), sharded = tmp.resolve("merged-sharded");
        AdapterMerge.merge(base, adapter, single, AdapterMerge.DEFAULT_MAX_SHARD_BYTES, BACKEND.kernels());
        AdapterMerge.Result r = AdapterMerge.merge(base, adapter, sharded, AdapterMerge.parseSize("20KB"), BACKEND.kernels());
        assertTrue(r.files().size() > 3, "several shards: " + r.files());
        assertEquals("model-00001-of-" + String.format("%05d", r.files().size()) + ".safetensors", r.files().getFirst());
        assertFalse(Files.exists(sharded.resolve("model.safetensors")));
        JsonNode index = new ObjectMapper().readTree(sharded.resolve("model.safetensors.index.json").toFile());
        long total = 0;
        try (SafetensorsCheckpoint c = SafetensorsCheckpoint.open(sharded);
             SafetensorsFile s = SafetensorsFile.open(single.resolve("model.safetensors"))) {
            assertEquals(s.tensorNames(), c.tensorNames());
            for (String n : s.tensorNames()) {
                total += s.info(n).byteSize();
                assertArrayEquals(s.readFloats(n), c.readFloats(n), n);
            }
            for (Path f : c.files()) {
                try (SafetensorsFile shard = SafetensorsFile.open(f)) {
                    long bytes = shard.tensors().stream().mapToLong(TensorInfo::byteSize).sum();
                    assertTrue(bytes <= 20_000, f.getFileName() + " holds " + bytes + " bytes");
                }
            }
        }
        assertEquals(total, index.get("metadata").get("total_size").asLong());
        try (LlamaModel a = LlamaModel.load(single, BACKEND); LlamaModel b = LlamaModel.load(sharded, BACKEND)) {
            assertArrayEquals(PeftFixtures.logits(a, batch, null), PeftFixtures.logits(b, batch, null));
        }
    }

    @Test
    void aBertCheckpointKeepsItsPrefixAndGainsTheHead() throws Exception {
        Path plain = tmp.resolve("bert-plain"), base = tmp.resolve("bert-prefixed");
        TinyModels.write(plain, TinySpec.bert());
        Files.createDirectories(base);
        try (SafetensorsFile f = SafetensorsFile.open(plain.resolve("model.safetensors"))) {
            var renamed = new ArrayList<TensorData>();
            for (TensorInfo t : f.tensors()) renamed.add(new TensorData("bert." + t.name(), t.dtype(), t.shape(), f.raw(t.name())));
            SafetensorsWriter.write(base.resolve("model.safetensors"), renamed, Map.of("format", "pt"));
        }
        for (String n : List.of("config.json", "tokenizer.json", "tokenizer_config.json")) Files.copy(plain.resolve(n), base.resolve(n));
        Files.writeString(base.resolve("pytorch_model.bin"), "stale weights in another format");
        Batch batch = PeftFixtures.batch(96, 2, 7, 7);
        Path out = tmp.resolve("merged-bert");
        float[] hidden, probs;
        PeftLoraAdapter adapter;
        try (TransformerModel model = new HfModelLoader().load(base, BACKEND);
             ClassificationHead head = new ClassificationHead(model.kernels(), model.hiddenSize(), 2, ClassificationHead.Pooling.MEAN, 3)) {
            PeftFixtures.randomise(head, 4);
            adapter = adapterFor(model, LoraSettings.of(4, 8), "adapter-bert", head);
            try (Lora lora = new Lora(model.kernels(), adapter.modules(model.linears()), 0f, 1)) {
                adapter.loadInto(lora);
                hidden = PeftFixtures.hidden(model, batch, lora);
                probs = head.probabilities(model, batch, lora);
            }
        }
        AdapterMerge.merge(base, adapter, out, AdapterMerge.DEFAULT_MAX_SHARD_BYTES, BACKEND.kernels());
        assertFalse(Files.exists(out.resolve("pytorch_model.bin")), "unmerged weights are not copied");
        try (SafetensorsFile m = SafetensorsFile.open(out.resolve("model.safetensors"))) {
            assertTrue(m.contains("bert.encoder.layer.0.attention.self.query.weight"));
            assertTrue(m.contains("bert.pooler.dense.weight"), "tensors the model does not read are kept");
            assertEquals(2, m.info("classifier.weight").shape()[0]);
            assertArrayEquals(adapter.head().bias(), m.readFloats("classifier.bias"));
        }
        HeadFile facts = HeadFile.read(out);
        assertEquals(new HeadFile("classifier", 2, 32, ClassificationHead.Pooling.MEAN), facts);
        try (TransformerModel merged = new HfModelLoader().load(out, BACKEND);
             ClassificationHead head = HeadFile.fromCheckpoint(out, merged.kernels(), 32, ClassificationHead.Pooling.CLS)) {
            assertEquals(ClassificationHead.Pooling.MEAN, head.pooling(), "from eva4j_head.json, not the fallback");
            assertTrue(PeftFixtures.relativeNormDiff(PeftFixtures.hidden(merged, batch, null), hidden) <= F32_TOLERANCE);
            assertTrue(PeftFixtures.maxAbsDiff(head.probabilities(merged, batch, null), probs) <= 1e-5);
        }
    }

    @Test
    void mergesThatCannotWorkAreOneLineAndWriteNothing() throws Exception {
        Path base = tmp.resolve("llama-err");
        TinyModels.write(base, TinySpec.llama());
        Path bigger = tmp.resolve("llama-3-layers");
        TinyModels.write(bigger, TinySpec.llama().withSize(96, 32, 64, 3, 4));
        PeftLoraAdapter other, pissa;
        try (LlamaModel model = LlamaModel.load(bigger, BACKEND)) {
            other = adapterFor(model, LoraSettings.of(2, 4).withTargets("v_proj"), "adapter-other", null);
        }
        pissa = new PeftLoraAdapter(other.settings(), new PeftLoraAdapter.Meta(null, null, "pissa_niter_4"), other.modules(), null);
        Path out = tmp.resolve("never");
        var e = assertThrows(IllegalArgumentException.class,
                () -> AdapterMerge.merge(base, other, out, AdapterMerge.DEFAULT_MAX_SHARD_BYTES, BACKEND.kernels()));
        assertEquals("adapter module model.layers.2.self_attn.v_proj is not in the model (2 layers)", e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> AdapterMerge.merge(base, pissa, out, AdapterMerge.DEFAULT_MAX_SHARD_BYTES, BACKEND.kernels()));
        assertTrue(e.getMessage().contains("residual base weights (init_lora_weights \"pissa_niter_4\")"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> AdapterMerge.merge(base, other, base, AdapterMerge.DEFAULT_MAX_SHARD_BYTES, BACKEND.kernels()));
        assertTrue(e.getMessage().contains("is the model folder"), e.getMessage());
        assertFalse(Files.exists(out));
        assertTrue(Files.exists(base.resolve("model.safetensors")));
    }

    @Test
    void shardSizesReadAsTransformersReadsThem() {
        assertEquals(2_000_000_000L, AdapterMerge.parseSize("2GB"));
        assertEquals(1L << 30, AdapterMerge.parseSize("1GiB"));
        assertEquals(500_000_000L, AdapterMerge.parseSize("500mb"));
        assertEquals(1_500_000L, AdapterMerge.parseSize("1.5MB"));
        assertEquals(4096L, AdapterMerge.parseSize("4096"));
        for (String bad : List.of("", "two", "2XB", "0", "-5MB")) {
            var e = assertThrows(IllegalArgumentException.class, () -> AdapterMerge.parseSize(bad));
            assertTrue(e.getMessage().startsWith("--max-shard-size"), e.getMessage());
        }
    }
}
