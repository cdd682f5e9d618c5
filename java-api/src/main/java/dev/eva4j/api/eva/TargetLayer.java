package dev.eva4j.api.eva;

/**
 * A linear layer EVA initialises: its module path ("model.layers.0.self_attn.q_proj"), input features (columns of
 * lora_A) and output features (rows of lora_B).
 */
public record TargetLayer(String module, int inFeatures, int outFeatures) implements java.io.Serializable {
    public TargetLayer {
        if (module == null || module.isBlank()) throw new IllegalArgumentException("module path must not be empty");
        if (inFeatures < 1) throw new IllegalArgumentException(module + ": in_features must be >= 1, got " + inFeatures);
        if (outFeatures < 1) throw new IllegalArgumentException(module + ": out_features must be >= 1, got " + outFeatures);
    }
}
