package dev.eva4j.spi;

import java.util.List;

/** A model in memory, as far as the SPI needs to know it. Architectures live in eva4j-models. */
public interface LoadedModel extends AutoCloseable {

    /** config.json's {@code model_type} ("llama", "bert", ...). */
    String modelType();

    /** Module paths of the linear layers EVA may target, in forward order ("model.layers.0.self_attn.q_proj"). */
    List<String> linearModules();

    /** What this model can do (EVA's activation hooks, LoRA training, a causal-LM head). */
    default java.util.Set<ModelCapability> capabilities() {
        return java.util.Set.of();
    }

    default boolean has(ModelCapability capability) {
        return capabilities().contains(capability);
    }

    /**
     * This model seen through the API that offers its capabilities (e.g. eva4j-models' {@code TransformerModel}),
     * or empty when it does not implement it.
     */
    default <T> java.util.Optional<T> as(Class<T> api) {
        return api.isInstance(this) ? java.util.Optional.of(api.cast(this)) : java.util.Optional.empty();
    }

    @Override
    void close();
}
