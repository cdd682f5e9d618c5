package dev.eva4j.models.peft;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.eva4j.models.nn.ClassificationHead;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
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
            throw new IllegalArgumentException(file + " is not valid JSON: " + e.getOriginalMessage());
        }
        if (n == null || !n.isObject()) throw new IllegalArgumentException(file + " does not hold a JSON object");
        String module = n.hasNonNull("module") && n.get("module").isTextual() ? n.get("module").textValue()
                : PeftLoraAdapter.HEAD_MODULE;
        return new HeadFile(module, count(n, "num_labels", file), count(n, "hidden_size", file), pooling(n, file));
    }

    private static int count(JsonNode n, String field, Path file) {
        JsonNode v = n.get(field);
        if (v == null || v.isNull()) return 0;
        if (!v.isIntegralNumber() || !v.canConvertToInt() || v.intValue() < 1) {
            throw new IllegalArgumentException(file + ": " + field + " must be a positive integer, got " + v);
        }
        return v.intValue();
    }

    private static ClassificationHead.Pooling pooling(JsonNode n, Path file) {
        JsonNode v = n.get("pooling");
        if (v == null || v.isNull()) return null;
        return switch (v.asText()) {
            case "mean" -> ClassificationHead.Pooling.MEAN;
            case "cls" -> ClassificationHead.Pooling.CLS;
            default -> throw new IllegalArgumentException(file + ": pooling must be \"mean\" or \"cls\", got " + v);
        };
    }
}
