package dev.eva4j.api.safetensors;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A sharded checkpoint's {@code model.safetensors.index.json}:
 * {@code {"metadata": {...}, "weight_map": {"tensor name": "shard file name", ...}}}.
 *
 * @param metadata  the index's {@code metadata} (strings as they are, other values as JSON text), in file order
 * @param weightMap tensor name to shard file name, in file order
 */
record ShardIndex(Map<String, String> metadata, Map<String, String> weightMap) {
    static final String FILE_NAME = "model.safetensors.index.json";
    private static final long MAX_INDEX_BYTES = 100_000_000L;
    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    static ShardIndex read(Path indexFile) throws IOException {
        long size = Files.size(indexFile);
        if (size > MAX_INDEX_BYTES) {
            throw new SafetensorsFormatException(indexFile, "index is " + size + " bytes, over the limit of " + MAX_INDEX_BYTES);
        }
        JsonNode root;
        try {
            root = JSON.readTree(Files.readAllBytes(indexFile));
        } catch (JsonProcessingException e) {
            throw new SafetensorsFormatException(indexFile, "not valid JSON: " + e.getOriginalMessage());
        }
        if (root == null || !root.isObject()) {
            throw new SafetensorsFormatException(indexFile, "must hold a JSON object with a weight_map");
        }
        JsonNode map = root.get("weight_map");
        if (map == null || !map.isObject()) {
            throw new SafetensorsFormatException(indexFile, "weight_map must be an object mapping tensor names to shard files");
        }
        var weightMap = new LinkedHashMap<String, String>();
        for (var e : map.properties()) {
            if (!e.getValue().isTextual()) {
                throw new SafetensorsFormatException(indexFile, "weight_map value for " + Text.quote(e.getKey())
                        + " must be a shard file name, not " + e.getValue().getNodeType().name().toLowerCase(java.util.Locale.ROOT));
            }
            String shard = e.getValue().asText();
            if (!isPlainFileName(shard)) {
                throw new SafetensorsFormatException(indexFile, "weight_map maps " + Text.quote(e.getKey()) + " to "
                        + Text.quote(shard) + ", which is not a file name in the index's folder");
            }
            weightMap.put(e.getKey(), shard);
        }
        var metadata = new LinkedHashMap<String, String>();
        JsonNode meta = root.get("metadata");
        if (meta != null && !meta.isNull()) {
            if (!meta.isObject()) {
                throw new SafetensorsFormatException(indexFile, "metadata must be an object");
            }
            for (var e : meta.properties()) {
                metadata.put(e.getKey(), e.getValue().isTextual() ? e.getValue().asText() : e.getValue().toString());
            }
        }
        return new ShardIndex(metadata, weightMap);
    }

    private static boolean isPlainFileName(String s) {
        return !s.isEmpty() && !s.equals(".") && !s.equals("..") && s.indexOf('/') < 0 && s.indexOf('\\') < 0
                && s.indexOf('\0') < 0;
    }
}
