package dev.eva4j.models.data;

import java.util.List;

/** Turns texts into token ids (a tokenizer), truncating each to {@code maxLength} tokens. */
public interface TextEncoder {

    /** Per text its token ids (with the model's special tokens), at most {@code maxLength} of them. */
    List<int[]> encode(List<String> texts, int maxLength);

    /** The id used for padding. */
    int padId();
}
