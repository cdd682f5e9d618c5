package dev.eva4j.models.hf;

import dev.eva4j.spi.InvalidInputException;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.eva4j.api.safetensors.SafetensorsCheckpoint;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/**
 * A Hugging Face model folder: {@code config.json} plus safetensors weights ({@code model.safetensors}, or shards
 * listed by {@code model.safetensors.index.json}). Holds the checkpoint's files mapped until {@link #close()}.
 */
public final class HfFolder implements AutoCloseable {
    public static final String CONFIG_FILE = "config.json";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path path;
    private final JsonNode config;
    private final SafetensorsCheckpoint checkpoint;

    private HfFolder(Path path, JsonNode config, SafetensorsCheckpoint checkpoint) {
        this.path = path;
        this.config = config;
        this.checkpoint = checkpoint;
    }

    /** Whether {@code dir} is a folder with config.json and at least one .safetensors file; never throws. */
    public static boolean looksLike(Path dir) {
        try {
            if (dir == null || !Files.isDirectory(dir) || !Files.isRegularFile(dir.resolve(CONFIG_FILE))) return false;
            try (Stream<Path> files = Files.list(dir)) {
                return files.anyMatch(f -> f.getFileName().toString().endsWith(".safetensors"));
            }
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /** Reads config.json as a JSON object; one-line IllegalArgumentException when missing or not valid JSON. */
    public static JsonNode readConfig(Path dir) throws IOException {
        Path file = dir.resolve(CONFIG_FILE);
        if (!Files.isDirectory(dir)) throw new InvalidInputException(dir + ": not a folder");
        if (!Files.isRegularFile(file)) {
            throw new InvalidInputException(dir + ": no " + CONFIG_FILE + " (not a Hugging Face model folder)");
        }
        JsonNode node;
        try {
            node = JSON.readTree(file.toFile());
        } catch (JacksonException e) {
            throw new InvalidInputException(file + " is not valid JSON: " + e.getOriginalMessage());
        }
        if (node == null || !node.isObject()) throw new InvalidInputException(file + " does not hold a JSON object");
        return node;
    }

    /** Opens the folder: reads config.json and maps the safetensors checkpoint. */
    public static HfFolder open(Path dir) throws IOException {
        JsonNode config = readConfig(dir);
        return new HfFolder(dir, config, SafetensorsCheckpoint.open(dir));
    }

    public Path path() {
        return path;
    }

    /** config.json as parsed. */
    public JsonNode config() {
        return config;
    }

    /** config.json's {@code model_type}; a one-line IllegalArgumentException when it is missing. */
    public String modelType() {
        String type = ConfigJson.string(config, "model_type", path.toString(), null);
        if (type == null || type.isBlank()) {
            throw new InvalidInputException(path + ": config.json has no model_type");
        }
        return type;
    }

    /** The weights as stored (dtype, raw bytes). */
    public SafetensorsCheckpoint checkpoint() {
        return checkpoint;
    }

    /** The weights as float32 tensors by name. */
    public TensorSource tensors() {
        return TensorSource.of(checkpoint);
    }

    @Override
    public void close() {
        checkpoint.close();
    }

    @Override
    public String toString() {
        return "HfFolder[" + path + "]";
    }
}
