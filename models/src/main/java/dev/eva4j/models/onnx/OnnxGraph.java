package dev.eva4j.models.onnx;

import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The parts of an ONNX GraphProto that eva4j reads: nodes in file order, initializers by name, graph input and
 * output names.
 */
public record OnnxGraph(String name, List<OnnxNode> nodes, Map<String, OnnxTensor> initializers,
        List<String> inputs, List<String> outputs) {
    public OnnxGraph {
        nodes = List.copyOf(nodes);
        initializers = Map.copyOf(initializers);
        inputs = List.copyOf(inputs);
        outputs = List.copyOf(outputs);
    }

    /** The initializer named {@code name}, or the value of the {@code Constant} node that outputs it. */
    public Optional<OnnxTensor> constant(String name) {
        OnnxTensor t = initializers.get(name);
        if (t != null) return Optional.of(t);
        for (OnnxNode n : nodes) {
            if (n.opType().equals("Constant") && n.outputs().contains(name) && n.tensorAttributes().containsKey("value")) {
                return Optional.of(n.tensorAttributes().get("value"));
            }
        }
        return Optional.empty();
    }
}
