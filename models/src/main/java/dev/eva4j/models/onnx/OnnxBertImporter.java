package dev.eva4j.models.onnx;

import dev.eva4j.spi.InvalidInputException;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Maps a BERT ONNX export (Hugging Face {@code optimum}/{@code torch.onnx} style, e.g. all-MiniLM-L6-v2) to
 * Hugging Face tensor names and shapes.
 *
 * <ul>
 *   <li>Initializers that already carry Hugging Face names (biases, LayerNorms, embeddings) keep them; non-float
 *       ones ({@code embeddings.position_ids}) are dropped.</li>
 *   <li>The linear weights are anonymous ({@code onnx::MatMul_787}, stored [in, out]); each is named after the
 *       MatMul node that consumes it ({@code /encoder/layer.0/attention/self/query/MatMul} ->
 *       {@code encoder.layer.0.attention.self.query.weight}) and transposed to [out, in].</li>
 *   <li>A quantized export (int8 weights, e.g. all-MiniLM-L6-v2-q) is dequantized to float32 on import
 *       ({@link OnnxDequantizer}); a MatMulInteger node {@code .../query/MatMul_quant} names its weight like a MatMul.</li>
 *   <li>The number of attention heads is not in the weights. It is read from layer 0's attention Reshape: its shape
 *       input is a Concat (or constant) ending in the constants [heads, head_dim] with heads * head_dim == hidden
 *       (all-MiniLM-L6-v2: [12, 32]). If no such Reshape exists, the scale constant of the attention scores
 *       (sqrt(head_dim), a Div in {@code /encoder/layer.0/attention/self/}) gives head_dim; failing both, 12 heads
 *       are assumed, with a warning.</li>
 * </ul>
 */
public final class OnnxBertImporter {
    private static final Logger LOG = LoggerFactory.getLogger(OnnxBertImporter.class);
    private static final Pattern LAYER = Pattern.compile("^encoder\\.layer\\.(\\d+)\\.");
    private static final String ATTENTION0 = "/encoder/layer.0/attention/self/";
    private static final List<String> LAYER_TENSORS = List.of(
            "attention.self.query.weight", "attention.self.query.bias",
            "attention.self.key.weight", "attention.self.key.bias",
            "attention.self.value.weight", "attention.self.value.bias",
            "attention.output.dense.weight", "attention.output.dense.bias",
            "attention.output.LayerNorm.weight", "attention.output.LayerNorm.bias",
            "intermediate.dense.weight", "intermediate.dense.bias",
            "output.dense.weight", "output.dense.bias",
            "output.LayerNorm.weight", "output.LayerNorm.bias");

    /** A BERT model's numbers and its float32 tensors under Hugging Face names ([out, in] for linear weights). */
    public record Imported(OnnxBertDims dims, Map<String, OnnxTensor> tensors) {
        public Imported {
            tensors = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(tensors));
        }
    }

    private OnnxBertImporter() {}

    /** Imports {@code graph}; {@code source} names the file in error messages. */
    public static Imported importBert(OnnxGraph graph, String source) {
        OnnxDequantizer quantized = new OnnxDequantizer(graph, source);
        Map<String, OnnxTensor> out = new LinkedHashMap<>();
        for (OnnxTensor t : graph.initializers().values()) {
            if (t.dataType() != OnnxTensor.FLOAT || t.name().startsWith("onnx::")) continue;
            if (t.name().endsWith(OnnxDequantizer.SCALE) && graph.initializers().containsKey(
                    t.name().substring(0, t.name().length() - OnnxDequantizer.SCALE.length()) + OnnxDequantizer.QUANTIZED)) {
                continue; // the scale of a quantized tensor
            }
            out.put(t.name(), t);
        }
        out.putAll(quantized.namedTensors());
        Map<String, String> claimedBy = new HashMap<>();
        for (OnnxNode n : graph.nodes()) {
            boolean integer = n.opType().equals("MatMulInteger");
            if (!(integer || n.opType().equals("MatMul")) || n.inputs().size() < 2) continue;
            if (!integer && n.inputs().size() != 2) continue;
            OnnxTensor w = (integer ? quantized.matMulIntegerWeight(n) : quantized.matMulWeight(n.inputs().get(1)))
                    .orElse(null);
            if (w == null || w.dims().length != 2) continue;
            String module = moduleName(integer && n.name().endsWith("_quant")
                    ? n.name().substring(0, n.name().length() - "_quant".length()) : n.name());
            if (module == null) {
                throw bad(source, "MatMul node '" + n.name() + "' uses weight '" + w.name()
                        + "' but its name does not end in /MatMul, so the module it belongs to is unknown");
            }
            String name = module + ".weight";
            String previous = claimedBy.put(name, w.name());
            if (previous != null || out.containsKey(name)) {
                throw bad(source, "two weights map to '" + name + "' ('" + w.name() + "' and '" + previous + "')");
            }
            out.put(name, transpose(name, w));
        }
        OnnxBertDims dims = dims(graph, out, source, OnnxDequantizer.isQuantized(graph));
        return new Imported(dims, out);
    }

    /** {@code /encoder/layer.0/attention/self/query/MatMul} -> {@code encoder.layer.0.attention.self.query}. */
    static String moduleName(String nodeName) {
        if (!nodeName.endsWith("/MatMul")) return null;
        String path = nodeName.substring(0, nodeName.length() - "/MatMul".length());
        if (path.startsWith("/")) path = path.substring(1);
        if (path.isEmpty()) return null;
        return path.replace('/', '.');
    }

    // [in, out] -> [out, in]
    private static OnnxTensor transpose(String name, OnnxTensor w) {
        long[] d = w.dims();
        int in = Math.toIntExact(d[0]);
        int outF = Math.toIntExact(d[1]);
        float[] src = w.floats();
        float[] dst = new float[src.length];
        for (int i = 0; i < in; i++) {
            for (int o = 0; o < outF; o++) dst[o * in + i] = src[i * outF + o];
        }
        return new OnnxTensor(name, OnnxTensor.FLOAT, new long[] {outF, in}, MemorySegment.ofArray(dst));
    }

    private static OnnxBertDims dims(OnnxGraph graph, Map<String, OnnxTensor> t, String source, boolean quantized) {
        String missing = quantized ? " (the export is quantized: it holds int8 weights, in a form eva4j does not "
                + "dequantize; it reads ONNX Runtime's MatMulInteger and DequantizeLinear forms)" : "";
        long[] word = shape(t, "embeddings.word_embeddings.weight", 2, source, missing);
        long[] pos = shape(t, "embeddings.position_embeddings.weight", 2, source, missing);
        long[] type = shape(t, "embeddings.token_type_embeddings.weight", 2, source, missing);
        shape(t, "embeddings.LayerNorm.weight", 1, source, missing);
        shape(t, "embeddings.LayerNorm.bias", 1, source, missing);
        int hidden = Math.toIntExact(word[1]);
        TreeSet<Integer> layers = new TreeSet<>();
        for (String name : t.keySet()) {
            Matcher m = LAYER.matcher(name);
            if (m.find()) layers.add(Integer.parseInt(m.group(1)));
        }
        if (layers.isEmpty()) throw bad(source, "no encoder.layer.N tensors: not a BERT encoder export");
        if (layers.first() != 0 || layers.last() != layers.size() - 1) {
            throw bad(source, "encoder layers are not numbered 0.." + (layers.size() - 1) + ": " + layers);
        }
        for (int l : layers) {
            for (String suffix : LAYER_TENSORS) {
                shape(t, "encoder.layer." + l + "." + suffix,
                        suffix.endsWith("weight") && !suffix.contains("LayerNorm") ? 2 : 1, source, missing);
            }
        }
        int intermediate = Math.toIntExact(t.get("encoder.layer.0.intermediate.dense.bias").dims()[0]);
        int heads = heads(graph, hidden, source);
        return new OnnxBertDims(Math.toIntExact(word[0]), hidden, layers.size(), heads, intermediate,
                Math.toIntExact(pos[0]), Math.toIntExact(type[0]), layerNormEps(graph), "gelu");
    }

    private static long[] shape(Map<String, OnnxTensor> t, String name, int rank, String source, String whyMissing) {
        OnnxTensor x = t.get(name);
        if (x == null) throw bad(source, "tensor '" + name + "' is missing" + whyMissing);
        if (x.dims().length != rank) {
            throw bad(source, "tensor '" + name + "' has shape " + Arrays.toString(x.dims()) + ", expected rank " + rank);
        }
        return x.dims();
    }

    static int heads(OnnxGraph graph, int hidden, String source) {
        OptionalInt fromReshape = headsFromReshape(graph, hidden);
        if (fromReshape.isPresent()) return fromReshape.getAsInt();
        for (OnnxNode n : graph.nodes()) {
            if (n.opType().equals("Div") && n.name().startsWith(ATTENTION0) && n.inputs().size() == 2) {
                var c = graph.constant(n.inputs().get(1));
                if (c.isPresent() && c.get().dataType() == OnnxTensor.FLOAT && c.get().numel() == 1) {
                    double headDim = Math.rint(Math.pow(c.get().floats()[0], 2));
                    if (headDim >= 1 && hidden % (int) headDim == 0) return hidden / (int) headDim;
                }
            }
        }
        if (hidden % 12 != 0) throw bad(source, "cannot tell the number of attention heads (hidden size " + hidden + ")");
        LOG.warn("{}: no attention Reshape constants found; assuming 12 attention heads", source);
        return 12;
    }

    private static OptionalInt headsFromReshape(OnnxGraph graph, int hidden) {
        Map<String, OnnxNode> producers = new HashMap<>();
        for (OnnxNode n : graph.nodes()) for (String o : n.outputs()) producers.put(o, n);
        for (OnnxNode n : graph.nodes()) {
            if (!n.opType().equals("Reshape") || !n.name().startsWith(ATTENTION0) || n.inputs().size() < 2) continue;
            String shapeName = n.inputs().get(1);
            long[] tail = null;
            var c = graph.constant(shapeName);
            if (c.isPresent() && c.get().dataType() == OnnxTensor.INT64) {
                tail = c.get().longs();
            } else {
                OnnxNode concat = producers.get(shapeName);
                if (concat != null && concat.opType().equals("Concat") && concat.inputs().size() >= 2) {
                    List<String> in = concat.inputs();
                    var a = graph.constant(in.get(in.size() - 2));
                    var b = graph.constant(in.get(in.size() - 1));
                    if (a.isPresent() && b.isPresent() && a.get().dataType() == OnnxTensor.INT64
                            && b.get().dataType() == OnnxTensor.INT64 && a.get().numel() == 1 && b.get().numel() == 1) {
                        tail = new long[] {a.get().longs()[0], b.get().longs()[0]};
                    }
                }
            }
            if (tail != null && tail.length >= 2) {
                long h = tail[tail.length - 2];
                long d = tail[tail.length - 1];
                if (h > 0 && d > 0 && h * d == hidden) return OptionalInt.of((int) h);
            }
        }
        return OptionalInt.empty();
    }

    private static double layerNormEps(OnnxGraph graph) {
        for (OnnxNode n : graph.nodes()) {
            if (n.opType().equals("Add") && n.name().equals("/embeddings/LayerNorm/Add") && n.inputs().size() == 2) {
                var c = graph.constant(n.inputs().get(1));
                if (c.isPresent() && c.get().dataType() == OnnxTensor.FLOAT && c.get().numel() == 1) {
                    return Double.parseDouble(Float.toString(c.get().floats()[0])); // the decimal the exporter wrote
                }
            }
        }
        return 1e-12;
    }

    private static InvalidInputException bad(String source, String problem) {
        return new InvalidInputException("ONNX model " + source + " is not a BERT export eva4j can import: "
                + OnnxModelReader.oneLine(problem));
    }
}
