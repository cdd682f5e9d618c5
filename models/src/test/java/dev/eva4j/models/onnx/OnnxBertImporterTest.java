package dev.eva4j.models.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.eva4j.models.MiniLm;
import java.util.Map;
import org.junit.jupiter.api.Test;

class OnnxBertImporterTest {

    @Test
    void namesAndTransposesTheAnonymousMatMulWeights() {
        TinyBertOnnx tiny = new TinyBertOnnx(3, 2, 8, 2, 12, TinyBertOnnx.HeadsHint.RESHAPE);
        OnnxBertImporter.Imported imp = OnnxBertImporter.importBert(OnnxModelReader.parse(tiny.bytes, "tiny"), "tiny");
        assertEquals(new OnnxBertDims(TinyBertOnnx.VOCAB, 8, 2, 2, 12, TinyBertOnnx.POSITIONS, 2, 1e-12, "gelu"), imp.dims());
        assertEquals(tiny.expected.keySet(), imp.tensors().keySet(), "exactly the Hugging Face names, position_ids dropped");
        for (Map.Entry<String, float[]> e : tiny.expected.entrySet()) {
            OnnxTensor t = imp.tensors().get(e.getKey());
            assertArrayEquals(tiny.expectedShapes.get(e.getKey()), t.dims(), e.getKey());
            assertArrayEquals(e.getValue(), t.floats(), e.getKey());
        }
    }

    @Test
    void headsFromTheScoreScaleWhenNoReshapeAndTwelveAsLastResort() {
        TinyBertOnnx div = new TinyBertOnnx(4, 1, 16, 4, 8, TinyBertOnnx.HeadsHint.DIV);
        assertEquals(4, OnnxBertImporter.importBert(OnnxModelReader.parse(div.bytes, "d"), "d").dims().numAttentionHeads());
        TinyBertOnnx reshape = new TinyBertOnnx(4, 1, 16, 8, 8, TinyBertOnnx.HeadsHint.RESHAPE);
        assertEquals(8, OnnxBertImporter.importBert(OnnxModelReader.parse(reshape.bytes, "r"), "r").dims().numAttentionHeads());
        TinyBertOnnx none = new TinyBertOnnx(4, 1, 24, 4, 8, TinyBertOnnx.HeadsHint.NONE);
        assertEquals(12, OnnxBertImporter.importBert(OnnxModelReader.parse(none.bytes, "n"), "n").dims().numAttentionHeads());
        TinyBertOnnx unknowable = new TinyBertOnnx(4, 1, 16, 4, 8, TinyBertOnnx.HeadsHint.NONE);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> OnnxBertImporter.importBert(OnnxModelReader.parse(unknowable.bytes, "u"), "u"));
        assertTrue(e.getMessage().contains("attention heads"), e.getMessage());
    }

    @Test
    void aGraphThatIsNotBertIsRejectedNamingWhatIsMissing() {
        ProtoWriter t = new ProtoWriter().packedVarints(1, 2, 2).varint(2, OnnxTensor.FLOAT).string(8, "w").bytes(9, new byte[16]);
        byte[] model = new ProtoWriter().message(7, new ProtoWriter().message(5, t)).toByteArray();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> OnnxBertImporter.importBert(OnnxModelReader.parse(model, "x.onnx"), "x.onnx"));
        assertTrue(e.getMessage().contains("x.onnx") && e.getMessage().contains("embeddings.word_embeddings.weight"), e.getMessage());
    }

    @Test
    void moduleNames() {
        assertEquals("encoder.layer.0.attention.self.query", OnnxBertImporter.moduleName("/encoder/layer.0/attention/self/query/MatMul"));
        assertEquals("encoder.layer.11.output.dense", OnnxBertImporter.moduleName("/encoder/layer.11/output/dense/MatMul"));
        assertEquals(null, OnnxBertImporter.moduleName("/encoder/layer.0/attention/self/MatMul_1"));
        assertEquals(null, OnnxBertImporter.moduleName("/MatMul"));
    }

    @Test
    void realMiniLmImportsAsA6Layer384HiddenBert() throws Exception {
        OnnxGraph g = OnnxModelReader.read(MiniLm.onnx());
        OnnxBertImporter.Imported imp = OnnxBertImporter.importBert(g, "minilm");
        assertEquals(new OnnxBertDims(30522, 384, 6, 12, 1536, 512, 2, 1e-12, "gelu"), imp.dims());
        assertEquals(5 + 6 * 16, imp.tensors().size());
        assertTrue(imp.tensors().keySet().stream().noneMatch(n -> n.startsWith("onnx::")));
        // query of layer 0 is onnx::MatMul_787 [in, out], transposed
        float[] anon = g.initializers().get("onnx::MatMul_787").floats();
        OnnxTensor q = imp.tensors().get("encoder.layer.0.attention.self.query.weight");
        assertArrayEquals(new long[] {384, 384}, q.dims());
        float[] w = q.floats();
        for (int o = 0; o < 384; o += 37) for (int i = 0; i < 384; i += 41) assertEquals(anon[i * 384 + o], w[o * 384 + i]);
        assertArrayEquals(new long[] {1536, 384}, imp.tensors().get("encoder.layer.5.intermediate.dense.weight").dims());
        assertArrayEquals(new long[] {384, 1536}, imp.tensors().get("encoder.layer.5.output.dense.weight").dims());
    }
}
