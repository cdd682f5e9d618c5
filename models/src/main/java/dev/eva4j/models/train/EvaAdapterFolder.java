package dev.eva4j.models.train;

import dev.eva4j.spi.InvalidInputException;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.eva4j.api.peft.PeftAdapterWriter;
import dev.eva4j.api.safetensors.SafetensorsFile;
import dev.eva4j.api.safetensors.TensorInfo;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What an EVA initialisation needs from a PEFT LoRA adapter folder ({@code eva4j init}'s output, or PEFT's own):
 * {@code adapter_config.json}'s {@code r}, {@code lora_alpha}, {@code rank_pattern}, {@code alpha_pattern} and
 * {@code use_rslora}, and every module's {@code lora_A} [rank, in] (and {@code lora_B} [out, rank], zero for EVA) from
 * {@code adapter_model.safetensors}, keyed by module path. Tensor names may carry PEFT's {@code base_model.model.}
 * prefix and an adapter name ({@code <path>.lora_A.default.weight}).
 *
 * @param a the lora_A values per module path, in file order
 * @param b the lora_B values per module path (absent: zero)
 */
record EvaAdapterFolder(Path dir, int r, double alpha, boolean rslora, Map<String, Integer> rankPattern,
                        Map<String, Double> alphaPattern, Map<String, Tensor> a, Map<String, Tensor> b) {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern KEY = Pattern.compile("(?:base_model\\.model\\.)?(.+)\\.lora_([AB])(?:\\.[^.]+)?\\.weight");

    /** A tensor's shape [rows, cols] and row-major values. */
    record Tensor(int rows, int cols, float[] values) {}

    /**
     * @throws NoSuchFileException      when the folder or one of its two files is missing
     * @throws IllegalArgumentException one line naming the folder and what is wrong with it
     */
    static EvaAdapterFolder read(Path dir) throws IOException {
        Path config = dir.resolve(PeftAdapterWriter.CONFIG), weights = dir.resolve(PeftAdapterWriter.WEIGHTS);
        if (!Files.isDirectory(dir)) throw new NoSuchFileException(dir + " (an adapter folder from 'eva4j init')");
        if (!Files.isRegularFile(config)) throw new NoSuchFileException(config.toString());
        if (!Files.isRegularFile(weights)) throw new NoSuchFileException(weights.toString());
        JsonNode c;
        try {
            c = JSON.readTree(config.toFile());
        } catch (com.fasterxml.jackson.core.JacksonException e) {
            throw new InvalidInputException(config + ": not valid JSON (" + e.getOriginalMessage() + ")");
        }
        if (c == null || !c.isObject()) throw new InvalidInputException(config + ": not a JSON object");
        if (!c.path("r").canConvertToInt() || !c.path("lora_alpha").isNumber()) {
            throw new InvalidInputException(config + ": needs a numeric 'r' and 'lora_alpha'");
        }
        Map<String, Integer> ranks = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : c.path("rank_pattern").properties()) {
            if (!e.getValue().canConvertToInt()) throw new InvalidInputException(config + ": rank_pattern '" + e.getKey() + "' is not an integer");
            ranks.put(e.getKey(), e.getValue().asInt());
        }
        Map<String, Double> alphas = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : c.path("alpha_pattern").properties()) {
            if (!e.getValue().isNumber()) throw new InvalidInputException(config + ": alpha_pattern '" + e.getKey() + "' is not a number");
            alphas.put(e.getKey(), e.getValue().asDouble());
        }
        Map<String, Tensor> a = new LinkedHashMap<>(), b = new LinkedHashMap<>();
        try (SafetensorsFile f = SafetensorsFile.open(weights)) {
            for (TensorInfo t : f.tensors()) {
                Matcher m = KEY.matcher(t.name());
                if (!m.matches()) continue;
                if (t.rank() != 2) {
                    throw new InvalidInputException(weights + ": " + t.name() + " has shape " + Arrays.toString(t.shape())
                            + ", expected a matrix");
                }
                Tensor x = new Tensor(Math.toIntExact(t.shape()[0]), Math.toIntExact(t.shape()[1]), f.readFloats(t.name()));
                Map<String, Tensor> into = m.group(2).equals("A") ? a : b;
                if (into.put(m.group(1), x) != null) {
                    throw new InvalidInputException(weights + ": two lora_" + m.group(2) + " tensors for " + m.group(1));
                }
            }
        }
        if (a.isEmpty()) throw new InvalidInputException(weights + ": holds no lora_A tensor");
        for (String p : b.keySet()) {
            if (!a.containsKey(p)) throw new InvalidInputException(weights + ": " + p + " has lora_B but no lora_A");
        }
        return new EvaAdapterFolder(dir, c.path("r").asInt(), c.path("lora_alpha").asDouble(),
                c.path("use_rslora").asBoolean(false), ranks, alphas, a, b);
    }
}
