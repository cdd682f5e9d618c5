package dev.eva4j.models;

import dev.eva4j.models.nn.Lora;
import dev.eva4j.models.nn.TrainingPass;
import dev.eva4j.spi.ActivationHook;
import dev.eva4j.spi.Kernels;
import dev.eva4j.spi.LoadedModel;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Set;

/**
 * A transformer whose weights live in a backend's memory (one block, uploaded at load) and that computes only
 * through that backend's {@link Kernels}, so the same code runs on every backend. Two modes: inference
 * ({@link #forward}: activations allocated once per batch shape and reused, nothing kept, hooks for EVA) and training
 * ({@link #train}: per-layer activations kept for the backward pass, LoRA adapters on chosen linear layers).
 * Implementations: BERT family ({@code dev.eva4j.models.bert}) and Llama family ({@code dev.eva4j.models.llama}).
 */
public interface TransformerModel extends LoadedModel {

    @Override
    default java.util.Set<dev.eva4j.spi.ModelCapability> capabilities() {
        return java.util.EnumSet.of(dev.eva4j.spi.ModelCapability.ACTIVATION_HOOKS,
                dev.eva4j.spi.ModelCapability.LORA_TRAINING);
    }

    /**
     * The base model's parameters in backend memory (Hugging Face names, e.g. {@code <module path>.weight} of every
     * linear layer, [out, in]): read them, or overwrite them to merge an adapter or to keep PiSSA's residual.
     */
    dev.eva4j.models.nn.ParameterBlock parameters();

    /** The backend's kernels that hold the weights. */
    Kernels kernels();

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
     * Inference: runs the model over a batch and returns the last hidden state [B, T, C] as float32 host memory
     * allocated from {@code arena}. Before each linear layer whose path is in {@code hooked} runs, calls
     * {@code hook.onInput(path, x, B*T, inFeatures, tokenMask)} with its input x [B*T, in] (a backend buffer) and the
     * batch's token mask; both are valid only during the call. Members of an equal-input group are reported once each
     * (the same x). Calls are serialised per model (the workspace is shared).
     */
    MemorySegment forward(Batch batch, Arena arena, Set<String> hooked, ActivationHook hook);

    /**
     * Inference for activation collection only (EVA): calls {@code hook} exactly as
     * {@link #forward(Batch, Arena, Set, ActivationHook)} does, but runs the model only as far as the hooks need: it
     * stops right after the last linear layer in {@code hooked} has been reported, so hooking layer 0 alone costs part
     * of one layer instead of the whole model. The layers it does run compute exactly what a full pass computes.
     * Paths in {@code hooked} that are not linear layers of this model are ignored; with none left, nothing runs.
     */
    void collect(Batch batch, Set<String> hooked, ActivationHook hook);

    /** Inference with LoRA adapters applied (null: none; no dropout); otherwise as {@link #forward(Batch, Arena, Set, ActivationHook)}. */
    MemorySegment forward(Batch batch, Lora lora, Arena arena);

    /**
     * Inference with LoRA adapters (null: none; no dropout, nothing kept for a backward pass): the last hidden state
     * [B*T, C] in the backend's memory, valid until this model's next inference call.
     */
    dev.eva4j.spi.Buffer hidden(Batch batch, Lora lora);

    /**
     * Training: a forward pass with {@code lora} (may be null) that keeps what {@link TrainingPass#backward} needs.
     * The pass is reused by the next call with the same shape.
     */
    TrainingPass train(Batch batch, Lora lora);
}
