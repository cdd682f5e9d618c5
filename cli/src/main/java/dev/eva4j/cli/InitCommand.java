package dev.eva4j.cli;

import dev.eva4j.api.eva.EvaConfig;
import dev.eva4j.api.eva.EvaEngine;
import dev.eva4j.api.eva.EvaResult;
import dev.eva4j.api.eva.LayerResult;
import dev.eva4j.api.eva.SafetensorsActivationSource;
import dev.eva4j.api.peft.PeftAdapterWriter;
import dev.eva4j.spi.ModelLoader;
import dev.eva4j.spi.RankAllocator;
import dev.eva4j.spi.SvdBackend;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code eva4j init}: an EVA-initialised LoRA adapter, today from activations produced elsewhere. */
@Command(name = "init", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Computes an EVA initialisation and writes a PEFT LoRA adapter folder "
                + "(adapter_config.json, adapter_model.safetensors, eva_report.json).",
                "--activations PATH: a safetensors file or a folder of them (one per batch, read in name order); each "
                        + "tensor is one layer's masked input rows [rows, d_in] named by module path (F32/F16/BF16). "
                        + "__metadata__ may carry eva4j.out_features (JSON: module -> out features) and eva4j.groups "
                        + "(JSON list of lists of modules sharing an input)."})
final class InitCommand implements Callable<Integer> {

    @Option(names = "--activations", paramLabel = "PATH", description = "activations produced elsewhere (see above)")
    Path activations;

    @Option(names = "--model", paramLabel = "PATH", description = "a Hugging Face model folder or an ONNX export")
    Path model;

    @Option(names = "--data", paramLabel = "FILE", description = "JSONL: {\"text\"}, {\"text\", \"label\"} or "
            + "{\"input_ids\", \"attention_mask\", \"labels\"} per line")
    Path data;

    @Option(names = "--tokenizer", paramLabel = "FILE", description = "tokenizer.json (default: the one in the model folder)")
    Path tokenizer;

    @Option(names = "--targets", description = "target modules as PEFT's target_modules: names (q_proj,v_proj), "
            + "re:REGEX, or all-linear (default)")
    String targets;

    @Option(names = "--batch-size", defaultValue = "16", description = "records per batch (default ${DEFAULT-VALUE})")
    int batchSize;

    @Option(names = "--max-length", defaultValue = "128", description = "tokens per record at most (default ${DEFAULT-VALUE})")
    int maxLength;

    @Option(names = "--backend", description = "compute backend of the forward passes and the SVDs (default: best "
            + "available; see eva4j backends)")
    String backendName;

    @Option(names = "--shuffle", description = "batches in a seeded random order (--seed), a new order every pass; "
            + "default: consecutive records in file order")
    boolean shuffle;

    @Option(names = "--no-label-mask", description = "count positions whose label is --label-mask-value too")
    boolean noLabelMask;

    @Option(names = "--label-mask-value", defaultValue = "-100", description = "with --model: positions whose "
            + "label (the records' \"labels\") equals this are left out of the activations, as PEFT's "
            + "label_mask_value (default ${DEFAULT-VALUE})")
    int labelMaskValue;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "adapter folder to write (replaced atomically)")
    Path out;

    @Option(names = {"--rank", "-r"}, defaultValue = "16", description = "LoRA rank per layer before redistribution (default ${DEFAULT-VALUE})")
    int rank;

    @Option(names = "--alpha", defaultValue = "8", description = "LoRA alpha (default ${DEFAULT-VALUE})")
    double alpha;

    @Option(names = "--rho", defaultValue = "2.0", description = ">= 1; components tracked per layer = round(r * rho) (default ${DEFAULT-VALUE})")
    double rho;

    @Option(names = "--tau", defaultValue = "0.99", description = "in [0, 1]; cosine similarity for convergence (default ${DEFAULT-VALUE})")
    double tau;

    @Option(names = "--whiten", description = "divide A's rows by sqrt(singular value)")
    boolean whiten;

    @Option(names = "--no-adjust-scaling", description = "keep alpha for every layer instead of alpha * rank / r")
    boolean noAdjustScaling;

    @Option(names = "--svd", defaultValue = "lowrank", description = "exact, lowrank or warm (default ${DEFAULT-VALUE}; "
            + "warm is cheaper per step but stops on a subspace biased toward its early estimates, see docs/eva.md)")
    String svdMode;

    @Option(names = "--precision", defaultValue = "float32", description = "float32 or float64: the stacked matrix and the "
            + "SVD in that precision (statistics are float64 either way; float64 doubles the step's memory) (default ${DEFAULT-VALUE})")
    String precision;

    @Option(names = "--max-steps", defaultValue = "1000", description = "cap on incremental steps (default ${DEFAULT-VALUE})")
    int maxSteps;

    @Option(names = "--accept-unconverged", description = "after --max-steps, write the adapter with unconverged layers as they are")
    boolean acceptUnconverged;

    @Option(names = "--rows-per-step", defaultValue = "8192", description = "split tensors with more rows into steps of at most this many (default ${DEFAULT-VALUE})")
    int rowsPerStep;

    @Option(names = "--seed", defaultValue = "42", description = "seed of the randomised SVD (default ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--allocator", description = "rank allocator (default: eva; see eva4j backends)")
    String allocatorName;

    @Option(names = "--svd-backend", description = "SVD backend (default: the best available, on the compute "
            + "backend; a named one keeps its own; see eva4j backends)")
    String svdBackendName;

    @Option(names = "--out-features", split = ",", paramLabel = "MODULE=N",
            description = "out features per module, completing the activations' metadata")
    Map<String, Integer> outFeatures = new LinkedHashMap<>();

    @Option(names = "--base-model", description = "base_model_name_or_path written into adapter_config.json")
    String baseModel;

    @Option(names = "--task-type", description = "task_type written into adapter_config.json (e.g. CAUSAL_LM)")
    String taskType;

    @Option(names = "--spark", paramLabel = "MASTER", description = "run EVA on Apache Spark: local[N] on this machine, "
            + "or a cluster's master URL; every executor reads --model and --data itself (see docs/spark.md)")
    String spark;

    @Option(names = "--partitions", defaultValue = "0", description = "with --spark: how many partitions share each "
            + "step's batch of --batch-size records, at most --batch-size (default: the cluster's default parallelism)")
    int partitions;

    @Option(names = "--state-components", defaultValue = "0", paramLabel = "N", description = "with --spark: components "
            + "per layer group in the state a partition sends (default 4 x r x rho, capped at the layer width; with "
            + "min(width, rows of a partition's share) or more, the result is the single-JVM one)")
    int stateComponents;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        if ((activations == null) == (model == null)) {
            throw new UserException("name either --activations PATH or --model PATH (with --data FILE)");
        }
        if (model != null && data == null) throw new UserException("--model needs --data FILE (JSONL)");
        if (spark != null && model == null) throw new UserException("--spark needs --model PATH and --data FILE");
        if (spark == null && (partitions != 0 || stateComponents != 0)) {
            throw new UserException((partitions != 0 ? "--partitions" : "--state-components") + " needs --spark MASTER");
        }
        if (partitions < 0) throw new UserException("--partitions must be >= 1, got " + partitions);
        if (stateComponents < 0) throw new UserException("--state-components must be >= 1, got " + stateComponents);
        EvaConfig config = EvaConfig.builder().r(rank).alpha(alpha).rho(rho).tau(tau).whiten(whiten)
                .adjustScalingFactors(!noAdjustScaling).useLabelMask(!noLabelMask).labelMaskValue(labelMaskValue)
                .maxSteps(maxSteps).acceptUnconverged(acceptUnconverged).seed(seed).svd(mode(svdMode))
                .precision(precision(precision)).build();
        Providers providers = Providers.of(backendName, svdBackendName, allocatorName);
        SvdBackend svd = providers.svd(); // on the chosen compute backend unless --svd-backend names one
        RankAllocator allocator = providers.rankAllocator();
        String svdName = svd.name() + providers.svdCompute().map(c -> " (" + c.name() + ")").orElse("");
        PrintWriter err = spec.commandLine().getErr();
        EvaResult result;
        long start = System.nanoTime();
        String base = baseModel;
        java.util.Map<String, Object> extras = java.util.Map.of();
        String summary = null;
        if (spark != null) {
            DistributedInit engine = java.util.ServiceLoader.load(DistributedInit.class, InitCommand.class.getClassLoader())
                    .findFirst().orElseThrow(() -> new UserException("--spark needs the eva4j-spark module on the class "
                            + "path: run init through ./eva4j (it adds the module when --spark is given) or spark-submit "
                            + "the eva4j-spark job"));
            if (base == null) base = model.toAbsolutePath().normalize().toString();
            try (ProgressBar bar = new ProgressBar(err, "EVA")) {
                err.printf("EVA on %s with %s on %s (master %s): r=%d rho=%s tau=%s svd=%s, allocator %s%n",
                        model.getFileName(), data.getFileName(), engine.name(), spark, rank, rho, tau, svdMode, allocator.name());
                err.flush();
                DistributedInit.Outcome outcome = engine.run(new DistributedInit.Request(spark, model, tokenizer, data,
                        targets, batchSize, maxLength, shuffle ? seed : null, partitions, stateComponents, config, backendName,
                        svdBackendName, svd, allocator, bar::update), err);
                result = outcome.result();
                extras = outcome.report();
                summary = outcome.summary();
            }
        } else if (activations != null) {
            try (SafetensorsActivationSource source = SafetensorsActivationSource.open(activations, rowsPerStep, outFeatures);
                 ProgressBar bar = new ProgressBar(err, "EVA")) {
                err.printf("EVA on %d layer(s) from %d file(s): r=%d rho=%s tau=%s svd=%s on %s, allocator %s%n",
                        source.layers().size(), source.files().size(), rank, rho, tau, svdMode, svdName, allocator.name());
                err.flush();
                result = new EvaEngine(config, svd, allocator).run(source, bar::update);
            }
        } else {
            ModelRun run = ModelRun.open(providers.compute(), providers.all(ModelLoader.class).values(), model, tokenizer);
            if (base == null) base = model.toAbsolutePath().normalize().toString();
            try (run; var source = run.source(data, targets, batchSize, maxLength, config, shuffle ? seed : null);
                 ProgressBar bar = new ProgressBar(err, "EVA")) {
                err.printf("EVA on %s (%s, %d target layer(s)) with %s: r=%d rho=%s tau=%s svd=%s, compute %s, allocator %s%n",
                        model.getFileName(), run.model().modelType(), source.layers().size(), data.getFileName(), rank, rho,
                        tau, svdMode, run.compute().name(), allocator.name());
                err.flush();
                result = new EvaEngine(config, svd, allocator).run(source, bar::update);
                err.printf("%,d real tokens through the model%n", source.tokens());
            }
        }
        PeftAdapterWriter.write(out, result, new PeftAdapterWriter.Options(base, taskType, 0.0, extras));
        double seconds = (System.nanoTime() - start) * 1e-9;
        PrintWriter o = spec.commandLine().getOut();
        RankTable.print(o, result);
        o.printf("%d step(s) in %.1f s; %s; adapter written to %s%n", result.steps(), seconds,
                result.converged() ? "all layers converged" : result.unconverged().size() + " layer(s) NOT converged",
                out);
        if (summary != null) o.println(summary);
        EvaResult.Timings t = result.timings();
        o.printf("time: %s %.1f s, SVD steps %.1f s, other %.1f s (EVA %.1f s; loading the model or data and writing %.1f s); peak "
                        + "resident memory %s%s%n", activations != null ? "reading activations" : spark != null ? "rounds on Spark" : "forward passes",
                t.activationSeconds(), t.svdSeconds(), t.otherSeconds(), t.totalSeconds(),
                Math.max(0, seconds - t.totalSeconds()), t.peakResidentBytes() < 0 ? "unknown"
                        : String.format(Locale.ROOT, "%.0f MB", t.peakResidentBytes() / 1e6), cpuNote(t));
        o.flush();
        return 0;
    }

    /**
     * "; CPU 31.2 s in EVA (1.9 cores busy), JIT compiling 6.0 s; CPU steal 12%" from what the platform reports
     * (empty when it reports nothing): on a shared virtual machine, steal is why the same run takes longer.
     */
    static String cpuNote(EvaResult.Timings t) {
        if (t.cpuSeconds() < 0) return "";
        StringBuilder s = new StringBuilder(String.format(Locale.ROOT, "; CPU %.1f s in EVA (%.1f cores busy)",
                t.cpuSeconds(), t.totalSeconds() > 0 ? t.cpuSeconds() / t.totalSeconds() : 0));
        if (t.jitSeconds() >= 0) s.append(String.format(Locale.ROOT, ", JIT compiling %.1f s", t.jitSeconds()));
        if (t.stealFraction() >= 0) s.append(String.format(Locale.ROOT, "; CPU steal %.0f%%", 100 * t.stealFraction()));
        return s.toString();
    }

    static EvaConfig.Precision precision(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "float32", "f32" -> EvaConfig.Precision.FLOAT32;
            case "float64", "f64" -> EvaConfig.Precision.FLOAT64;
            default -> throw new UserException("--precision must be float32 or float64, got '" + name + "'");
        };
    }

    static SvdBackend.Mode mode(String name) {
        try {
            return SvdBackend.Mode.valueOf(name.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new UserException("--svd must be exact, lowrank or warm, got '" + name + "'");
        }
    }
}
