package dev.eva4j.models.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.time.Duration;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

class OnnxModelReaderTest {
    private static final TinyBertOnnx TINY = new TinyBertOnnx(42, 2, 8, 2, 12, TinyBertOnnx.HeadsHint.RESHAPE);

    @Test
    void readsNodesInitializersAndGraphIo() {
        OnnxGraph g = OnnxModelReader.parse(TINY.bytes, "tiny");
        assertEquals("tiny-bert", g.name());
        assertEquals(List.of("input_ids", "attention_mask"), g.inputs());
        assertEquals(List.of("last_hidden_state"), g.outputs());
        OnnxNode q = g.nodes().stream().filter(n -> n.name().equals("/encoder/layer.1/attention/self/query/MatMul"))
                .findFirst().orElseThrow();
        assertEquals("MatMul", q.opType());
        assertEquals(2, q.inputs().size());
        assertTrue(q.inputs().get(1).startsWith("onnx::MatMul_"));
        assertArrayEquals(new long[] {-1}, q.intAttributes().get("axis"), "negative INT attribute (10-byte varint)");
        // raw_data and float_data tensors decode to the generated values
        for (String name : List.of("embeddings.word_embeddings.weight", "embeddings.position_embeddings.weight",
                "encoder.layer.0.output.LayerNorm.bias")) {
            OnnxTensor t = g.initializers().get(name);
            assertArrayEquals(TINY.expectedShapes.get(name), t.dims(), name);
            assertArrayEquals(TINY.expected.get(name), t.floats(), name);
        }
        OnnxTensor pos = g.initializers().get("embeddings.position_ids");
        assertEquals(OnnxTensor.INT64, pos.dataType());
        assertArrayEquals(new long[] {0, 1, 2, 3, 4, 5, 6}, pos.longs());
        assertThrows(IllegalArgumentException.class, pos::floats);
        OnnxTensor heads = g.constant("/encoder/layer.0/attention/self/Constant_2_output_0").orElseThrow();
        assertArrayEquals(new long[] {2}, heads.longs());
    }

    @Property(tries = 300, seed = "5150")
    void everyTruncationIsAOneLineError(@ForAll @IntRange(min = 0, max = Integer.MAX_VALUE) int cut) {
        int length = cut % TINY.bytes.length; // strictly shorter than the file
        byte[] truncated = java.util.Arrays.copyOf(TINY.bytes, length);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> OnnxModelReader.parse(truncated, "tiny.onnx"));
        assertOneLineNaming(e, "tiny.onnx");
    }

    @Property(tries = 1000, seed = "6160")
    void flippedBytesParseOrFailCleanly(@ForAll @IntRange(min = 0, max = Integer.MAX_VALUE) int at,
            @ForAll @IntRange(min = 1, max = 255) int mask, @ForAll @IntRange(min = 1, max = 4) int flips) {
        byte[] corrupt = TINY.bytes.clone();
        for (int f = 0; f < flips; f++) {
            int i = (int) ((at + 7919L * f) % corrupt.length);
            corrupt[i] ^= (byte) mask;
        }
        try {
            OnnxGraph g = assertTimeoutPreemptively(Duration.ofSeconds(10), () -> OnnxModelReader.parse(corrupt, "tiny.onnx"),
                    "a corrupt file must not hang the reader");
            for (OnnxTensor t : g.initializers().values()) { // whatever parsed must be self-consistent
                if (t.dataType() == OnnxTensor.FLOAT) assertEquals(t.numel(), t.floats().length);
            }
        } catch (IllegalArgumentException e) {
            assertOneLineNaming(e, "tiny.onnx");
        }
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void realModelTruncatedOrCorruptedFailsCleanly(@TempDir Path dir) throws Exception {
        byte[] model = Files.readAllBytes(dev.eva4j.models.MiniLm.onnx());
        OnnxGraph whole = OnnxModelReader.parse(model, "minilm");
        assertEquals(102, whole.initializers().size());
        java.util.SplittableRandom r = new java.util.SplittableRandom(7);
        Path file = dir.resolve("broken.onnx");
        // truncations: the graph is the last large field, so every cut inside it must fail
        for (int k = 0; k < 6; k++) {
            int len = k == 0 ? 0 : k == 1 ? 3 : r.nextInt(16, model.length - 16);
            Files.write(file, java.util.Arrays.copyOf(model, len));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> OnnxModelReader.read(file),
                    "truncated to " + len + " bytes");
            assertOneLineNaming(e, file.toString());
        }
        // flipped bytes in the first 64 KiB (field tags and lengths rather than weight values)
        int failures = 0;
        for (int k = 0; k < 10; k++) {
            byte[] corrupt = model.clone();
            corrupt[r.nextInt(0, 65536)] ^= (byte) r.nextInt(1, 256);
            try {
                OnnxModelReader.parse(corrupt, file.toString());
            } catch (IllegalArgumentException e) {
                assertOneLineNaming(e, file.toString());
                failures++;
            }
        }
        System.out.println("real model, 10 random byte flips among the nodes (first 64 KiB): " + failures + " rejected, the rest parsed");
    }

    @Test
    void missingAndNonOnnxFilesAreOneLineErrors(@TempDir Path dir) throws Exception {
        Path missing = dir.resolve("nope.onnx");
        assertOneLineNaming(assertThrows(IllegalArgumentException.class, () -> OnnxModelReader.read(missing)), missing.toString());
        Path text = dir.resolve("text.onnx");
        Files.writeString(text, "this is not a protobuf file\n");
        assertOneLineNaming(assertThrows(IllegalArgumentException.class, () -> OnnxModelReader.read(text)), text.toString());
        Path empty = dir.resolve("empty.onnx");
        Files.write(empty, new byte[0]);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> OnnxModelReader.read(empty));
        assertTrue(e.getMessage().contains("no graph"), e.getMessage());
    }

    @Test
    void tensorWhoseDataDoesNotMatchItsDimsIsRejected() {
        ProtoWriter t = new ProtoWriter().packedVarints(1, 2, 3).varint(2, OnnxTensor.FLOAT).string(8, "w")
                .bytes(9, new byte[20]); // 2x3 floats need 24 bytes
        byte[] model = new ProtoWriter().message(7, new ProtoWriter().message(5, t)).toByteArray();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> OnnxModelReader.parse(model, "m.onnx"));
        assertTrue(e.getMessage().contains("'w'") && e.getMessage().contains("20 bytes"), e.getMessage());
        ProtoWriter huge = new ProtoWriter().packedVarints(1, 1L << 40, 1L << 40).varint(2, OnnxTensor.FLOAT).string(8, "h");
        byte[] model2 = new ProtoWriter().message(7, new ProtoWriter().message(5, huge)).toByteArray();
        assertOneLineNaming(assertThrows(IllegalArgumentException.class, () -> OnnxModelReader.parse(model2, "m.onnx")), "m.onnx");
    }

    static void assertOneLineNaming(IllegalArgumentException e, String source) {
        assertTrue(e.getMessage().contains(source), "message names the file: " + e.getMessage());
        assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
    }
}
