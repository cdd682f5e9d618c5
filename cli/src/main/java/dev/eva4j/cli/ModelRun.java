package dev.eva4j.cli;

import dev.eva4j.api.eva.EvaConfig;
import dev.eva4j.models.LinearModule;
import dev.eva4j.models.Targets;
import dev.eva4j.models.TransformerModel;
import dev.eva4j.models.data.BatchReader;
import dev.eva4j.models.data.HfTextEncoder;
import dev.eva4j.models.data.ModelActivationSource;
import dev.eva4j.models.tokenizer.HfTokenizer;
import dev.eva4j.spi.ComputeBackend;
import dev.eva4j.spi.LoadedModel;
import dev.eva4j.spi.ModelCapability;
import dev.eva4j.spi.ModelLoader;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Collection;
import java.util.List;

/** A model loaded for EVA: the compute backend, the model (chosen loader by {@code supports}) and its tokenizer. */
final class ModelRun implements AutoCloseable {
    private final ComputeBackend compute;
    private final TransformerModel model;
    private final Path tokenizerFile; // null: pre-tokenised data only
    private HfTokenizer tokenizer;

    private ModelRun(ComputeBackend compute, TransformerModel model, Path tokenizerFile) {
        this.compute = compute;
        this.model = model;
        this.tokenizerFile = tokenizerFile;
    }

    /**
     * Loads {@code path} onto {@code compute} with the first available loader (best first) that supports it.
     */
    static ModelRun open(ComputeBackend compute, Collection<ModelLoader> loaders, Path path, Path tokenizerFile)
            throws IOException {
        if (!Files.exists(path)) throw new NoSuchFileException(path.toString());
        ModelLoader loader = loaders.stream().filter(ModelLoader::isAvailable)
                .filter(l -> l.supports(path)).findFirst().orElseThrow(() -> new UserException(path
                        + ": no model loader understands this (a Hugging Face folder needs config.json and"
                        + " *.safetensors; an ONNX export a .onnx file)"));
        LoadedModel loaded = loader.load(path, compute);
        TransformerModel tm = loaded.has(ModelCapability.ACTIVATION_HOOKS)
                ? loaded.as(TransformerModel.class).orElse(null) : null;
        if (tm == null) {
            loaded.close();
            throw new UserException(path + ": model type '" + loaded.modelType() + "' (loader " + loader.name()
                    + ") offers no forward pass with activation hooks, which EVA needs");
        }
        if (tokenizerFile != null && !Files.isRegularFile(tokenizerFile)) {
            tm.close();
            throw new NoSuchFileException(tokenizerFile.toString());
        }
        return new ModelRun(compute, tm, tokenizerFile != null ? tokenizerFile : HfTokenizer.find(path));
    }

    TransformerModel model() {
        return model;
    }

    ComputeBackend compute() {
        return compute;
    }

    /** The model's tokenizer as a text encoder (loaded on first use), or null when the model has none. */
    HfTextEncoder encoder(int maxLength) throws IOException {
        if (tokenizerFile == null) return null;
        if (tokenizer == null) tokenizer = HfTokenizer.load(tokenizerFile, Math.max(2, maxLength));
        return new HfTextEncoder(tokenizer);
    }

    ModelActivationSource source(Path data, String targetSpec, int batchSize, int maxLength, EvaConfig config,
                                 Long shuffleSeed) throws IOException {
        List<LinearModule> targets = Targets.select(model.linears(), targetSpec);
        if (tokenizerFile != null && tokenizer == null) tokenizer = HfTokenizer.load(tokenizerFile, Math.max(2, maxLength));
        BatchReader reader = new BatchReader(data, tokenizer == null ? null : new HfTextEncoder(tokenizer), batchSize,
                maxLength, config.useLabelMask(), config.labelMaskValue(), shuffleSeed);
        return new ModelActivationSource(model, targets, reader);
    }

    @Override
    public void close() {
        if (tokenizer != null) tokenizer.close();
        model.close();
    }
}
