package dev.eva4j.models.tokenizer;

import dev.eva4j.models.Batch;

/**
 * Token ids of a batch of texts, right-padded to a common length: B = batchSize, T = seqLen, arrays B*T row-major.
 *
 * @param inputIds      token ids, the pad id after each text's end [B, T]
 * @param attentionMask 1 for real tokens (special tokens included), 0 for padding [B, T]
 * @param tokenTypeIds  segment ids (0 for single texts) [B, T]
 * @param lengths       number of real tokens of each text [B]
 * @param truncated     whether each text was cut to the maximum length [B]
 */
public record EncodedBatch(int batchSize, int seqLen, int[] inputIds, int[] attentionMask, int[] tokenTypeIds,
        int[] lengths, boolean[] truncated) {

    /** The batch for a forward pass; its EVA token mask is the attention mask. */
    public Batch toBatch() {
        return Batch.of(batchSize, seqLen, inputIds, attentionMask);
    }
}
