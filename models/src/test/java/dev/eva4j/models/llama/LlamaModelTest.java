package dev.eva4j.models.llama;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.eva4j.api.tensor.DType;
import dev.eva4j.cpu.java.JavaBackend;
import dev.eva4j.cpu.openblas.OpenBlasBackend;
import dev.eva4j.models.Batch;
import dev.eva4j.models.tiny.TinyModels;
import dev.eva4j.models.tiny.TinySpec;
import dev.eva4j.spi.ActivationHook;
import dev.eva4j.spi.ComputeBackend;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class LlamaModelTest {
    static final ComputeBackend BACKEND = cpuBackend();
    /** float32 vs the float64 reference, relative to the largest logit (the tolerance in docs/architecture.md, "Numerics"). */
    static final double REFERENCE_TOLERANCE = 1e-5;
    /** Real-token logits under padding and batching, absolute. */
    static final double PADDING_TOLERANCE = 1e-5;

    @TempDir
    static Path tmp;

    static ComputeBackend cpuBackend() {
        ComputeBackend b = new OpenBlasBackend();
        return b.isAvailable() ? b : new JavaBackend();
    }

    static Stream<Arguments> options() {
        TinySpec base = TinySpec.llama();
        return Stream.of(
                Arguments.of("plain", base),
                Arguments.of("gqa", base.withKvHeads(2)),
                Arguments.of("mqa", base.withKvHeads(1)),
                Arguments.of("qwen2-biases", base.withQwen2Biases(true)),
                Arguments.of("tied", base.withTiedEmbeddings(true)),
                Arguments.of("llama3-rope", base.withLlama3RopeScaling(true)),
                Arguments.of("bf16", base.withDtype(DType.BF16)),
                Arguments.of("all", base.withKvHeads(2).withQwen2Biases(true).withTiedEmbeddings(true)
                        .withLlama3RopeScaling(true).withDtype(DType.BF16).withSeed(5)));
    }

    static Path write(String name, TinySpec spec) throws Exception {
        Path dir = tmp.resolve(name);
        TinyModels.write(dir, spec);
        return dir;
    }

    /** Logits [B][T][V] of a batch. */
    static float[][][] logits(LlamaModel model, Batch batch) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = model.logits(batch, arena);
            int B = batch.batchSize(), T = batch.seqLen(), V = model.vocabSize();
            float[] all = s.toArray(ValueLayout.JAVA_FLOAT);
            assertEquals((long) B * T * V, all.length);
            float[][][] out = new float[B][T][];
            for (int b = 0; b < B; b++) {
                for (int t = 0; t < T; t++) out[b][t] = Arrays.copyOfRange(all, (b * T + t) * V, (b * T + t + 1) * V);
            }
            return out;
        }
    }

    static float[][] single(LlamaModel model, int[] ids) {
        int[] mask = new int[ids.length];
        Arrays.fill(mask, 1);
        return logits(model, Batch.of(1, ids.length, ids, mask))[0];
    }

    static double maxAbsDiff(float[] a, float[] b) {
        double m = 0;
        for (int i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
        return m;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("options")
    void matchesNaiveFloat64Reference(String name, TinySpec spec) throws Exception {
        Path dir = write("ref-" + name, spec);
        int[] ids = {2, 17, 5, 93, 40, 40, 8, 61};
        NaiveLlama naive = new NaiveLlama(dir);
        double[][] expected;
        try {
            expected = naive.logits(ids);
        } finally {
            naive.close();
        }
        for (ComputeBackend backend : List.of(BACKEND, new JavaBackend())) {
          try (LlamaModel model = LlamaModel.load(dir, backend)) {
            float[][] actual = single(model, ids);
            double maxRef = 0, maxDiff = 0;
            for (int t = 0; t < ids.length; t++) {
                for (int v = 0; v < expected[t].length; v++) {
                    maxRef = Math.max(maxRef, Math.abs(expected[t][v]));
                    maxDiff = Math.max(maxDiff, Math.abs(expected[t][v] - actual[t][v]));
                }
            }
            assertTrue(maxRef > 1, "logits of a useful size: " + maxRef);
            assertTrue(maxDiff <= REFERENCE_TOLERANCE * maxRef, name + " on " + backend.name() + ": max |diff| " + maxDiff
                    + " vs max |logit| " + maxRef + "; first logits expected "
                    + Arrays.toString(Arrays.copyOf(expected[ids.length - 1], 4))
                    + " actual " + Arrays.toString(Arrays.copyOf(actual[ids.length - 1], 4)));
          }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("options")
    void aFutureTokenLeavesEarlierLogitsUnchanged(String name, TinySpec spec) throws Exception {
        Path dir = write("causal-" + name, spec);
        try (LlamaModel model = LlamaModel.load(dir, BACKEND)) {
            int[] a = {2, 11, 12, 13, 14, 15, 16};
            int[] b = a.clone();
            b[4] = 77;
            float[][] la = single(model, a), lb = single(model, b);
            for (int t = 0; t < 4; t++) {
                assertTrue(maxAbsDiff(la[t], lb[t]) <= 1e-6, name + " position " + t + " changed by " + maxAbsDiff(la[t], lb[t]));
            }
            for (int t = 4; t < a.length; t++) {
                assertTrue(maxAbsDiff(la[t], lb[t]) > 1e-3, name + " position " + t + " must see the change");
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("options")
    void paddingAndBatchCompositionLeaveRealTokensUnchanged(String name, TinySpec spec) throws Exception {
        Path dir = write("pad-" + name, spec);
        int[][] seqs = {{2, 30, 31, 32, 33}, {2, 9, 8, 7, 6, 5, 4}, {2, 50, 51}};
        try (LlamaModel model = LlamaModel.load(dir, BACKEND)) {
            float[][][] alone = new float[seqs.length][][];
            for (int i = 0; i < seqs.length; i++) alone[i] = single(model, seqs[i]);
            int T = 9;
            for (boolean left : new boolean[] {false, true}) {
                // order 0,1,2 and, for composition, 2,0 (a different batch around the same sequences)
                for (int[] order : new int[][] {{0, 1, 2}, {2, 0}, {1}}) {
                    int B = order.length;
                    int[] ids = new int[B * T], mask = new int[B * T];
                    for (int b = 0; b < B; b++) {
                        int[] s = seqs[order[b]];
                        int offset = left ? T - s.length : 0;
                        for (int t = 0; t < T; t++) ids[b * T + t] = 60 + (b * 7 + t * 3) % 30; // junk under padding
                        for (int t = 0; t < s.length; t++) {
                            ids[b * T + offset + t] = s[t];
                            mask[b * T + offset + t] = 1;
                        }
                    }
                    float[][][] batched = logits(model, Batch.of(B, T, ids, mask));
                    for (int b = 0; b < B; b++) {
                        int[] s = seqs[order[b]];
                        int offset = left ? T - s.length : 0;
                        for (int t = 0; t < s.length; t++) {
                            float[] got = batched[b][offset + t];
                            assertFalse(Float.isNaN(got[0]));
                            double d = maxAbsDiff(alone[order[b]][t], got);
                            assertTrue(d <= PADDING_TOLERANCE, name + (left ? " left" : " right") + " padding, batch "
                                    + Arrays.toString(order) + ", sequence " + order[b] + " token " + t + ": diff " + d);
                        }
                    }
                }
            }
        }
    }

    @Test
    void positionsCountRealTokensPerSequence() {
        Batch batch = Batch.of(2, 5, new int[10], new int[] {0, 0, 1, 1, 1, 1, 1, 1, 0, 0});
        assertArrayEquals(new int[] {0, 0, 0, 1, 2, 0, 1, 2, 0, 0}, LlamaModel.positions(batch));
    }

    @Test
    void llama3ScalingChangesTheOutput() throws Exception {
        // guards the rope-scaling cases above: the option must matter on these short sequences
        Path scaled = write("scaled", TinySpec.llama().withLlama3RopeScaling(true));
        Path plain = write("unscaled", TinySpec.llama());
        int[] ids = {2, 17, 5, 93, 40, 40, 8, 61, 12, 13, 14, 15};
        try (LlamaModel a = LlamaModel.load(scaled, BACKEND); LlamaModel b = LlamaModel.load(plain, BACKEND)) {
            float[][] la = single(a, ids), lb = single(b, ids);
            assertTrue(maxAbsDiff(la[0], lb[0]) < 1e-6, "position 0 is not rotated");
            assertTrue(maxAbsDiff(la[ids.length - 1], lb[ids.length - 1]) > 1e-3);
        }
    }

    @Test
    void hooksSeeEveryLinearInputOnceWithTheTokenMask() throws Exception {
        Path dir = write("hooks", TinySpec.llama().withKvHeads(2));
        try (LlamaModel model = LlamaModel.load(dir, BACKEND); Arena arena = Arena.ofConfined()) {
            assertEquals(14, model.linears().size());
            assertEquals(List.of("model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.k_proj",
                    "model.layers.0.self_attn.v_proj"), model.equalInputGroups().get(0));
            assertEquals(List.of("model.layers.1.mlp.gate_proj", "model.layers.1.mlp.up_proj"), model.equalInputGroups().get(3));
            assertEquals(16, model.linears().get(1).outFeatures(), "k_proj: 2 kv heads of 8");
            int B = 2, T = 4;
            int[] ids = {2, 5, 6, 7, 2, 8, 0, 0};
            int[] mask = {1, 1, 1, 1, 1, 1, 0, 0};
            byte[] tokenMask = {0, 1, 1, 1, 0, 1, 0, 0}; // e.g. prompt tokens masked out by labels
            Batch batch = new Batch(B, T, ids, mask, null, tokenMask);
            var seen = new ArrayList<String>();
            var inputs = new java.util.HashMap<String, float[]>();
            ActivationHook hook = new ActivationHook() {
                @Override
                public void onInput(String module, dev.eva4j.spi.Buffer buf, int tokens, int dIn, MemorySegment m) {
                    MemorySegment x = buf.owner().hostSegment(buf).orElseThrow().asSlice(0, 4L * tokens * dIn);
                    seen.add(module);
                    assertEquals(B * T, tokens);
                    int expectedIn = model.linears().stream().filter(l -> l.path().equals(module)).findFirst()
                            .orElseThrow().inFeatures();
                    assertEquals(expectedIn, dIn, module);
                    assertEquals((long) tokens * dIn * 4, x.byteSize(), module);
                    assertArrayEquals(tokenMask, m.toArray(ValueLayout.JAVA_BYTE), module);
                    inputs.put(module, x.toArray(ValueLayout.JAVA_FLOAT));
                }

            };
            Set<String> all = new HashSet<>(model.linearModules());
            all.remove("model.layers.1.mlp.down_proj");
            float[] hooked = model.forward(batch, arena, all, hook).toArray(ValueLayout.JAVA_FLOAT);
            var expectedOrder = new ArrayList<>(model.linearModules());
            expectedOrder.remove("model.layers.1.mlp.down_proj");
            assertEquals(expectedOrder, seen);
            assertArrayEquals(inputs.get("model.layers.0.self_attn.q_proj"), inputs.get("model.layers.0.self_attn.v_proj"));
            assertArrayEquals(inputs.get("model.layers.1.mlp.gate_proj"), inputs.get("model.layers.1.mlp.up_proj"));
            assertFalse(Arrays.equals(inputs.get("model.layers.0.self_attn.q_proj"), inputs.get("model.layers.1.self_attn.q_proj")));
            float[] plain = model.forward(batch, arena, Set.of(), null).toArray(ValueLayout.JAVA_FLOAT);
            assertArrayEquals(plain, hooked);
            assertEquals(B * T * 32, plain.length);
        }
    }

    @Test
    void wrongTensorShapeIsAOneLineError(@TempDir Path dir) throws Exception {
        TinyModels.write(dir, TinySpec.llama());
        // rewrite the checkpoint with one tensor transposed
        var tensors = new ArrayList<dev.eva4j.api.safetensors.TensorData>();
        try (var ckpt = dev.eva4j.api.safetensors.SafetensorsCheckpoint.open(dir)) {
            for (String n : ckpt.tensorNames()) {
                var t = dev.eva4j.api.safetensors.TensorData.of(ckpt, n);
                if (n.equals("model.layers.1.mlp.up_proj.weight")) {
                    t = dev.eva4j.api.safetensors.TensorData.ofFloats(n, new long[] {32, 64}, ckpt.readFloats(n));
                }
                tensors.add(new dev.eva4j.api.safetensors.TensorData(t.name(), t.dtype(), t.shape(),
                        MemorySegment.ofArray(t.bytes().toArray(ValueLayout.JAVA_BYTE))));
            }
        }
        dev.eva4j.api.safetensors.SafetensorsWriter.write(dir.resolve("model.safetensors"), tensors, Map.of());
        var e = assertThrows(IllegalArgumentException.class, () -> LlamaModel.load(dir, BACKEND));
        assertFalse(e.getMessage().contains("\n"));
        assertTrue(e.getMessage().contains("model.layers.1.mlp.up_proj.weight") && e.getMessage().contains("[32, 64]")
                && e.getMessage().contains("[64, 32]"), e.getMessage());
    }

    @Test
    void missingTensorIsAOneLineError(@TempDir Path dir) throws Exception {
        TinyModels.write(dir, TinySpec.llama());
        var tensors = new ArrayList<dev.eva4j.api.safetensors.TensorData>();
        try (var ckpt = dev.eva4j.api.safetensors.SafetensorsCheckpoint.open(dir)) {
            for (String n : ckpt.tensorNames()) {
                if (n.equals("lm_head.weight")) continue;
                var t = dev.eva4j.api.safetensors.TensorData.of(ckpt, n);
                tensors.add(new dev.eva4j.api.safetensors.TensorData(n, t.dtype(), t.shape(),
                        MemorySegment.ofArray(t.bytes().toArray(ValueLayout.JAVA_BYTE))));
            }
        }
        dev.eva4j.api.safetensors.SafetensorsWriter.write(dir.resolve("model.safetensors"), tensors, Map.of());
        var e = assertThrows(IllegalArgumentException.class, () -> LlamaModel.load(dir, BACKEND));
        assertTrue(e.getMessage().contains("lm_head.weight") && !e.getMessage().contains("\n"), e.getMessage());
    }

    @Test
    void tokenIdOutsideTheVocabularyIsRejected() throws Exception {
        Path dir = write("vocab", TinySpec.llama());
        try (LlamaModel model = LlamaModel.load(dir, BACKEND)) {
            var e = assertThrows(IllegalArgumentException.class, () -> single(model, new int[] {2, 96}));
            assertTrue(e.getMessage().contains("96"), e.getMessage());
        }
    }
}
