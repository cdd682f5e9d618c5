package dev.eva4j.models.onnx;

import dev.eva4j.spi.InvalidInputException;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Float32 weights from the int8 weights of a quantized ONNX export: {@code w = (q - zero_point) * scale}, per tensor
 * (one scale) or per axis (one scale per slice along {@code axis}), as ONNX's DequantizeLinear defines it. Three
 * forms are read, the ones ONNX Runtime's quantizer writes:
 * <ul>
 *   <li>{@code MatMulInteger(x_q, W_q, x_zp, W_zp)} from dynamic quantization ({@code quantize_dynamic}, e.g. the
 *       {@code *-q} embedding models): {@code W_q} [in, out] is an INT8/UINT8 initializer, its zero point the node's
 *       4th input, its scale the FLOAT initializer named {@code W} + {@code _scale} (per output column or one);</li>
 *   <li>tensors stored as {@code NAME_quantized} + {@code NAME_scale} + {@code NAME_zero_point} initializers and
 *       dequantized after a Gather (the embedding tables of the same exports): NAME is the float tensor's name;</li>
 *   <li>{@code DequantizeLinear(W_q, scale, zero_point)} over an initializer (static quantization, QDQ format): its
 *       output is the float weight a MatMul then reads.</li>
 * </ul>
 * Activations quantized at run time ({@code DynamicQuantizeLinear}) need nothing here: eva4j runs the dequantized
 * model in float32, so its outputs differ from ONNX Runtime's on the quantized file by the activation rounding only.
 */
final class OnnxDequantizer {
    static final String QUANTIZED = "_quantized", SCALE = "_scale", ZERO_POINT = "_zero_point";

    private final OnnxGraph graph;
    private final String source;
    private final Map<String, OnnxTensor> dequantizeLinearOutputs = new HashMap<>();

    OnnxDequantizer(OnnxGraph graph, String source) {
        this.graph = graph;
        this.source = source;
        for (OnnxNode n : graph.nodes()) {
            if (!n.opType().equals("DequantizeLinear") || n.inputs().size() < 2 || n.outputs().isEmpty()) continue;
            OnnxTensor q = graph.initializers().get(n.inputs().get(0));
            if (q == null || !q.isInt8()) continue;
            OnnxTensor scale = initializer(n.inputs().get(1), q.name());
            OnnxTensor zp = n.inputs().size() > 2 && !n.inputs().get(2).isEmpty() ? initializer(n.inputs().get(2), q.name()) : null;
            long[] axis = n.intAttributes().get("axis");
            dequantizeLinearOutputs.put(n.outputs().getFirst(),
                    dequantize(n.outputs().getFirst(), q, scale, zp, axis == null ? 1 : (int) axis[0]));
        }
    }

    /** Whether the graph holds 8-bit integer initializers (a quantized export). */
    static boolean isQuantized(OnnxGraph graph) {
        return graph.initializers().values().stream().anyMatch(OnnxTensor::isInt8);
    }

    /** The float weight a MatMul reads as {@code input}: an initializer, or a DequantizeLinear of one. */
    Optional<OnnxTensor> matMulWeight(String input) {
        OnnxTensor t = graph.initializers().get(input);
        if (t != null) return t.dataType() == OnnxTensor.FLOAT ? Optional.of(t) : Optional.empty();
        return Optional.ofNullable(dequantizeLinearOutputs.get(input));
    }

    /** The float32 [in, out] weight of a MatMulInteger node whose B is an int8 initializer, or empty. */
    Optional<OnnxTensor> matMulIntegerWeight(OnnxNode n) {
        if (n.inputs().size() < 2) return Optional.empty();
        OnnxTensor q = graph.initializers().get(n.inputs().get(1));
        if (q == null || !q.isInt8() || q.dims().length != 2) return Optional.empty();
        String base = q.name().endsWith(QUANTIZED) ? q.name().substring(0, q.name().length() - QUANTIZED.length()) : q.name();
        OnnxTensor scale = initializer(base + SCALE, q.name());
        OnnxTensor zp = n.inputs().size() > 3 && !n.inputs().get(3).isEmpty() ? initializer(n.inputs().get(3), q.name()) : null;
        return Optional.of(dequantize(base, q, scale, zp, 1));
    }

    /** Float tensors stored as NAME_quantized, NAME_scale, NAME_zero_point initializers, under NAME. */
    Map<String, OnnxTensor> namedTensors() {
        Map<String, OnnxTensor> out = new LinkedHashMap<>();
        for (OnnxTensor q : graph.initializers().values()) {
            if (!q.isInt8() || !q.name().endsWith(QUANTIZED)) continue;
            String name = q.name().substring(0, q.name().length() - QUANTIZED.length());
            OnnxTensor scale = graph.initializers().get(name + SCALE);
            if (scale == null || name.startsWith("onnx::")) continue; // a MatMulInteger weight, named by its node
            OnnxTensor zp = graph.initializers().get(name + ZERO_POINT);
            out.put(name, dequantize(name, q, scale, zp, 0));
        }
        return out;
    }

    private OnnxTensor initializer(String name, String of) {
        OnnxTensor t = graph.initializers().get(name);
        if (t == null) throw bad("the quantized weight '" + of + "' has no initializer '" + name + "'");
        return t;
    }

    /**
     * (q - zeroPoint) * scale in float32; scale and zero point hold one value, or one per slice along {@code axis}.
     */
    OnnxTensor dequantize(String name, OnnxTensor q, OnnxTensor scale, OnnxTensor zeroPoint, int axis) {
        if (scale.dataType() != OnnxTensor.FLOAT) throw bad("scale '" + scale.name() + "' is not FLOAT");
        long[] dims = q.dims();
        if (axis < 0) axis += dims.length;
        float[] s = scale.floats();
        int[] zp = zeroPoint == null ? new int[] {0} : zeroPoint.ints();
        if (zeroPoint != null && !zeroPoint.isInt8()) throw bad("zero point '" + zeroPoint.name() + "' is not 8-bit");
        if (zp.length != s.length) {
            throw bad("'" + q.name() + "' has " + s.length + " scale(s) but " + zp.length + " zero point(s)");
        }
        int[] v = q.ints();
        float[] w = new float[v.length];
        if (s.length == 1) {
            for (int i = 0; i < v.length; i++) w[i] = (v[i] - zp[0]) * s[0];
        } else {
            if (axis >= dims.length || dims[axis] != s.length) {
                throw bad("'" + q.name() + "' " + Arrays.toString(dims) + " has " + s.length
                        + " scales, matching no axis " + axis);
            }
            long inner = 1;
            for (int d = axis + 1; d < dims.length; d++) inner *= dims[d];
            for (int i = 0; i < v.length; i++) {
                int c = (int) ((i / inner) % s.length);
                w[i] = (v[i] - zp[c]) * s[c];
            }
        }
        return new OnnxTensor(name, OnnxTensor.FLOAT, dims, MemorySegment.ofArray(w));
    }

    private InvalidInputException bad(String problem) {
        return new InvalidInputException("ONNX model " + source + " is a quantized export eva4j cannot dequantize: "
                + OnnxModelReader.oneLine(problem));
    }
}
