package dev.eva4j.models.data;

/**
 * One JSONL record: either raw {@code text} (optionally with a classification {@code label}) or pre-tokenised
 * {@code inputIds} (with optional {@code attentionMask} and per-token {@code labels}).
 */
public record Example(long line, String text, Integer label, int[] inputIds, int[] attentionMask, int[] labels) {
    public boolean tokenized() {
        return inputIds != null;
    }
}
