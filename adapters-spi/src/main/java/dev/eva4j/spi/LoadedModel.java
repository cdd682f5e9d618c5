package dev.eva4j.spi;

import java.util.List;

/** A model in memory, as far as the SPI needs to know it. Architectures live in eva4j-models. */
public interface LoadedModel extends AutoCloseable {

    /** config.json's {@code model_type} ("llama", "bert", ...). */
    String modelType();

    /** Module paths of the linear layers EVA may target, in forward order ("model.layers.0.self_attn.q_proj"). */
    List<String> linearModules();

    @Override
    void close();
}
