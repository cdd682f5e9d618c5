package dev.eva4j.spark;

import com.google.inject.Guice;
import com.google.inject.Injector;
import com.google.inject.ProvisionException;
import dev.eva4j.api.providers.Eva4jModule;
import dev.eva4j.api.providers.ProviderRegistry;
import dev.eva4j.api.providers.ProviderSelectionException;
import dev.eva4j.models.LinearModule;
import dev.eva4j.models.Targets;
import dev.eva4j.models.TransformerModel;
import dev.eva4j.models.tokenizer.HfTokenizer;
import dev.eva4j.spi.ComputeBackend;
import dev.eva4j.spi.InvalidInputException;
import dev.eva4j.spi.LoadedModel;
import dev.eva4j.spi.ModelCapability;
import dev.eva4j.spi.ModelLoader;
import dev.eva4j.spi.SvdBackend;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What one executor JVM holds for distributed EVA: the providers of a backend choice, and each model loaded once per
 * (path, tokenizer, backend) from a path the executor reads itself: never broadcast. Tasks of the same executor share
 * them: a model's forward passes are synchronised (concurrent tasks take turns on them), the SVD backends are
 * thread-safe. They live as long as the JVM.
 */
final class Workers {
    private static final Map<List<String>, Wiring> WIRINGS = new ConcurrentHashMap<>();
    private static final Map<List<Object>, Loaded> MODELS = new ConcurrentHashMap<>();

    private Workers() {}

    /** The providers of one backend choice. */
    record Wiring(ComputeBackend compute, SvdBackend svd, List<ModelLoader> loaders) {}

    /** A loaded model, its targets and its tokenizer (null: pre-tokenised data only). */
    record Loaded(TransformerModel model, List<LinearModule> targets, HfTokenizer tokenizer) {}

    static Wiring wiring(String backend, String svdBackend) {
        return WIRINGS.computeIfAbsent(java.util.Arrays.asList(backend, svdBackend), k -> {
            Injector injector = Guice.createInjector(Eva4jModule.builder().classLoader(Workers.class.getClassLoader())
                    .backend(backend).svdBackend(svdBackend).build());
            try {
                ProviderRegistry registry = injector.getInstance(ProviderRegistry.class);
                return new Wiring(injector.getInstance(ComputeBackend.class), injector.getInstance(SvdBackend.class),
                        registry.all(ModelLoader.class));
            } catch (ProvisionException e) {
                for (Throwable c = e.getCause(); c != null; c = c.getCause()) {
                    if (c instanceof ProviderSelectionException p) throw p;
                }
                throw e;
            }
        });
    }

    static SvdBackend svd(SparkEvaSpec spec) {
        return wiring(spec.backend(), spec.svdBackend()).svd();
    }

    static Loaded model(SparkEvaSpec spec) {
        List<Object> key = java.util.Arrays.asList(spec.model(), spec.tokenizer(), spec.backend(), spec.svdBackend(),
                spec.targets(), spec.maxLength());
        try {
            return MODELS.computeIfAbsent(key, k -> {
                try {
                    return load(spec);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        } catch (UncheckedIOException e) {
            Throwable c = e.getCause();
            throw c instanceof java.nio.file.NoSuchFileException n
                    ? new InvalidInputException("no such file on executor " + host() + ": " + n.getFile()
                            + " (every executor reads the model and its tokenizer at that path)")
                    : new InvalidInputException("cannot load the model on executor " + host() + ": " + c.getMessage(), c);
        }
    }

    private static Loaded load(SparkEvaSpec spec) throws IOException {
        Wiring w = wiring(spec.backend(), spec.svdBackend());
        Path path = Path.of(spec.model());
        if (!Files.exists(path)) throw new java.nio.file.NoSuchFileException(path.toString());
        ModelLoader loader = w.loaders().stream().filter(ModelLoader::isAvailable).filter(l -> l.supports(path)).findFirst()
                .orElseThrow(() -> new InvalidInputException(path + ": no model loader understands this (a Hugging Face "
                        + "folder needs config.json and *.safetensors; an ONNX export a .onnx file)"));
        LoadedModel loaded = loader.load(path, w.compute());
        TransformerModel tm = loaded.has(ModelCapability.ACTIVATION_HOOKS)
                ? loaded.as(TransformerModel.class).orElse(null) : null;
        if (tm == null) {
            loaded.close();
            throw new InvalidInputException(path + ": model type '" + loaded.modelType() + "' offers no forward pass "
                    + "with activation hooks, which EVA needs");
        }
        try {
            List<LinearModule> targets = Targets.select(tm.linears(), spec.targets());
            Path tok = spec.tokenizer() != null ? Path.of(spec.tokenizer()) : HfTokenizer.find(path);
            if (tok != null && !Files.isRegularFile(tok)) throw new java.nio.file.NoSuchFileException(tok.toString());
            HfTokenizer tokenizer = tok == null ? null : HfTokenizer.load(tok, Math.max(2, spec.maxLength()));
            return new Loaded(tm, targets, tokenizer);
        } catch (IOException | RuntimeException e) {
            tm.close();
            throw e;
        }
    }

    static String host() {
        try {
            return Objects.requireNonNullElse(java.net.InetAddress.getLocalHost().getHostName(), "?");
        } catch (IOException e) {
            return "?";
        }
    }
}
