package dev.eva4j.models.peft;

import dev.eva4j.spi.InvalidInputException;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.eva4j.api.safetensors.SafetensorsCheckpoint;
import dev.eva4j.models.nn.ClassificationHead;
import dev.eva4j.spi.Kernels;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;

/**
 * {@code eva4j_head.json}: what eva4j knows about a classification head that PEFT's config has no field for, kept
 * beside the adapter (or the merged checkpoint) instead of as unknown keys in {@code adapter_config.json}:
 * {@code {"module": "classifier", "num_labels": K, "hidden_size": C, "pooling": "mean" | "cls"}}.
 *
 * @param module     the head's module name (its tensors are {@code <module>.weight} [K, C] and {@code <module>.bias} [K])
 * @param numLabels  K
 * @param hiddenSize C
 * @param pooling    how token states become one vector per sequence, or null when unknown
 */
public record HeadFile(String module, int numLabels, int hiddenSize, ClassificationHead.Pooling pooling) {
    public static final String FILE = "eva4j_head.json";
    private static final String WEIGHT = PeftLoraAdapter.HEAD_MODULE + ".weight";
    private static final String BIAS = PeftLoraAdapter.HEAD_MODULE + ".bias";
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /** The file's bytes. */
    byte[] json() throws IOException {
        ObjectNode n = JSON.createObjectNode();
        n.put("module", module);
        n.put("num_labels", numLabels);
        n.put("hidden_size", hiddenSize);
        if (pooling != null) n.put("pooling", pooling.name().toLowerCase(Locale.ROOT));
        return JSON.writeValueAsBytes(n);
    }

    /** {@code dir/eva4j_head.json}, or null when there is none; one line naming the file for a bad one. */
    public static HeadFile read(Path dir) throws IOException {
        Path file = dir.resolve(FILE);
        if (!Files.isRegularFile(file)) return null;
        JsonNode n;
        try {
            n = JSON.readTree(file.toFile());
        } catch (JacksonException e) {
            throw new InvalidInputException(file + " is not valid JSON: " + e.getOriginalMessage());
        }
        if (n == null || !n.isObject()) throw new InvalidInputException(file + " does not hold a JSON object");
        String module = n.hasNonNull("module") && n.get("module").isTextual() ? n.get("module").textValue()
                : PeftLoraAdapter.HEAD_MODULE;
        return new HeadFile(module, count(n, "num_labels", file), count(n, "hidden_size", file), pooling(n, file));
    }

    /**
     * The classification head of a merged checkpoint ({@code classifier.weight} [K, C], {@code classifier.bias} [K],
     * pooling from {@code eva4j_head.json}, else {@code fallback}) on {@code kernels}, or null when the folder has none.
     *
     * @throws IllegalArgumentException one line when the head's shape does not fit a model of hidden size
     *                                  {@code hiddenSize}
     */
    public static ClassificationHead fromCheckpoint(Path dir, Kernels kernels, int hiddenSize,
                                                    ClassificationHead.Pooling fallback) throws IOException {
        if (!Files.isDirectory(dir)) return null;
        HeadFile facts = read(dir);
        try (SafetensorsCheckpoint c = SafetensorsCheckpoint.open(dir)) {
            var w = c.find(WEIGHT).orElse(null);
            if (w == null) return null;
            long[] shape = w.shape();
            if (shape.length != 2 || shape[1] != hiddenSize || shape[0] < 2) {
                throw new InvalidInputException(dir + ": " + WEIGHT + " is " + Arrays.toString(shape) + ", a head over "
                        + "hidden size " + hiddenSize + " needs [labels >= 2, " + hiddenSize + "]");
            }
            int k = (int) shape[0];
            ClassificationHead.Pooling pooling = facts != null && facts.pooling() != null ? facts.pooling() : fallback;
            var head = new ClassificationHead(kernels, hiddenSize, k, pooling, 0);
            try {
                head.params().write(ClassificationHead.WEIGHT, c.readFloats(WEIGHT));
                head.params().write(ClassificationHead.BIAS, c.contains(BIAS) ? c.readFloats(BIAS) : new float[k]);
                return head;
            } catch (RuntimeException e) {
                head.close();
                throw e;
            }
        }
    }

    private static int count(JsonNode n, String field, Path file) {
        JsonNode v = n.get(field);
        if (v == null || v.isNull()) return 0;
        if (!v.isIntegralNumber() || !v.canConvertToInt() || v.intValue() < 1) {
            throw new InvalidInputException(file + ": " + field + " must be a positive integer, got " + v);
        }
        return v.intValue();
    }

    private static ClassificationHead.Pooling pooling(JsonNode n, Path file) {
        JsonNode v = n.get("pooling");
        if (v == null || v.isNull()) return null;
        return switch (v.asText()) {
            case "mean" -> ClassificationHead.Pooling.MEAN;
            case "cls" -> ClassificationHead.Pooling.CLS;
            default -> throw new InvalidInputException(file + ": pooling must be \"mean\" or \"cls\", got " + v);
        };
    }
}
