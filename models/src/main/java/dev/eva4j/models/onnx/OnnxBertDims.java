package dev.eva4j.models.onnx;

/**
 * The architecture numbers of a BERT encoder as read from an ONNX export (the equivalent of config.json's fields).
 *
 * @param vocabSize             rows of {@code embeddings.word_embeddings.weight}
 * @param hiddenSize            its columns
 * @param numHiddenLayers       number of {@code encoder.layer.N} blocks
 * @param numAttentionHeads     from the attention Reshape constants (see {@link OnnxBertImporter})
 * @param intermediateSize      length of {@code encoder.layer.0.intermediate.dense.bias}
 * @param maxPositionEmbeddings rows of {@code embeddings.position_embeddings.weight}
 * @param typeVocabSize         rows of {@code embeddings.token_type_embeddings.weight}
 * @param layerNormEps          the epsilon constant of the embeddings LayerNorm (1e-12 if not found)
 * @param hiddenAct             "gelu" (exact, erf) — the only activation the importer recognises
 */
public record OnnxBertDims(int vocabSize, int hiddenSize, int numHiddenLayers, int numAttentionHeads,
        int intermediateSize, int maxPositionEmbeddings, int typeVocabSize, double layerNormEps, String hiddenAct) {}
