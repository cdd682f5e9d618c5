package dev.eva4j.models.bert;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.eva4j.models.Batch;
import dev.eva4j.models.LinearModule;
import dev.eva4j.models.hf.FloatTensor;
import dev.eva4j.models.hf.TensorSource;
import dev.eva4j.models.ops.Check;
import dev.eva4j.models.ops.Floats;
import dev.eva4j.spi.ActivationHook;
import dev.eva4j.spi.ComputeBackend;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class BertModelTest {
    private static final BertConfig CFG = TinyBert.config();
    private static final Map<String, FloatTensor> WEIGHTS = TinyBert.weights(CFG, 42);

    static Stream<ComputeBackend> backends() {
        return Check.backends();
    }

    /** Three sequences of lengths 9, 5, 2 right-padded to T = 9 (pad id 0). */
    private static Batch paddedBatch(Random rnd, int[] lengths, int T) {
        int B = lengths.length;
        int[] ids = new int[B * T], mask = new int[B * T];
        for (int b = 0; b < B; b++) {
            for (int t = 0; t < lengths[b]; t++) {
                ids[b * T + t] = 1 + rnd.nextInt(CFG.vocabSize() - 1);
                mask[b * T + t] = 1;
            }
        }
        return Batch.of(B, T, ids, mask);
    }

    private static float[] toFloats(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) f[i] = (float) d[i];
        return f;
    }

    @ParameterizedTest
    @MethodSource("backends")
    void forwardMatchesNaiveFloat64Reference(ComputeBackend backend) {
        Batch batch = paddedBatch(new Random(7), new int[] {9, 5, 2}, 9);
        double[] expected = new NaiveBert(CFG, WEIGHTS).forward(batch.inputIds(), batch.attentionMask(), 3, 9);
        try (BertModel model = BertModel.create(CFG, TensorSource.of(WEIGHTS), backend); Arena arena = Arena.ofConfined()) {
            float[] actual = Floats.toArray(model.forward(batch, arena));
            Check.close("bert forward on " + backend.name(), toFloats(expected), actual);
        }
    }

    @Test
    void realTokensIgnorePaddingAndBatchComposition() {
        Random rnd = new Random(8);
        Batch batch = paddedBatch(rnd, new int[] {4, 7, 1}, 12);
        int C = CFG.hiddenSize();
        try (BertModel model = BertModel.create(CFG, TensorSource.of(WEIGHTS), Check.backends().findFirst().orElseThrow());
             Arena arena = Arena.ofConfined()) {
            float[] together = Floats.toArray(model.forward(batch, arena));
            for (int b = 0; b < 3; b++) {
                int len = 0;
                while (len < 12 && batch.attentionMask()[b * 12 + len] == 1) len++;
                int[] ids = java.util.Arrays.copyOfRange(batch.inputIds(), b * 12, b * 12 + len);
                int[] ones = new int[len];
                java.util.Arrays.fill(ones, 1);
                float[] alone = Floats.toArray(model.forward(Batch.of(1, len, ids, ones), arena));
                float[] inBatch = java.util.Arrays.copyOfRange(together, b * 12 * C, (b * 12 + len) * C);
                Check.close("sequence " + b + " alone vs padded in a batch", alone, inBatch);
            }
        }
    }

    @Test
    void hooksSeeEachTargetLinearInput() {
        Batch batch = paddedBatch(new Random(9), new int[] {6, 3}, 6);
        NaiveBert naive = new NaiveBert(CFG, WEIGHTS);
        naive.forward(batch.inputIds(), batch.attentionMask(), 2, 6);
        Set<String> hooked = Set.of("encoder.layer.0.attention.self.query", "encoder.layer.0.attention.self.value",
                "encoder.layer.1.attention.output.dense", "encoder.layer.1.intermediate.dense",
                "encoder.layer.1.output.dense");
        List<String> seen = new ArrayList<>();
        Map<String, float[]> inputs = new HashMap<>();
        ActivationHook hook = new RecordingHook((module, x, tokens, dIn, mask) -> {
            seen.add(module);
            assertEquals(12, tokens);
            assertEquals(x.byteSize(), (long) tokens * dIn * Float.BYTES, module);
            assertArrayEquals(batch.tokenMask(), mask.toArray(ValueLayout.JAVA_BYTE), module);
            inputs.put(module, Floats.toArray(x));
        });
        try (BertModel model = BertModel.create(CFG, TensorSource.of(WEIGHTS), Check.backends().findFirst().orElseThrow());
             Arena arena = Arena.ofConfined()) {
            model.forward(batch, arena, hooked, hook);
        }
        assertEquals(List.of("encoder.layer.0.attention.self.query", "encoder.layer.0.attention.self.value",
                "encoder.layer.1.attention.output.dense", "encoder.layer.1.intermediate.dense",
                "encoder.layer.1.output.dense"), seen);
        assertArrayEquals(inputs.get("encoder.layer.0.attention.self.query"),
                inputs.get("encoder.layer.0.attention.self.value"), "q and v read the same input");
        Check.close("query input", toFloats(naive.linearInputs.get("encoder.layer.0.attention.self.query")),
                inputs.get("encoder.layer.0.attention.self.query"));
        for (String m : List.of("encoder.layer.1.attention.output.dense", "encoder.layer.1.intermediate.dense",
                "encoder.layer.1.output.dense")) {
            Check.close(m + " input", toFloats(naive.linearInputs.get(m)), inputs.get(m));
        }
    }

    @Test
    void linearsAndGroupsUseHuggingFacePaths() {
        try (BertModel model = BertModel.create(CFG, TensorSource.of(WEIGHTS), Check.backends().findFirst().orElseThrow())) {
            assertEquals("bert", model.modelType());
            assertEquals(32, model.hiddenSize());
            List<LinearModule> l = model.linears();
            assertEquals(12, l.size());
            assertEquals(new LinearModule("encoder.layer.0.attention.self.query", 32, 32), l.get(0));
            assertEquals(new LinearModule("encoder.layer.0.attention.output.dense", 32, 32), l.get(3));
            assertEquals(new LinearModule("encoder.layer.0.intermediate.dense", 32, 64), l.get(4));
            assertEquals(new LinearModule("encoder.layer.1.output.dense", 64, 32), l.get(11));
            assertEquals(List.of("encoder.layer.1.attention.self.query", "encoder.layer.1.attention.self.key",
                    "encoder.layer.1.attention.self.value"), model.equalInputGroups().get(1));
            assertEquals(l.get(5).path(), model.linearModules().get(5));
        }
    }

    @Test
    void acceptsBertPrefixAndGivesTheSameOutput() {
        var prefixed = new HashMap<String, FloatTensor>();
        WEIGHTS.forEach((k, v) -> prefixed.put("bert." + k, v));
        prefixed.put("classifier.weight", FloatTensor.of(new float[64], 2, 32)); // extra heads are ignored
        Batch batch = paddedBatch(new Random(10), new int[] {5, 3}, 5);
        ComputeBackend be = Check.backends().findFirst().orElseThrow();
        try (BertModel a = BertModel.create(CFG, TensorSource.of(WEIGHTS), be);
             BertModel b = BertModel.create(CFG, TensorSource.of(prefixed), be); Arena arena = Arena.ofConfined()) {
            assertArrayEquals(Floats.toArray(a.forward(batch, arena)), Floats.toArray(b.forward(batch, arena)));
            assertEquals("encoder.layer.0.attention.self.query", b.linears().get(0).path());
        }
    }

    @Test
    void shapeMismatchAndMissingTensorAreOneLineErrors() {
        var bad = new HashMap<>(WEIGHTS);
        bad.put("encoder.layer.1.intermediate.dense.weight", FloatTensor.of(new float[64 * 31], 64, 31));
        var e = assertThrows(IllegalArgumentException.class,
                () -> BertModel.create(CFG, TensorSource.of(bad), Check.backends().findFirst().orElseThrow()));
        assertEquals("weight encoder.layer.1.intermediate.dense.weight has shape [64, 31], expected [64, 32]", e.getMessage());
        var missing = new HashMap<>(WEIGHTS);
        missing.remove("encoder.layer.0.output.LayerNorm.bias");
        e = assertThrows(IllegalArgumentException.class,
                () -> BertModel.create(CFG, TensorSource.of(missing), Check.backends().findFirst().orElseThrow()));
        assertEquals("weight encoder.layer.0.output.LayerNorm.bias is missing", e.getMessage());
    }

    @Test
    void configFromJsonAndItsErrors() throws Exception {
        var json = new ObjectMapper();
        String good = "{\"vocab_size\":30522,\"hidden_size\":384,\"num_hidden_layers\":6,\"num_attention_heads\":12,"
                + "\"intermediate_size\":1536,\"hidden_act\":\"gelu\",\"max_position_embeddings\":512,"
                + "\"type_vocab_size\":2,\"layer_norm_eps\":1e-12,\"model_type\":\"bert\"}";
        BertConfig c = BertConfig.fromJson(json.readTree(good), "dir");
        assertEquals(new BertConfig(30522, 384, 6, 12, 1536, 512, 2, 1e-12, "gelu"), c);
        assertEquals(32, c.headSize());

        var e = assertThrows(IllegalArgumentException.class,
                () -> BertConfig.fromJson(json.readTree(good.replace("\"num_hidden_layers\":6,", "")), "dir"));
        assertEquals("dir: config.json has no num_hidden_layers", e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> BertConfig.fromJson(json.readTree(good.replace("\"hidden_size\":384", "\"hidden_size\":\"x\"")), "dir"));
        assertTrue(e.getMessage().startsWith("dir: config.json field hidden_size must be a positive integer"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> BertConfig.fromJson(json.readTree(good.replace("\"num_attention_heads\":12", "\"num_attention_heads\":7")), "dir"));
        assertEquals("dir: config.json hidden_size 384 is not a multiple of num_attention_heads 7", e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> BertConfig.fromJson(json.readTree(good.replace("\"gelu\"", "\"gelu_new\"")), "dir"));
        assertTrue(e.getMessage().contains("hidden_act \"gelu_new\" is not supported"), e.getMessage());
        assertTrue(e.getMessage().lines().count() == 1);
    }

    @Test
    void meanAndClsPooling() {
        int B = 2, T = 3, C = 2;
        float[] h = {1, 2, 3, 4, 100, 100, /* b1 */ 5, 6, 7, 8, 9, 10};
        int[] mask = {1, 1, 0, 1, 1, 1};
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment hidden = Floats.of(arena, h);
            assertArrayEquals(new float[] {2, 3, 7, 8}, Floats.toArray(Pooling.mean(hidden, mask, B, T, C, arena)));
            assertArrayEquals(new float[] {1, 2, 5, 6}, Floats.toArray(Pooling.cls(hidden, B, T, C, arena)));
            MemorySegment v = Floats.of(arena, new float[] {3, 4, 0, 0});
            Pooling.l2Normalize(v, 2, 2);
            assertArrayEquals(new float[] {0.6f, 0.8f, 0, 0}, Floats.toArray(v), 1e-7f);
        }
    }

    @Test
    void closeReleasesTheWeights() {
        BertModel model = BertModel.create(CFG, TensorSource.of(WEIGHTS), Check.backends().findFirst().orElseThrow());
        model.close();
        model.close(); // idempotent
        try (Arena arena = Arena.ofConfined()) {
            assertThrows(IllegalStateException.class, () -> model.forward(paddedBatch(new Random(1), new int[] {2}, 2), arena));
        }
    }

    /** An ActivationHook that reads its rows as host float32 (the CPU backends' buffers are host memory). */
    private record RecordingHook(Body body) implements ActivationHook {
        interface Body {
            void onInput(String module, MemorySegment x, int tokens, int dIn, MemorySegment tokenMask);
        }

        @Override
        public void onInput(String module, dev.eva4j.spi.Buffer x, int tokens, int dIn, MemorySegment tokenMask) {
            body.onInput(module, x.owner().hostSegment(x).orElseThrow().asSlice(0, 4L * tokens * dIn), tokens, dIn,
                    tokenMask);
        }
    }
}
