package dev.eva4j.models.onnx;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Generates a small BERT-shaped ONNX model in the layout of Hugging Face's export (anonymous {@code onnx::MatMul_N}
 * weights stored [in, out] and consumed by MatMul nodes named after their module; named biases, LayerNorms and
 * embeddings), with a fixed seed. Records what the importer should produce.
 */
final class TinyBertOnnx {
    /** How the fixture tells the number of heads. */
    enum HeadsHint { RESHAPE, DIV, NONE }

    static final int VOCAB = 11;
    static final int POSITIONS = 7;

    final int layers;
    final int hidden;
    final int heads;
    final int intermediate;
    /** Expected Hugging Face tensors ([out, in] for linear weights) with their shapes. */
    final Map<String, float[]> expected = new LinkedHashMap<>();
    final Map<String, long[]> expectedShapes = new LinkedHashMap<>();
    final byte[] bytes;

    private final SplittableRandom random;
    private final ProtoWriter graph = new ProtoWriter();
    private int anonymous = 700;
    private int tensorCount;

    TinyBertOnnx(long seed, int layers, int hidden, int heads, int intermediate, HeadsHint hint) {
        this.layers = layers;
        this.hidden = hidden;
        this.heads = heads;
        this.intermediate = intermediate;
        this.random = new SplittableRandom(seed);
        graph.string(2, "tiny-bert");
        graph.message(11, new ProtoWriter().string(1, "input_ids"));
        graph.message(11, new ProtoWriter().string(1, "attention_mask"));
        namedFloats("embeddings.word_embeddings.weight", VOCAB, hidden);
        namedFloats("embeddings.position_embeddings.weight", POSITIONS, hidden);
        namedFloats("embeddings.token_type_embeddings.weight", 2, hidden);
        namedFloats("embeddings.LayerNorm.weight", hidden);
        namedFloats("embeddings.LayerNorm.bias", hidden);
        long[] positions = new long[POSITIONS];
        for (int i = 0; i < POSITIONS; i++) positions[i] = i;
        graph.message(5, int64Tensor("embeddings.position_ids", new long[] {1, POSITIONS}, positions));
        graph.message(1, constantNode("/embeddings/LayerNorm/Constant_1", floatScalar(1e-12f)));
        graph.message(1, node("/embeddings/LayerNorm/Add", "Add", List.of("/embeddings/var", "/embeddings/LayerNorm/Constant_1_output_0"),
                List.of("/embeddings/LayerNorm/Add_output_0")));
        for (int l = 0; l < layers; l++) {
            String p = "encoder.layer." + l + ".";
            String n = "/encoder/layer." + l + "/";
            linear(p + "attention.self.query", n + "attention/self/query/MatMul", hidden, hidden);
            linear(p + "attention.self.key", n + "attention/self/key/MatMul", hidden, hidden);
            linear(p + "attention.self.value", n + "attention/self/value/MatMul", hidden, hidden);
            if (l == 0) headsHint(hint);
            linear(p + "attention.output.dense", n + "attention/output/dense/MatMul", hidden, hidden);
            namedFloats(p + "attention.output.LayerNorm.weight", hidden);
            namedFloats(p + "attention.output.LayerNorm.bias", hidden);
            linear(p + "intermediate.dense", n + "intermediate/dense/MatMul", hidden, intermediate);
            linear(p + "output.dense", n + "output/dense/MatMul", intermediate, hidden);
            namedFloats(p + "output.LayerNorm.weight", hidden);
            namedFloats(p + "output.LayerNorm.bias", hidden);
        }
        graph.message(12, new ProtoWriter().string(1, "last_hidden_state"));
        ProtoWriter model = new ProtoWriter()
                .varint(1, 8)
                .string(2, "eva4j-test")
                .message(8, new ProtoWriter().string(1, "").varint(2, 14))
                .message(7, graph);
        bytes = model.toByteArray();
    }

    private void headsHint(HeadsHint hint) {
        String a = "/encoder/layer.0/attention/self/";
        switch (hint) {
            case RESHAPE -> {
                graph.message(1, constantNode(a + "Constant_2", int64Tensor("", new long[] {1}, new long[] {heads})));
                graph.message(1, constantNode(a + "Constant_3", int64Tensor("", new long[] {1}, new long[] {hidden / heads})));
                graph.message(1, node(a + "Concat", "Concat",
                        List.of(a + "Unsqueeze_output_0", a + "Unsqueeze_1_output_0", a + "Constant_2_output_0", a + "Constant_3_output_0"),
                        List.of(a + "Concat_output_0")));
                graph.message(1, node(a + "Reshape", "Reshape", List.of(a + "key/Add_output_0", a + "Concat_output_0"),
                        List.of(a + "Reshape_output_0")));
            }
            case DIV -> {
                graph.message(1, constantNode(a + "Constant_12", floatScalar((float) Math.sqrt(hidden / heads))));
                graph.message(1, node(a + "Div", "Div", List.of(a + "MatMul_output_0", a + "Constant_12_output_0"),
                        List.of(a + "Div_output_0")));
            }
            case NONE -> {}
        }
    }

    private void linear(String module, String nodeName, int in, int out) {
        float[] w = values(in * out); // [in, out]
        String anon = "onnx::MatMul_" + anonymous++;
        graph.message(5, floatTensor(anon, new long[] {in, out}, w));
        graph.message(1, node(nodeName, "MatMul", List.of(nodeName + "_x", anon), List.of(nodeName + "_output_0")));
        float[] t = new float[in * out];
        for (int i = 0; i < in; i++) for (int o = 0; o < out; o++) t[o * in + i] = w[i * out + o];
        expected.put(module + ".weight", t);
        expectedShapes.put(module + ".weight", new long[] {out, in});
        namedFloats(module + ".bias", out);
    }

    private void namedFloats(String name, int... dims) {
        long[] d = new long[dims.length];
        int n = 1;
        for (int i = 0; i < dims.length; i++) {
            d[i] = dims[i];
            n *= dims[i];
        }
        float[] v = values(n);
        graph.message(5, floatTensor(name, d, v));
        expected.put(name, v);
        expectedShapes.put(name, d);
    }

    private float[] values(int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (random.nextDouble() * 2 - 1);
        return v;
    }

    /** Alternates raw_data and float_data so both encodings are exercised. */
    private ProtoWriter floatTensor(String name, long[] dims, float[] v) {
        ProtoWriter t = new ProtoWriter().packedVarints(1, dims).varint(2, OnnxTensor.FLOAT).string(8, name);
        if (tensorCount++ % 2 == 0) {
            ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
            for (float x : v) b.putFloat(x);
            t.bytes(9, b.array());
        } else {
            for (float x : v) t.fixed32(4, x); // unpacked float_data, one field per value
        }
        return t;
    }

    private static ProtoWriter int64Tensor(String name, long[] dims, long[] v) {
        ProtoWriter t = new ProtoWriter();
        for (long d : dims) t.varint(1, d); // unpacked dims
        return t.varint(2, OnnxTensor.INT64).string(8, name).packedVarints(7, v);
    }

    private static ProtoWriter floatScalar(float f) {
        return new ProtoWriter().varint(2, OnnxTensor.FLOAT).fixed32(4, f);
    }

    private static ProtoWriter constantNode(String name, ProtoWriter value) {
        ProtoWriter attr = new ProtoWriter().string(1, "value").message(5, value).varint(20, 4);
        return new ProtoWriter().string(2, name + "_output_0").string(3, name).string(4, "Constant").message(5, attr);
    }

    private static ProtoWriter node(String name, String op, List<String> inputs, List<String> outputs) {
        ProtoWriter n = new ProtoWriter();
        for (String i : inputs) n.string(1, i);
        for (String o : outputs) n.string(2, o);
        n.string(3, name).string(4, op);
        n.message(5, new ProtoWriter().string(1, "axis").varint(3, -1).varint(20, 2));
        return n;
    }
}
