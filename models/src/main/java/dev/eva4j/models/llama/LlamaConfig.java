package dev.eva4j.models.llama;

import dev.eva4j.spi.InvalidInputException;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.eva4j.models.ops.Rope;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The parts of a Hugging Face {@code config.json} a Llama-family decoder needs ({@code model_type} llama, mistral or
 * qwen2). Defaults follow the Hugging Face configuration classes: {@code num_key_value_heads} = heads,
 * {@code head_dim} = hidden / heads, {@code rms_norm_eps} 1e-6, {@code rope_theta} 10000, no tied embeddings.
 *
 * <p>Biases: llama's {@code attention_bias} adds biases to q, k, v and o; qwen2 always has q/k/v biases (its
 * attention has no o bias); mistral has none. {@code sliding_window} (mistral, qwen2) is ignored: the attention is
 * full causal, which equals sliding-window attention for sequences no longer than the window.
 *
 * @param qkvBias whether q_proj, k_proj and v_proj have a {@code .bias}
 * @param oBias   whether o_proj has a {@code .bias}
 * @param ropeScaling llama3 scaling, or null for plain RoPE
 */
public record LlamaConfig(String modelType, int vocabSize, int hiddenSize, int intermediateSize, int numLayers,
                          int numHeads, int numKvHeads, int headDim, double rmsNormEps, double ropeTheta,
                          Rope.Llama3Scaling ropeScaling, boolean tieWordEmbeddings, boolean qkvBias, boolean oBias,
                          int maxPositionEmbeddings) {

    /** The {@code model_type} values this family covers. */
    public static final List<String> MODEL_TYPES = List.of("llama", "mistral", "qwen2");
    private static final ObjectMapper JSON = new ObjectMapper();

    public LlamaConfig {
        if (!MODEL_TYPES.contains(modelType)) {
            throw new InvalidInputException("model_type \"" + modelType + "\" is not a Llama-family type " + MODEL_TYPES);
        }
        positive("vocab_size", vocabSize);
        positive("hidden_size", hiddenSize);
        positive("intermediate_size", intermediateSize);
        positive("num_hidden_layers", numLayers);
        positive("num_attention_heads", numHeads);
        positive("num_key_value_heads", numKvHeads);
        positive("head_dim", headDim);
        positive("max_position_embeddings", maxPositionEmbeddings);
        if (numHeads % numKvHeads != 0) {
            throw new InvalidInputException("num_key_value_heads (" + numKvHeads + ") must divide num_attention_heads ("
                    + numHeads + ")");
        }
        if (headDim % 2 != 0) throw new InvalidInputException("head_dim must be even for RoPE, got " + headDim);
        if (!(rmsNormEps > 0)) throw new InvalidInputException("rms_norm_eps must be > 0, got " + rmsNormEps);
        if (!(ropeTheta > 1)) throw new InvalidInputException("rope_theta must be > 1, got " + ropeTheta);
    }

    /** Width of the query projection's output: heads * head_dim. */
    public int qDim() {
        return numHeads * headDim;
    }

    /** Width of the key and value projections' outputs: kv heads * head_dim. */
    public int kvDim() {
        return numKvHeads * headDim;
    }

    /**
     * Reads {@code config.json} from a model folder (or the file itself).
     *
     * @throws IllegalArgumentException one line naming the file and the problem (missing, not JSON, bad field)
     */
    public static LlamaConfig read(Path path) throws IOException {
        Path file = Files.isDirectory(path) ? path.resolve("config.json") : path;
        if (!Files.isRegularFile(file)) {
            throw new InvalidInputException(file + " does not exist; a Hugging Face model folder holds config.json");
        }
        JsonNode root;
        try {
            root = JSON.readTree(file.toFile());
        } catch (JsonProcessingException e) {
            throw new InvalidInputException(file + ": not valid JSON (" + e.getOriginalMessage() + ")");
        }
        try {
            return parse(root);
        } catch (IllegalArgumentException e) {
            throw new InvalidInputException(file + ": " + e.getMessage(), e);
        }
    }

    /**
     * Parses a config.json object.
     *
     * @throws IllegalArgumentException one line naming the missing or invalid field
     */
    public static LlamaConfig parse(JsonNode root) {
        if (root == null || !root.isObject()) throw new InvalidInputException("config.json must hold a JSON object");
        String type = text(root, "model_type");
        if (!MODEL_TYPES.contains(type)) {
            throw new InvalidInputException("model_type \"" + type + "\" is not a Llama-family type " + MODEL_TYPES);
        }
        String act = optText(root, "hidden_act", "silu");
        if (!act.equals("silu")) throw new InvalidInputException("hidden_act \"" + act + "\" is not supported (only silu)");
        if (optBool(root, "mlp_bias", false)) throw new InvalidInputException("mlp_bias=true is not supported");
        int hidden = integer(root, "hidden_size");
        int heads = integer(root, "num_attention_heads");
        int kvHeads = optInt(root, "num_key_value_heads", heads);
        int headDim;
        if (present(root, "head_dim")) {
            headDim = integer(root, "head_dim");
        } else {
            if (heads <= 0 || hidden % heads != 0) {
                throw new InvalidInputException("head_dim is missing and hidden_size (" + hidden
                        + ") is not a multiple of num_attention_heads (" + heads + ")");
            }
            headDim = hidden / heads;
        }
        // transformers v5 moves rope_theta and the scaling into rope_parameters
        JsonNode ropeNode = present(root, "rope_parameters") ? root.get("rope_parameters")
                : present(root, "rope_scaling") ? root.get("rope_scaling") : null;
        String ropeField = present(root, "rope_parameters") ? "rope_parameters" : "rope_scaling";
        double theta = present(root, "rope_theta") ? number(root, "rope_theta")
                : ropeNode != null && present(ropeNode, "rope_theta") ? number(ropeNode, "rope_theta", ropeField + ".rope_theta")
                : 10000.0;
        Rope.Llama3Scaling scaling = ropeNode == null ? null : ropeScaling(ropeNode, ropeField);
        boolean qkvBias;
        boolean oBias;
        switch (type) {
            case "qwen2" -> { qkvBias = true; oBias = false; }
            case "llama" -> { qkvBias = optBool(root, "attention_bias", false); oBias = qkvBias; }
            default -> { qkvBias = false; oBias = false; }
        }
        int defaultMaxPos = switch (type) {
            case "mistral" -> 4096 * 32;
            case "qwen2" -> 32768;
            default -> 2048;
        };
        return new LlamaConfig(type, integer(root, "vocab_size"), hidden, integer(root, "intermediate_size"),
                integer(root, "num_hidden_layers"), heads, kvHeads, headDim,
                optNumber(root, "rms_norm_eps", 1e-6), theta, scaling,
                optBool(root, "tie_word_embeddings", false), qkvBias, oBias,
                optInt(root, "max_position_embeddings", defaultMaxPos));
    }

    private static Rope.Llama3Scaling ropeScaling(JsonNode node, String field) {
        if (!node.isObject()) throw new InvalidInputException(field + " must be an object or null");
        String kind = present(node, "rope_type") ? text(node, "rope_type", field + ".rope_type")
                : present(node, "type") ? text(node, "type", field + ".type") : "default";
        return switch (kind) {
            case "default" -> null;
            case "llama3" -> new Rope.Llama3Scaling(number(node, "factor", field + ".factor"),
                    number(node, "low_freq_factor", field + ".low_freq_factor"),
                    number(node, "high_freq_factor", field + ".high_freq_factor"),
                    integer(node, "original_max_position_embeddings", field + ".original_max_position_embeddings"));
            default -> throw new InvalidInputException(field + " type \"" + kind
                    + "\" is not supported (supported: llama3, or none)");
        };
    }

    /** This configuration as a Hugging Face config.json object (what {@link #parse} reads back). */
    public ObjectNode toJson() {
        ObjectNode o = JSON.createObjectNode();
        o.putArray("architectures").add(switch (modelType) {
            case "mistral" -> "MistralForCausalLM";
            case "qwen2" -> "Qwen2ForCausalLM";
            default -> "LlamaForCausalLM";
        });
        o.put("model_type", modelType);
        o.put("vocab_size", vocabSize);
        o.put("hidden_size", hiddenSize);
        o.put("intermediate_size", intermediateSize);
        o.put("num_hidden_layers", numLayers);
        o.put("num_attention_heads", numHeads);
        o.put("num_key_value_heads", numKvHeads);
        o.put("head_dim", headDim);
        o.put("hidden_act", "silu");
        o.put("rms_norm_eps", rmsNormEps);
        o.put("rope_theta", ropeTheta);
        if (ropeScaling == null) {
            o.putNull("rope_scaling");
        } else {
            ObjectNode s = o.putObject("rope_scaling");
            s.put("rope_type", "llama3");
            s.put("factor", ropeScaling.factor());
            s.put("low_freq_factor", ropeScaling.lowFreqFactor());
            s.put("high_freq_factor", ropeScaling.highFreqFactor());
            s.put("original_max_position_embeddings", ropeScaling.originalMaxPositions());
        }
        o.put("tie_word_embeddings", tieWordEmbeddings);
        if (modelType.equals("llama")) o.put("attention_bias", qkvBias);
        o.put("max_position_embeddings", maxPositionEmbeddings);
        o.put("torch_dtype", "float32");
        return o;
    }

    private static void positive(String field, int value) {
        if (value < 1) throw new InvalidInputException(field + " must be >= 1, got " + value);
    }

    private static boolean present(JsonNode o, String field) {
        return o.has(field) && !o.get(field).isNull();
    }

    private static String text(JsonNode o, String field) {
        return text(o, field, field);
    }

    private static String text(JsonNode o, String field, String label) {
        JsonNode v = o.get(field);
        if (v == null || v.isNull()) throw new InvalidInputException("missing field " + label);
        if (!v.isTextual()) throw new InvalidInputException("field " + label + " must be a string, got " + v);
        return v.asText();
    }

    private static String optText(JsonNode o, String field, String dflt) {
        return present(o, field) ? text(o, field) : dflt;
    }

    private static int integer(JsonNode o, String field) {
        return integer(o, field, field);
    }

    private static int integer(JsonNode o, String field, String label) {
        JsonNode v = o.get(field);
        if (v == null || v.isNull()) throw new InvalidInputException("missing field " + label);
        if (!v.isIntegralNumber() || !v.canConvertToInt()) {
            throw new InvalidInputException("field " + label + " must be an integer, got " + v);
        }
        return v.intValue();
    }

    private static int optInt(JsonNode o, String field, int dflt) {
        return present(o, field) ? integer(o, field) : dflt;
    }

    private static double number(JsonNode o, String field) {
        return number(o, field, field);
    }

    private static double number(JsonNode o, String field, String label) {
        JsonNode v = o.get(field);
        if (v == null || v.isNull()) throw new InvalidInputException("missing field " + label);
        if (!v.isNumber()) throw new InvalidInputException("field " + label + " must be a number, got " + v);
        return v.doubleValue();
    }

    private static double optNumber(JsonNode o, String field, double dflt) {
        return present(o, field) ? number(o, field) : dflt;
    }

    private static boolean optBool(JsonNode o, String field, boolean dflt) {
        if (!present(o, field)) return dflt;
        JsonNode v = o.get(field);
        if (!v.isBoolean()) throw new InvalidInputException("field " + field + " must be true or false, got " + v);
        return v.booleanValue();
    }
}
