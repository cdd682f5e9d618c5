package dev.eva4j.api.providers;

import dev.eva4j.spi.ComputeBackend;
import dev.eva4j.spi.ModelLoader;
import dev.eva4j.spi.Provider;
import dev.eva4j.spi.RankAllocator;
import dev.eva4j.spi.SvdBackend;
import java.util.Locale;

/**
 * The kinds of plug-in eva4j discovers, each with the names a user overrides its choice by: the system property
 * {@code eva4j.<key>} and the environment variable {@code EVA4J_<KEY>} (for compute: {@code eva4j.backend},
 * {@code EVA4J_BACKEND}).
 */
public enum ProviderKind {
    COMPUTE(ComputeBackend.class, "backend", "compute backend"),
    SVD(SvdBackend.class, "svd-backend", "SVD backend"),
    RANK_ALLOCATOR(RankAllocator.class, "rank-allocator", "rank allocator"),
    MODEL_LOADER(ModelLoader.class, "model-loader", "model loader");

    private final Class<? extends Provider> type;
    private final String key;
    private final String label;

    ProviderKind(Class<? extends Provider> type, String key, String label) {
        this.type = type;
        this.key = key;
        this.label = label;
    }

    public Class<? extends Provider> type() {
        return type;
    }

    /** A person's name for the kind ("compute backend"). */
    public String label() {
        return label;
    }

    /** System property that names the provider to use. */
    public String systemProperty() {
        return "eva4j." + key;
    }

    /** Environment variable that names the provider to use. */
    public String environmentVariable() {
        return "EVA4J_" + key.toUpperCase(Locale.ROOT).replace('-', '_');
    }
}
