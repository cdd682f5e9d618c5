package dev.eva4j.models.onnx;

import java.util.List;
import java.util.Map;

/**
 * An ONNX NodeProto: one operator of the graph.
 *
 * @param intAttributes    attributes of type INT or INTS (an INT is a one-element array)
 * @param tensorAttributes attributes of type TENSOR ({@code Constant}'s {@code value})
 */
public record OnnxNode(String name, String opType, List<String> inputs, List<String> outputs,
        Map<String, long[]> intAttributes, Map<String, OnnxTensor> tensorAttributes) {
    public OnnxNode {
        inputs = List.copyOf(inputs);
        outputs = List.copyOf(outputs);
        intAttributes = Map.copyOf(intAttributes);
        tensorAttributes = Map.copyOf(tensorAttributes);
    }
}
