package dev.eva4j.models.data;

import dev.eva4j.spi.InvalidInputException;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;

/**
 * Parses one JSONL record: {@code {"text": ...}}, {@code {"text": ..., "label": N}} or
 * {@code {"input_ids": [...], "attention_mask": [...], "labels": [...]}} (mask and labels optional). A bad line is an
 * {@link IllegalArgumentException} naming the file, the line number and the problem.
 */
final class JsonlRecords {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final String file;
    private final long lineNumber;

    private JsonlRecords(String file, long lineNumber) {
        this.file = file;
        this.lineNumber = lineNumber;
    }

    static Example parse(Path file, long lineNumber, String line) {
        return new JsonlRecords(String.valueOf(file.getFileName()), lineNumber).parse(line);
    }

    /** @param source the name errors give for where the line came from (a file name) */
    static Example parse(String source, long lineNumber, String line) {
        return new JsonlRecords(source, lineNumber).parse(line);
    }

    private Example parse(String line) {
        JsonNode n;
        try {
            n = JSON.readTree(line);
        } catch (JsonProcessingException e) {
            throw bad("not valid JSON (" + e.getOriginalMessage().lines().findFirst().orElse("") + ")");
        }
        if (n == null || !n.isObject()) throw bad("a record must be a JSON object");
        JsonNode text = n.get("text"), ids = n.get("input_ids");
        Integer label = null;
        if (n.hasNonNull("label")) {
            if (!n.get("label").canConvertToInt()) throw bad("\"label\" must be an integer");
            label = n.get("label").asInt();
        }
        if (ids != null && !ids.isNull()) {
            int[] inputIds = ints(ids, "input_ids");
            if (inputIds.length == 0) throw bad("input_ids is empty");
            int[] mask = n.hasNonNull("attention_mask") ? ints(n.get("attention_mask"), "attention_mask") : null;
            int[] labels = n.hasNonNull("labels") ? ints(n.get("labels"), "labels") : null;
            if (mask != null && mask.length != inputIds.length) throw bad("attention_mask and input_ids differ in length");
            if (labels != null && labels.length != inputIds.length) throw bad("labels and input_ids differ in length");
            return new Example(lineNumber, null, label, inputIds, mask, labels);
        }
        if (text == null || !text.isTextual()) throw bad("needs \"text\" (a string) or \"input_ids\" (a list of ints)");
        return new Example(lineNumber, text.asText(), label, null, null, null);
    }

    private int[] ints(JsonNode n, String field) {
        if (!n.isArray()) throw bad("\"" + field + "\" must be a list of integers");
        int[] out = new int[n.size()];
        for (int i = 0; i < out.length; i++) {
            if (!n.get(i).canConvertToInt()) throw bad("\"" + field + "\"[" + i + "] is not an integer");
            out[i] = n.get(i).asInt();
        }
        return out;
    }

    private InvalidInputException bad(String problem) {
        return new InvalidInputException(file + ":" + lineNumber + ": " + problem);
    }
}
