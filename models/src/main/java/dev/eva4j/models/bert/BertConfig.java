package dev.eva4j.models.bert;

import dev.eva4j.spi.InvalidInputException;

import com.fasterxml.jackson.databind.JsonNode;
import dev.eva4j.models.hf.ConfigJson;

/**
 * A BERT encoder's hyper-parameters, as in Hugging Face's config.json. Absent optional fields take Hugging Face's
 * defaults: type_vocab_size 2, layer_norm_eps 1e-12, hidden_act "gelu" (the only activation supported: exact erf).
 */
public record BertConfig(int vocabSize, int hiddenSize, int numLayers, int numHeads, int intermediateSize,
                         int maxPositions, int typeVocabSize, double layerNormEps, String hiddenAct) {
    public BertConfig {
        requirePositive("vocab_size", vocabSize);
        requirePositive("hidden_size", hiddenSize);
        requirePositive("num_hidden_layers", numLayers);
        requirePositive("num_attention_heads", numHeads);
        requirePositive("intermediate_size", intermediateSize);
        requirePositive("max_position_embeddings", maxPositions);
        requirePositive("type_vocab_size", typeVocabSize);
        if (!(layerNormEps > 0)) throw new InvalidInputException("layer_norm_eps must be > 0, got " + layerNormEps);
        if (hiddenSize % numHeads != 0) {
            throw new InvalidInputException("hidden_size " + hiddenSize + " is not a multiple of num_attention_heads "
                    + numHeads);
        }
        if (!"gelu".equals(hiddenAct)) {
            throw new InvalidInputException("hidden_act \"" + hiddenAct + "\" is not supported (only \"gelu\")");
        }
    }

    /** A config with the defaults for the optional fields. */
    public static BertConfig of(int vocabSize, int hiddenSize, int numLayers, int numHeads, int intermediateSize,
                                int maxPositions) {
        return new BertConfig(vocabSize, hiddenSize, numLayers, numHeads, intermediateSize, maxPositions, 2, 1e-12, "gelu");
    }

    /**
     * Reads config.json's fields; {@code source} (the folder or file) heads every error message.
     *
     * @throws IllegalArgumentException one line naming the source and the missing or invalid field
     */
    public static BertConfig fromJson(JsonNode json, String source) {
        try {
            return new BertConfig(
                    ConfigJson.positiveInt(json, "vocab_size", source),
                    ConfigJson.positiveInt(json, "hidden_size", source),
                    ConfigJson.positiveInt(json, "num_hidden_layers", source),
                    ConfigJson.positiveInt(json, "num_attention_heads", source),
                    ConfigJson.positiveInt(json, "intermediate_size", source),
                    ConfigJson.positiveInt(json, "max_position_embeddings", source),
                    ConfigJson.positiveInt(json, "type_vocab_size", source, 2),
                    ConfigJson.positiveNumber(json, "layer_norm_eps", source, 1e-12),
                    ConfigJson.string(json, "hidden_act", source, "gelu"));
        } catch (IllegalArgumentException e) {
            String m = e.getMessage();
            throw new InvalidInputException(m.startsWith(source) ? m : source + ": config.json " + m);
        }
    }

    /** Head size HS = C / NH. */
    public int headSize() {
        return hiddenSize / numHeads;
    }

    private static void requirePositive(String field, int value) {
        if (value < 1) throw new InvalidInputException(field + " must be a positive integer, got " + value);
    }
}
