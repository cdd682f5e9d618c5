package dev.eva4j.models;

/**
 * One batch of token sequences, right-padded to {@code seqLen}: B = batchSize, T = seqLen, arrays are B*T row-major.
 *
 * @param inputIds      token ids [B, T]
 * @param attentionMask 1 for real tokens, 0 for padding [B, T]
 * @param labels        per-position labels [B, T] or null (causal LM: the token ids with -100 where ignored)
 * @param tokenMask     1 where a position's activations count for EVA (real token, and label != label_mask_value
 *                      when label masking is on), else 0 [B, T]
 * @param classLabels   one class label per sequence [B] (sequence classification), or null
 */
public record Batch(int batchSize, int seqLen, int[] inputIds, int[] attentionMask, int[] labels, byte[] tokenMask,
                    int[] classLabels) {
    /** A batch without class labels. */
    public Batch(int batchSize, int seqLen, int[] inputIds, int[] attentionMask, int[] labels, byte[] tokenMask) {
        this(batchSize, seqLen, inputIds, attentionMask, labels, tokenMask, null);
    }

    public Batch {
        if (classLabels != null && classLabels.length != batchSize) {
            throw new IllegalArgumentException("classLabels must hold B = " + batchSize + " values");
        }
        int n = Math.multiplyExact(batchSize, seqLen);
        if (batchSize < 1 || seqLen < 1) throw new IllegalArgumentException("batch must be at least 1 x 1");
        if (inputIds.length != n) throw new IllegalArgumentException("inputIds must hold B*T = " + n + " ids");
        if (attentionMask.length != n) throw new IllegalArgumentException("attentionMask must hold B*T = " + n + " values");
        if (labels != null && labels.length != n) throw new IllegalArgumentException("labels must hold B*T = " + n + " values");
        if (tokenMask.length != n) throw new IllegalArgumentException("tokenMask must hold B*T = " + n + " values");
    }

    /** A batch whose EVA mask is the attention mask (no labels). */
    public static Batch of(int batchSize, int seqLen, int[] inputIds, int[] attentionMask) {
        byte[] mask = new byte[attentionMask.length];
        for (int i = 0; i < mask.length; i++) mask[i] = (byte) (attentionMask[i] != 0 ? 1 : 0);
        return new Batch(batchSize, seqLen, inputIds, attentionMask, null, mask);
    }

    /**
     * Checks that every token id is in [0, vocabSize) (a pre-tokenised record may hold any number), and every label
     * that is not {@code ignoreLabel} too when {@code checkLabels}.
     *
     * @throws dev.eva4j.spi.InvalidInputException naming the first id out of range
     */
    public void requireIdsBelow(int vocabSize, boolean checkLabels, int ignoreLabel) {
        for (int i = 0; i < inputIds.length; i++) {
            if (inputIds[i] < 0 || inputIds[i] >= vocabSize) {
                throw new dev.eva4j.spi.InvalidInputException("token id " + inputIds[i] + " (record " + (i / seqLen + 1)
                        + " of the batch, position " + i % seqLen + ") is outside the model's vocabulary [0, "
                        + vocabSize + ")");
            }
            if (checkLabels && labels != null && labels[i] != ignoreLabel && (labels[i] < 0 || labels[i] >= vocabSize)) {
                throw new dev.eva4j.spi.InvalidInputException("label " + labels[i] + " (record " + (i / seqLen + 1)
                        + " of the batch, position " + i % seqLen + ") is neither " + ignoreLabel
                        + " nor a token id of the model's vocabulary [0, " + vocabSize + ")");
            }
        }
    }

    public int tokens() {
        return batchSize * seqLen;
    }
}
