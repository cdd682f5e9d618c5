package dev.eva4j.cli;

import dev.eva4j.api.eva.EvaConfig;
import dev.eva4j.api.eva.EvaResult;
import dev.eva4j.models.TransformerModel;
import dev.eva4j.models.data.BatchReader;
import dev.eva4j.models.data.TextEncoder;
import dev.eva4j.models.llama.LlamaModel;
import dev.eva4j.models.nn.ClassificationHead;
import dev.eva4j.models.peft.PeftLoraAdapter;
import dev.eva4j.models.train.ClassifyTask;
import dev.eva4j.models.train.EvaInit;
import dev.eva4j.models.train.LmTask;
import dev.eva4j.models.train.LoraInit;
import dev.eva4j.models.train.LoraSettings;
import dev.eva4j.models.train.LrSchedule;
import dev.eva4j.models.train.Task;
import dev.eva4j.models.train.TrainConfig;
import dev.eva4j.models.train.Trainer;
import dev.eva4j.models.train.TrainingDivergedException;
import dev.eva4j.spi.ModelCapability;
import dev.eva4j.spi.ModelLoader;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code eva4j train}: LoRA fine-tuning of a model on a JSONL file, sequence classification or causal LM. Everything
 * that can be checked is checked before anything is written (data, model, task, ranks, adapter folders); then the run
 * folder gets {@code metrics.jsonl}, {@code checkpoint-<step>/} folders, the final {@code adapter/} (written at once)
 * and {@code loss.png}. A NaN or infinite loss is a one-line message naming the step and the last good checkpoint,
 * exit code 2: the fix (a lower --lr, --clip, the data) is the user's to make, and no eva4j bug is implied.
 */
@Command(name = "train", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Fine-tunes LoRA adapters (and, for classify, a linear head) with AdamW and writes a PEFT "
                + "adapter folder, checkpoints, metrics.jsonl and loss.png into --out.",
                "classify: {\"text\", \"label\"} records (label: an integer class); lm: {\"text\"} or {\"input_ids\", "
                        + "\"labels\"} records, Llama-family models only."})
final class TrainCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, paramLabel = "PATH", description = "a Hugging Face model folder or an ONNX BERT export")
    Path model;

    @Option(names = "--data", required = true, paramLabel = "FILE", description = "training data, JSONL")
    Path data;

    @Option(names = "--task", required = true, description = "classify or lm")
    String task;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "run folder (new or empty; with --resume, the run's folder)")
    Path out;

    @Option(names = "--init", paramLabel = "KIND", description = "eva (default; EVA in-line on --data), lora (PEFT's "
            + "default), gaussian, pissa or olora")
    String init;

    @Option(names = "--adapter", paramLabel = "DIR", description = "start from this PEFT LoRA adapter folder (e.g. from "
            + "'eva4j init', or written by PEFT); its ranks, alphas and targets are kept, and a saved head for classify")
    Path adapter;

    @Option(names = {"--rank", "-r"}, defaultValue = "8", description = "LoRA rank (eva: the budget per layer) (default ${DEFAULT-VALUE})")
    int rank;

    @Option(names = "--alpha", defaultValue = "16", description = "LoRA alpha (default ${DEFAULT-VALUE})")
    double alpha;

    @Option(names = "--rho", defaultValue = "2.0", description = "eva: components tracked per layer = round(r * rho) (default ${DEFAULT-VALUE})")
    double rho;

    @Option(names = "--tau", defaultValue = "0.99", description = "eva: cosine similarity for convergence (default ${DEFAULT-VALUE})")
    double tau;

    @Option(names = "--dropout", defaultValue = "0.05", description = "dropout on the LoRA branch (default ${DEFAULT-VALUE})")
    double dropout;

    @Option(names = "--rslora", description = "scale by alpha / sqrt(r) instead of alpha / r")
    boolean rslora;

    @Option(names = "--targets", defaultValue = "all-linear", description = "target modules as PEFT's target_modules: "
            + "names (query,value), re:REGEX, or all-linear (default)")
    String targets;

    @Option(names = "--lr", defaultValue = "2e-4", description = "peak learning rate (default ${DEFAULT-VALUE})")
    double lr;

    @Option(names = "--weight-decay", defaultValue = "0", description = "AdamW weight decay (default ${DEFAULT-VALUE})")
    double weightDecay;

    @Option(names = "--schedule", defaultValue = "linear", description = "constant, linear or cosine (default ${DEFAULT-VALUE})")
    String schedule;

    @Option(names = "--warmup", defaultValue = "0", description = "warm-up as a fraction of the steps, in [0, 1) (default ${DEFAULT-VALUE})")
    double warmup;

    @Option(names = "--grad-accum", defaultValue = "1", description = "micro-batches per optimiser step (default ${DEFAULT-VALUE})")
    int gradAccum;

    @Option(names = "--clip", defaultValue = "1.0", description = "gradient-norm clipping, 0 = off (default ${DEFAULT-VALUE})")
    double clip;

    @Option(names = "--epochs", defaultValue = "1", description = "passes over --data (default ${DEFAULT-VALUE})")
    int epochs;

    @Option(names = "--max-steps", defaultValue = "-1", description = "optimiser steps, overriding --epochs")
    long maxSteps;

    @Option(names = "--batch-size", defaultValue = "16", description = "records per micro-batch (default ${DEFAULT-VALUE})")
    int batchSize;

    @Option(names = "--max-length", defaultValue = "128", description = "tokens per record at most (default ${DEFAULT-VALUE})")
    int maxLength;

    @Option(names = "--no-shuffle", description = "records in file order every epoch (default: shuffled with --seed + epoch)")
    boolean noShuffle;

    @Option(names = "--seed", defaultValue = "42", description = "seed of shuffling, initialisation, head and dropout (default ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--eval-data", paramLabel = "FILE", description = "evaluation data, JSONL (loss and accuracy before training and at the end)")
    Path evalData;

    @Option(names = "--eval-every", defaultValue = "0", paramLabel = "N", description = "also evaluate every N steps")
    long evalEvery;

    @Option(names = "--checkpoint-every", defaultValue = "0", paramLabel = "N", description = "checkpoint every N steps "
            + "(always at the end; the two newest are kept)")
    long checkpointEvery;

    @Option(names = "--resume", paramLabel = "DIR", description = "continue from a checkpoint folder, or the newest "
            + "checkpoint of a run folder (same options as the run that wrote it)")
    Path resume;

    @Option(names = "--backend", description = "compute backend (default: best available; see eva4j backends)")
    String backendName;

    @Option(names = "--num-labels", description = "classify: number of classes (default: the largest label + 1)")
    Integer numLabels;

    @Option(names = "--pooling", description = "classify: mean (default, as sentence-transformers) or cls")
    String pooling;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        boolean classify = switch (task.toLowerCase(Locale.ROOT)) {
            case "classify" -> true;
            case "lm" -> false;
            default -> throw new UserException("--task must be classify or lm, got '" + task + "'");
        };
        String taskName = classify ? "classify" : "lm";
        LoraInit kind = LoraInit.parse(init == null ? "eva" : init);
        if (adapter != null && init != null && kind != LoraInit.EVA) {
            throw new UserException("--adapter starts from that folder's weights; it cannot be combined with --init " + init);
        }
        if (!classify && (numLabels != null || pooling != null)) {
            throw new UserException("--num-labels and --pooling apply to --task classify only");
        }
        ClassificationHead.Pooling pool = pooling(pooling);
        if (evalEvery > 0 && evalData == null) throw new UserException("--eval-every needs --eval-data FILE");
        TrainConfig config = new TrainConfig(lr, 0.9, 0.999, 1e-8, weightDecay, LrSchedule.parse(schedule), warmup,
                gradAccum, clip, epochs, maxSteps, batchSize, maxLength, !noShuffle, seed, evalEvery, checkpointEvery);
        LoraSettings settings = new LoraSettings(rank, alpha, dropout, rslora, targets, Map.of(), Map.of());
        Path checkpoint = resume == null ? null : Trainer.resolveCheckpoint(resume);
        if (checkpoint == null) requireFreshOut();
        TrainData train = TrainData.scan(data, taskName, "--data");
        TrainData eval = evalData == null ? null : TrainData.scan(evalData, taskName, "--eval-data");
        if (numLabels != null) {
            train.checkLabels(numLabels, "--data");
            if (eval != null) eval.checkLabels(numLabels, "--eval-data");
        }
        if (adapter != null && !Files.isDirectory(adapter)) {
            throw new UserException("--adapter " + adapter + (Files.exists(adapter) ? " is not a folder" : " does not exist"));
        }

        PrintWriter err = spec.commandLine().getErr();
        Providers providers = Providers.of(backendName);
        try (ModelRun run = ModelRun.open(providers.compute(), providers.all(ModelLoader.class).values(), model, null)) {
            TransformerModel tm = run.model();
            if (!tm.has(ModelCapability.LORA_TRAINING)) {
                throw new UserException(model + ": model type '" + tm.modelType() + "' has no LoRA training pass");
            }
            LlamaModel llama = classify ? null : tm.has(ModelCapability.CAUSAL_LM) ? tm.as(LlamaModel.class).orElse(null) : null;
            if (!classify && llama == null) {
                throw new UserException("--task lm needs a causal language model (Llama family: llama, mistral, qwen2); "
                        + model + " is a '" + tm.modelType() + "' (use --task classify)");
            }
            TextEncoder encoder = run.encoder(maxLength);
            train.checkTokenizer(encoder, model, "--data");
            if (eval != null) eval.checkTokenizer(encoder, model, "--eval-data");
            if (adapter == null && checkpoint == null) settings.modules(tm.linears()); // ranks and targets fit, before EVA
            AdapterStart start = start(providers, tm, kind, settings, checkpoint, encoder, err);
            try (var lora = start.lora();
                 ClassificationHead head = classify ? head(tm, start, train, eval, pool) : null;
                 Task t = classify ? new ClassifyTask(tm, head) : new LmTask(llama)) {
                return train(run, tm, config, start, head, t, train, eval, encoder, checkpoint, err);
            }
        }
    }

    private int train(ModelRun run, TransformerModel tm, TrainConfig config, AdapterStart start, ClassificationHead head,
                      Task t, TrainData train, TrainData eval, TextEncoder encoder, Path checkpoint, PrintWriter err)
            throws IOException {
        PeftLoraAdapter.Meta meta = new PeftLoraAdapter.Meta(model.toAbsolutePath().normalize().toString(),
                head != null ? "SEQ_CLS" : "CAUSAL_LM", start.initName());
        Trainer trainer = new Trainer(config, t, start.lora(), train.batches(encoder, batchSize, maxLength,
                noShuffle ? null : seed), eval == null ? null : eval.batches(encoder, batchSize, maxLength, null), out,
                dir -> start.trained(head, meta).write(dir));
        long trainable = start.parameters() + (head == null ? 0 : head.params().size());
        err.printf("train: %s on %s (%,d records) with %s (%s), %s; %,d trainable parameters; %d steps of %d x %d "
                        + "on %s%n", t.name(), data.getFileName(), train.records(), model.getFileName(), tm.modelType(),
                start.description(), trainable, trainer.totalSteps(), batchSize * gradAccum, maxLength,
                run.compute().name());
        err.flush();
        Trainer.EvalMetrics before = eval != null && checkpoint == null ? trainer.evaluate(0) : null;
        if (before != null) {
            err.printf("eval before training: loss %.4f%s%n", before.loss(), accuracy(before));
            err.flush();
        }
        Resumed at = checkpoint == null ? new Resumed(0, 0, 0) : Resumed.read(checkpoint);
        Trainer.Result result;
        TrainProgress progress = new TrainProgress(err, at.step(), at.tokens());
        try (progress) {
            result = trainer.run(checkpoint, progress);
        } catch (TrainingDivergedException e) {
            if (before != null) prependMetrics(before);
            plot(err);
            throw new UserException(e.getMessage());
        }
        if (before != null) prependMetrics(before);
        Path adapterDir = out.resolve("adapter");
        start.exported(head, meta).write(adapterDir);
        plot(err);
        PrintWriter o = spec.commandLine().getOut();
        Trainer.StepMetrics last = result.steps().isEmpty() ? null : result.steps().getLast();
        Trainer.EvalMetrics after = result.evals().isEmpty() ? null : result.evals().getLast();
        double seconds = last == null ? 0 : last.seconds() - at.seconds(); // the optimiser steps, as the trainer timed them
        o.printf("trained %d step(s) in %.1f s (%,.0f tokens/s): final loss %s%s; adapter written to %s%s%n",
                result.steps().size(), seconds, last == null ? 0 : (last.tokens() - at.tokens()) / Math.max(1e-9, seconds),
                last == null ? "-" : String.format("%.4f", last.loss()),
                after == null ? "" : String.format("; eval loss %.4f%s%s", after.loss(), accuracy(after),
                        before == null ? "" : String.format(" (before: %.4f%s)", before.loss(), accuracy(before))),
                adapterDir, start.converts()
                ? " (" + start.initName() + ": exported for the ORIGINAL base weights as a rank-" + 2 * rank
                + " LoRA adapter, as PEFT's path_initial_model_for_weight_conversion does)" : "");
        o.flush();
        return 0;
    }

    /** Starts the adapter: from a checkpoint, from --adapter, EVA in-line, or a plain initialisation. */
    private AdapterStart start(Providers providers, TransformerModel tm, LoraInit kind, LoraSettings settings,
                               Path checkpoint, TextEncoder encoder, PrintWriter err) throws IOException {
        if (checkpoint != null) {
            Path saved = checkpoint.resolve("adapter");
            String savedInit = AdapterStart.savedInit(saved);
            boolean residual = savedInit.equals("pissa") || savedInit.equals("olora");
            if (residual != kind.changesBaseWeights() || (residual && !savedInit.equals(kind.cliName()))) {
                throw new UserException("--resume " + checkpoint + " is a checkpoint of an init_lora_weights "
                        + savedInit + " run; resume with the options of that run" + (residual ? " (--init " + savedInit + ")" : ""));
            }
            if (!residual) return AdapterStart.fromFolder(tm, saved, dropout, seed, true);
            // PiSSA / OLoRA: the same (deterministic) initialisation again for the residual weights; the trainer then
            // loads the checkpoint's A and B
        }
        if (adapter != null) return AdapterStart.fromFolder(tm, adapter, dropout, seed, false);
        if (kind == LoraInit.EVA) {
            EvaConfig options = EvaConfig.builder().rho(rho).tau(tau).seed(seed).build();
            BatchReader reader = new BatchReader(data, encoder, batchSize, maxLength, true, -100);
            EvaResult result;
            try (ProgressBar bar = new ProgressBar(err, "EVA")) {
                result = EvaInit.compute(tm, settings, options, reader, providers.svd(), providers.rankAllocator(),
                        bar::update);
            }
            return AdapterStart.fromPlan(tm, EvaInit.plan(tm, settings, result), seed,
                    "init eva (r " + rank + ", rho " + rho + ", tau " + tau + ", " + result.steps() + " EVA steps)");
        }
        return AdapterStart.fromPlan(tm, LoraInit.plan(kind, tm, settings, seed, providers.compute()), seed,
                "init " + kind.cliName() + " (r " + rank + ")");
    }

    /** The classification head: the adapter's saved head, or a new one (seeded) for the data's classes. */
    private ClassificationHead head(TransformerModel tm, AdapterStart start, TrainData train, TrainData eval,
                                    ClassificationHead.Pooling pool) {
        PeftLoraAdapter.Head saved = start.head();
        int k;
        if (saved != null) {
            if (numLabels != null && numLabels != saved.numLabels()) {
                throw new UserException("--num-labels " + numLabels + ", but the adapter's head has " + saved.numLabels()
                        + " classes");
            }
            if (pooling != null && saved.pooling() != null && saved.pooling() != pool) {
                throw new UserException("--pooling " + pooling + ", but the adapter's head pools by "
                        + saved.pooling().name().toLowerCase(Locale.ROOT));
            }
            k = saved.numLabels();
        } else {
            k = numLabels != null ? numLabels : Math.max(2, Math.max(train.maxLabel(), eval == null ? -1 : eval.maxLabel()) + 1);
        }
        train.checkLabels(k, "--data");
        if (eval != null) eval.checkLabels(k, "--eval-data");
        if (saved == null) return new ClassificationHead(tm.kernels(), tm.hiddenSize(), k, pool, seed);
        ClassificationHead h = new ClassificationHead(tm.kernels(), tm.hiddenSize(), k,
                saved.pooling() != null ? saved.pooling() : pool, seed);
        try {
            if (saved.hiddenSize() != tm.hiddenSize()) {
                throw new UserException("the adapter's head reads hidden size " + saved.hiddenSize() + ", the model's is "
                        + tm.hiddenSize());
            }
            h.params().write(ClassificationHead.WEIGHT, saved.weight());
            h.params().write(ClassificationHead.BIAS, saved.bias());
            return h;
        } catch (RuntimeException e) {
            h.close();
            throw e;
        }
    }

    private static ClassificationHead.Pooling pooling(String name) {
        if (name == null) return ClassificationHead.Pooling.MEAN;
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "mean" -> ClassificationHead.Pooling.MEAN;
            case "cls" -> ClassificationHead.Pooling.CLS;
            default -> throw new UserException("--pooling must be mean or cls, got '" + name + "'");
        };
    }

    /** A new run needs a new or empty folder: an earlier run's files are never mixed with this one's. */
    private void requireFreshOut() throws IOException {
        if (!Files.exists(out)) return;
        if (!Files.isDirectory(out)) throw new UserException("--out " + out + " exists and is not a folder");
        try (Stream<Path> s = Files.list(out)) {
            if (s.findAny().isPresent()) {
                throw new UserException("--out " + out + " already holds files; choose a new folder, or continue its run "
                        + "with --resume " + out);
            }
        }
    }

    /** Where a resumed run starts: a checkpoint's steps, tokens and seconds (its trainer_state.json). */
    private record Resumed(long step, long tokens, double seconds) {
        static Resumed read(Path checkpoint) throws IOException {
            var n = new com.fasterxml.jackson.databind.ObjectMapper().readTree(checkpoint.resolve("trainer_state.json").toFile());
            return new Resumed(n.path("step").asLong(), n.path("tokens").asLong(), n.path("seconds").asDouble());
        }
    }

    /**
     * Puts the evaluation before training first in metrics.jsonl, as the step-0 evaluation line (the trainer starts a
     * new file; a resumed run keeps it, as it keeps every line up to its checkpoint's step).
     */
    private void prependMetrics(Trainer.EvalMetrics m) throws IOException {
        Path f = out.resolve(Trainer.METRICS);
        if (!Files.isRegularFile(f)) return;
        var n = new com.fasterxml.jackson.databind.ObjectMapper().createObjectNode().put("step", 0L);
        if (Double.isFinite(m.loss())) n.put("eval_loss", m.loss());
        else n.putNull("eval_loss");
        if (Double.isFinite(m.accuracy())) n.put("eval_accuracy", m.accuracy());
        else n.putNull("eval_accuracy");
        List<String> lines = new java.util.ArrayList<>();
        lines.add(n.toString());
        lines.addAll(Files.readAllLines(f, java.nio.charset.StandardCharsets.UTF_8));
        Path tmp = Files.createTempFile(out, Trainer.METRICS, ".tmp");
        try {
            Files.write(tmp, lines, java.nio.charset.StandardCharsets.UTF_8);
            Files.move(tmp, f, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    private static String accuracy(Trainer.EvalMetrics m) {
        return Double.isNaN(m.accuracy()) ? "" : String.format(", accuracy %.3f", m.accuracy());
    }

    /** loss.png from metrics.jsonl; a failure to draw is reported, never fatal (the adapter is what counts). */
    private void plot(PrintWriter err) {
        Path png = out.resolve("loss.png");
        RunMetrics metrics;
        try {
            metrics = RunMetrics.read(out);
        } catch (IOException | UserException e) {
            return; // no step finished: nothing to draw
        }
        try {
            LossPlot.write(png, "eva4j train: " + out.getFileName(), List.of(metrics));
        } catch (IOException | RuntimeException e) {
            err.println("eva4j train: loss.png not drawn: " + e.getMessage());
            err.flush();
        }
    }
}
