package dev.eva4j.spi;

/** What a loaded model can do; asked with {@link LoadedModel#has} instead of testing its class. */
public enum ModelCapability {
    /** A forward pass that reports the inputs of its linear layers to an {@link ActivationHook} (EVA). */
    ACTIVATION_HOOKS,
    /** A training forward pass with LoRA adapters and its backward pass (fine-tuning). */
    LORA_TRAINING,
    /** A causal language-model head (next-token logits). */
    CAUSAL_LM
}
