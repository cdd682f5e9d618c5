package dev.eva4j.models.train;

import dev.eva4j.spi.InvalidInputException;

import dev.eva4j.api.eva.EvaConfig;
import dev.eva4j.api.eva.EvaEngine;
import dev.eva4j.api.eva.EvaResult;
import dev.eva4j.api.eva.LayerResult;
import dev.eva4j.api.eva.ProgressListener;
import dev.eva4j.models.LinearModule;
import dev.eva4j.models.Targets;
import dev.eva4j.models.TransformerModel;
import dev.eva4j.models.data.BatchReader;
import dev.eva4j.models.data.ModelActivationSource;
import dev.eva4j.models.nn.Lora;
import dev.eva4j.spi.RankAllocator;
import dev.eva4j.spi.SvdBackend;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * The EVA initialisation ({@link LoraInit#EVA}): A = EVA's components per layer, B = 0, with EVA's per-layer ranks
 * (rank_pattern) and, under adjusted scaling, alphas alpha_l = alpha * rank_l / r (alpha_pattern); layers EVA gives
 * rank 0 get no adapter. Either computed in-line on the training data ({@link #compute} then {@link #plan(
 * TransformerModel, LoraSettings, EvaResult)}), or read from an adapter folder written by {@code eva4j init}
 * ({@link #plan(TransformerModel, LoraSettings, Path)}). Either way the plan's {@link InitPlan#settings()} are the
 * adjusted settings the trainer builds, and later saves, its adapter with.
 */
public final class EvaInit {
    private EvaInit() {}

    /**
     * Runs EVA over the model's activations on {@code data} (consumed and closed) for the layers {@code settings}
     * targets, with rank {@code settings.r()} and alpha {@code settings.alpha()}; every other EVA setting (rho, tau,
     * whitening, adjusted scaling, steps, SVD mode and seed) comes from {@code options}.
     *
     * @throws IllegalArgumentException one line when the settings carry rank or alpha patterns (EVA chooses them), or
     *                                  the targets match nothing
     */
    public static EvaResult compute(TransformerModel model, LoraSettings settings, EvaConfig options, BatchReader data,
                                    SvdBackend svd, RankAllocator allocator, ProgressListener progress)
            throws IOException {
        try (data) {
            if (!settings.rankPattern().isEmpty() || !settings.alphaPattern().isEmpty()) {
                throw new InvalidInputException("EVA chooses every layer's rank and alpha: rank_pattern and "
                        + "alpha_pattern cannot be given with --init eva");
            }
            EvaConfig config = options.toBuilder().r(settings.r()).alpha(settings.alpha()).build();
            List<LinearModule> targets = Targets.select(model.linears(), settings.targets());
            try (ModelActivationSource source = new ModelActivationSource(model, targets, data)) {
                return new EvaEngine(config, svd, allocator).run(source, progress);
            }
        }
    }

    /**
     * The plan of an EVA result: r and alpha from {@code result.config()}, dropout and rsLoRA from {@code settings},
     * rank_pattern / alpha_pattern for the layers whose rank / alpha differ from r / alpha, targets the layers of
     * rank > 0.
     *
     * @throws IllegalArgumentException one line when a layer is not a linear layer of {@code model} (or has other
     *                                  dimensions), or every layer has rank 0
     */
    public static InitPlan plan(TransformerModel model, LoraSettings settings, EvaResult result) {
        Map<String, LinearModule> linears = byPath(model);
        Map<String, Integer> ranks = new LinkedHashMap<>();
        Map<String, Double> alphas = new LinkedHashMap<>();
        Map<String, InitialAdapter.Factors> given = new LinkedHashMap<>();
        EvaConfig c = result.config();
        for (LayerResult l : result.layers()) {
            String path = l.layer().module();
            requireLinear(linears, path, l.layer().inFeatures(), l.layer().outFeatures(), "EVA result");
            if (l.rank() == 0) continue;
            if (l.rank() != c.r()) ranks.put(path, l.rank());
            if (l.alpha() != c.alpha()) alphas.put(path, l.alpha());
            given.put(path, new InitialAdapter.Factors(l.a(), null));
        }
        if (given.isEmpty()) throw new InvalidInputException("EVA gave every layer rank 0: there is no adapter to train");
        LoraSettings adjusted = new LoraSettings(c.r(), c.alpha(), settings.dropout(), settings.rslora(),
                String.join(",", given.keySet()), ranks, alphas);
        return plan(model, adjusted, given, "EVA result");
    }

    /**
     * The plan of an adapter folder written by {@code eva4j init} (or any PEFT LoRA folder: its lora_B, if not zero,
     * is kept too): r, alpha, rank_pattern, alpha_pattern and rsLoRA from its {@code adapter_config.json}, the
     * modules and their A from {@code adapter_model.safetensors}; dropout from {@code settings}.
     *
     * @throws java.nio.file.NoSuchFileException when the folder or one of its files is missing
     * @throws IllegalArgumentException          one line naming the folder and the module that does not fit the
     *                                           model or its config
     */
    public static InitPlan plan(TransformerModel model, LoraSettings settings, Path adapterDir) throws IOException {
        EvaAdapterFolder f = EvaAdapterFolder.read(adapterDir);
        Map<String, LinearModule> linears = byPath(model);
        String where = "adapter " + adapterDir;
        for (String path : f.a().keySet()) {
            if (!linears.containsKey(path)) {
                throw new InvalidInputException(where + " adapts " + path + ", which is not a linear layer of this "
                        + "model (e.g. " + model.linears().stream().limit(2).map(LinearModule::path).toList() + ")");
            }
        }
        LoraSettings adjusted;
        try {
            adjusted = new LoraSettings(f.r(), f.alpha(), settings.dropout(), f.rslora(),
                    String.join(",", f.a().keySet()), f.rankPattern(), f.alphaPattern());
        } catch (InvalidInputException e) {
            throw new InvalidInputException(where + ": " + e.getMessage(), e);
        }
        Map<String, InitialAdapter.Factors> given = new LinkedHashMap<>();
        for (var e : f.a().entrySet()) {
            String path = e.getKey();
            LinearModule l = linears.get(path);
            EvaAdapterFolder.Tensor a = e.getValue(), b = f.b().get(path);
            int rank = adjusted.rankOf(path);
            if (a.rows() != rank || a.cols() != l.inFeatures()) {
                throw new InvalidInputException(where + ": " + path + ".lora_A is [" + a.rows() + ", " + a.cols()
                        + "], expected [" + rank + ", " + l.inFeatures() + "] (rank from adapter_config.json, in "
                        + "features from the model)");
            }
            if (b != null && (b.rows() != l.outFeatures() || b.cols() != rank)) {
                throw new InvalidInputException(where + ": " + path + ".lora_B is [" + b.rows() + ", " + b.cols()
                        + "], expected [" + l.outFeatures() + ", " + rank + "]");
            }
            given.put(path, new InitialAdapter.Factors(a.values(), b == null ? null : b.values()));
        }
        return plan(model, adjusted, given, where);
    }

    private static InitPlan plan(TransformerModel model, LoraSettings adjusted, Map<String, InitialAdapter.Factors> given,
                                 String where) {
        List<Lora.Module> modules;
        try {
            modules = adjusted.modules(model.linears());
        } catch (InvalidInputException e) {
            throw new InvalidInputException(where + ": " + e.getMessage(), e);
        }
        List<String> missing = new ArrayList<>();
        for (Lora.Module m : modules) if (!given.containsKey(m.path())) missing.add(m.path());
        if (!missing.isEmpty()) throw new IllegalStateException(where + ": no components for " + missing);
        return new InitPlan(LoraInit.EVA, model, adjusted, modules, 0, null, given);
    }

    private static Map<String, LinearModule> byPath(TransformerModel model) {
        return model.linears().stream().collect(Collectors.toMap(LinearModule::path, Function.identity(),
                (x, y) -> x, LinkedHashMap::new));
    }

    private static void requireLinear(Map<String, LinearModule> linears, String path, int in, int out, String where) {
        LinearModule l = linears.get(path);
        if (l == null) throw new InvalidInputException(where + ": " + path + " is not a linear layer of this model");
        if (l.inFeatures() != in || l.outFeatures() != out) {
            throw new InvalidInputException(where + ": " + path + " is " + out + " x " + in + ", the model's layer "
                    + l.outFeatures() + " x " + l.inFeatures());
        }
    }
}
