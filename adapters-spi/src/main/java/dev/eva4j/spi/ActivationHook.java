package dev.eva4j.spi;

import java.lang.foreign.MemorySegment;

/**
 * Called with the input of each target linear layer before it runs (a plain callback that a caller passes to a
 * model's forward pass, not a discovered provider). {@code x} holds {@code tokens} row-major rows of {@code dIn}
 * values in the backend's float type; {@code tokenMask} (host memory) holds one byte per row, non-zero where the row
 * is a real token that counts (padding and label-masked positions are 0). Both are valid only during the call: read
 * them through {@code x.owner()} ({@link Kernels#hostSegment} on host backends, {@link Kernels#download} anywhere).
 */
@FunctionalInterface
public interface ActivationHook {

    void onInput(String module, Buffer x, int tokens, int dIn, MemorySegment tokenMask);
}
