package dev.eva4j.models.data;

import dev.eva4j.models.tokenizer.EncodedBatch;
import dev.eva4j.models.tokenizer.HfTokenizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** A Hugging Face tokenizer as a {@link TextEncoder}: each text's ids up to its last real token. */
public final class HfTextEncoder implements TextEncoder {
    private final HfTokenizer tokenizer;

    public HfTextEncoder(HfTokenizer tokenizer) {
        this.tokenizer = tokenizer;
    }

    @Override
    public List<int[]> encode(List<String> texts, int maxLength) {
        EncodedBatch e = tokenizer.encode(texts); // truncated by the tokenizer (special tokens kept), right-padded
        List<int[]> out = new ArrayList<>(texts.size());
        for (int b = 0; b < e.batchSize(); b++) {
            int n = 0;
            for (int i = 0; i < e.seqLen(); i++) if (e.attentionMask()[b * e.seqLen() + i] != 0) n = i + 1;
            out.add(Arrays.copyOfRange(e.inputIds(), b * e.seqLen(), b * e.seqLen() + Math.min(n, maxLength)));
        }
        return out;
    }

    @Override
    public int padId() {
        return tokenizer.padId();
    }
}
