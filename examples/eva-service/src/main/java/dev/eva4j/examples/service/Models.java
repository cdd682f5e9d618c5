package dev.eva4j.examples.service;

import dev.eva4j.models.TransformerModel;
import dev.eva4j.spi.ComputeBackend;
import dev.eva4j.spi.InvalidInputException;
import dev.eva4j.spi.LoadedModel;
import dev.eva4j.spi.ModelCapability;
import dev.eva4j.spi.ModelLoader;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CompletionException;

/**
 * Models loaded once per (path, compute backend) and shared by every job that names them. The models' forward passes
 * are synchronized per model, so concurrent jobs on one model take turns on its forward passes (their SVD steps still
 * overlap); jobs on different models run fully in parallel. A load that fails is forgotten, so a later job may try
 * again. Thread-safe.
 */
final class Models implements AutoCloseable {
    private final Map<String, CompletableFuture<TransformerModel>> loaded = new ConcurrentHashMap<>();

    /** The first available loader (best first) that supports {@code path}; the 422 check of a request. */
    static ModelLoader loaderFor(List<ModelLoader> loaders, Path path) {
        return loaders.stream().filter(ModelLoader::isAvailable).filter(l -> l.supports(path)).findFirst()
                .orElseThrow(() -> new InvalidInputException(path + ": no model loader understands this (a Hugging Face "
                        + "folder needs config.json and *.safetensors; an ONNX export a .onnx file)"));
    }

    TransformerModel get(Path path, ComputeBackend compute, List<ModelLoader> loaders) throws IOException {
        String key = compute.name() + "\u0000" + path;
        CompletableFuture<TransformerModel> mine = new CompletableFuture<>();
        CompletableFuture<TransformerModel> f = loaded.putIfAbsent(key, mine);
        if (f == null) { // this thread loads it; others wait for the same future
            try {
                mine.complete(load(path, compute, loaders));
            } catch (IOException | RuntimeException e) {
                loaded.remove(key, mine);
                mine.completeExceptionally(e);
            }
            f = mine;
        }
        try {
            return f.join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof IOException io) throw new IOException(io.getMessage(), io);
            if (e.getCause() instanceof RuntimeException r) throw r;
            throw e;
        }
    }

    private static TransformerModel load(Path path, ComputeBackend compute, List<ModelLoader> loaders) throws IOException {
        ModelLoader loader = loaderFor(loaders, path);
        LoadedModel model = loader.load(path, compute);
        TransformerModel tm = model.has(ModelCapability.ACTIVATION_HOOKS)
                ? model.as(TransformerModel.class).orElse(null) : null;
        if (tm == null) {
            model.close();
            throw new InvalidInputException(path + ": model type '" + model.modelType() + "' (loader " + loader.name()
                    + ") offers no forward pass with activation hooks, which EVA needs");
        }
        return tm;
    }

    @Override
    public void close() {
        for (CompletableFuture<TransformerModel> f : loaded.values()) {
            TransformerModel m = f.getNow(null);
            if (m != null) m.close();
        }
        loaded.clear();
    }
}
