package dev.eva4j.models.hf;

import dev.eva4j.models.TransformerModel;
import dev.eva4j.models.bert.BertModel;
import dev.eva4j.spi.ComputeBackend;
import java.io.IOException;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;

/** The architectures the {@code hf} loader knows, keyed by config.json's {@code model_type}. */
public final class HfArchitectures {

    /** Builds a model from an open folder; the model copies what it needs, the caller closes the folder. */
    @FunctionalInterface
    public interface Factory {
        TransformerModel load(HfFolder folder, ComputeBackend backend) throws IOException;
    }

    private static final Map<String, Factory> FACTORIES = new ConcurrentHashMap<>(Map.of(
            "bert", BertModel::load
            // Llama family (dev.eva4j.models.llama.LlamaModel::load): "llama", "mistral", "qwen2"
    ));

    private HfArchitectures() {}

    /** The factory for {@code modelType}, or empty. */
    public static Optional<Factory> find(String modelType) {
        return Optional.ofNullable(FACTORIES.get(modelType));
    }

    /** Adds or replaces the factory for {@code modelType}. */
    public static void register(String modelType, Factory factory) {
        FACTORIES.put(modelType, factory);
    }

    /** The known model types, sorted. */
    public static Set<String> modelTypes() {
        return new TreeSet<>(FACTORIES.keySet());
    }
}
