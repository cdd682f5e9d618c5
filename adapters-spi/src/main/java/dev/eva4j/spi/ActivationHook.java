package dev.eva4j.spi;

import java.lang.foreign.MemorySegment;

/**
 * Called with the input of each target linear layer before it runs. {@code x} holds {@code tokens} row-major
 * float32 rows of {@code dIn} values; {@code tokenMask} holds one byte per row, non-zero where the row is a real token
 * that counts (padding and label-masked positions are 0). The segments are valid only during the call.
 */
public interface ActivationHook extends Provider {

    void onInput(String module, MemorySegment x, int tokens, int dIn, MemorySegment tokenMask);
}
