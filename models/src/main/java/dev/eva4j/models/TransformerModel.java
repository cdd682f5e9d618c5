package dev.eva4j.models;

import dev.eva4j.spi.ActivationHook;
import dev.eva4j.spi.LoadedModel;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Set;

/**
 * A transformer in memory with a forward pass that can report the inputs of its linear layers. Implementations:
 * BERT family ({@code dev.eva4j.models.bert}) and Llama family ({@code dev.eva4j.models.llama}).
 */
public interface TransformerModel extends LoadedModel {

    /** Hidden size C. */
    int hiddenSize();

    /** Every linear layer of the transformer blocks, in forward order (EVA's default targets). */
    List<LinearModule> linears();

    @Override
    default List<String> linearModules() {
        return linears().stream().map(LinearModule::path).toList();
    }

    /** Linear layers that read the same input tensor (q/k/v of an attention block; gate/up of an MLP). */
    List<List<String>> equalInputGroups();

    /**
     * Runs the model over a batch and returns the last hidden state [B, T, C] float32, allocated from {@code arena}.
     * Before each linear layer whose path is in {@code hooked} runs, calls
     * {@code hook.onInput(path, x, B*T, inFeatures, tokenMask)} with its input x [B*T, in] and the batch's token mask
     * (one byte per position); the segments are valid only during the call. Members of an equal-input group are
     * reported once each (the same x).
     */
    MemorySegment forward(Batch batch, Arena arena, Set<String> hooked, ActivationHook hook);
}
