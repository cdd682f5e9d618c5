package dev.eva4j.models.train;

import dev.eva4j.spi.InvalidInputException;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.eva4j.api.peft.AtomicDirectory;
import dev.eva4j.api.safetensors.SafetensorsFile;
import dev.eva4j.api.safetensors.SafetensorsWriter;
import dev.eva4j.api.safetensors.TensorData;
import dev.eva4j.models.Batch;
import dev.eva4j.models.data.BatchReader;
import dev.eva4j.models.nn.Lora;
import dev.eva4j.models.nn.ParameterBlock;
import dev.eva4j.spi.Kernels;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Trains LoRA adapters (and a task's own parameters, e.g. a classification head) with AdamW: micro-batches of
 * {@code batchSize} sequences, {@code gradAccum} of them per optimiser step (each micro-batch's gradient scaled by
 * 1 / gradAccum, the reported loss their mean), gradient-norm clipping, a learning-rate schedule over the run's
 * steps, data read epoch after epoch (shuffled with {@code seed + epoch}, or in file order), evaluation and
 * checkpoints every N steps and at the end.
 *
 * <p>Output folder: {@code metrics.jsonl} (one line per optimiser step: step, loss, lr, grad_norm, tokens, seconds;
 * one per evaluation: step, eval_loss, eval_accuracy), {@code checkpoint-<step>/} folders, each written atomically
 * (the adapter as the caller writes it, in {@code adapter/}; parameters and AdamW moments in
 * {@code optimizer.safetensors}; {@link TrainState} in {@code trainer_state.json}); the two newest are kept.
 * {@link #run} with a checkpoint continues exactly where it stopped: same data order, dropout masks and optimiser
 * state, so the losses are those of an uninterrupted run.
 */
public final class Trainer {
    /** The training (or evaluation) data: a fresh reader per epoch, and the number of micro-batches in one. */
    public interface Data {
        BatchReader open(int epoch) throws IOException;

        long batchesPerEpoch();
    }

    /** Writes the adapter (in PEFT's format) into a new folder. */
    @FunctionalInterface
    public interface AdapterWriter {
        void write(Path dir) throws IOException;
    }

    /** Hears about progress (the CLI draws a progress bar). */
    public interface Listener {
        default void onStep(StepMetrics m) {}

        default void onEval(EvalMetrics m) {}

        default void onCheckpoint(Path dir) {}
    }

    public record StepMetrics(long step, long totalSteps, double loss, double lr, double gradNorm, long tokens,
                              double seconds) {}

    public record EvalMetrics(long step, double loss, double accuracy, long examples) {}

    /** What a run ended with. */
    public record Result(TrainState state, List<StepMetrics> steps, List<EvalMetrics> evals, Path lastCheckpoint) {}

    public static final String METRICS = "metrics.jsonl";
    static final String OPTIMIZER = "optimizer.safetensors";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final TrainConfig config;
    private final Task task;
    private final Lora lora;
    private final Data train;
    private final Data eval;
    private final Path out;
    private final AdapterWriter adapterWriter;
    private final Kernels k;

    public Trainer(TrainConfig config, Task task, Lora lora, Data train, Data eval, Path out,
                   AdapterWriter adapterWriter) {
        this.config = config;
        this.task = task;
        this.lora = lora;
        this.train = train;
        this.eval = eval;
        this.out = out;
        this.adapterWriter = adapterWriter;
        this.k = lora.params().kernels();
    }

    /** Optimiser steps this run will take. */
    public long totalSteps() {
        return config.totalSteps(train.batchesPerEpoch());
    }

    /**
     * Trains to the end (or from {@code resume}, a checkpoint folder, to the end).
     *
     * @throws TrainingDivergedException when a loss or gradient norm is not finite
     */
    public Result run(Path resume, Listener listener) throws IOException {
        Files.createDirectories(out);
        long total = totalSteps();
        long warmup = LrSchedule.warmupSteps(config.warmupRatio(), total);
        try (AdamW opt = new AdamW(k, config)) {
            opt.add("lora", lora.params(), lora.grads());
            int g = 0;
            for (ParameterBlock[] pg : task.trainable()) opt.add("task" + g++, pg[0], pg[1]);
            TrainState state = TrainState.start();
            Path lastCheckpoint = null;
            if (resume != null) {
                state = restore(resume, opt);
                lastCheckpoint = resume;
                truncateMetrics(state.step());
            } else {
                Files.deleteIfExists(out.resolve(METRICS));
            }
            List<StepMetrics> steps = new ArrayList<>();
            List<EvalMetrics> evals = new ArrayList<>();
            long tokens = state.tokens();
            double secondsBefore = state.seconds();
            long started = System.nanoTime();
            int epoch = state.epoch();
            long batchInEpoch = state.batchInEpoch();
            BatchReader reader = train.open(epoch);
            try (BufferedWriter metrics = Files.newBufferedWriter(out.resolve(METRICS), StandardCharsets.UTF_8,
                    StandardOpenOption.CREATE, StandardOpenOption.APPEND)) {
                for (long skip = 0; skip < batchInEpoch; skip++) {
                    if (reader.next() == null) throw new InvalidInputException("the data has fewer batches than the checkpoint's position");
                }
                for (long step = state.step(); step < total; step++) {
                    opt.zeroGrads();
                    double loss = 0;
                    for (int micro = 0; micro < config.gradAccum(); micro++) {
                        Batch batch = reader.next();
                        if (batch == null) {
                            reader.close();
                            epoch++;
                            batchInEpoch = 0;
                            reader = train.open(epoch);
                            batch = reader.next();
                            if (batch == null) throw new InvalidInputException("the training data holds no records");
                        }
                        batchInEpoch++;
                        lora.step(step * config.gradAccum() + micro);
                        double l = task.loss(batch, lora, true, 1f / config.gradAccum());
                        if (!Double.isFinite(l)) throw new TrainingDivergedException(step + 1, "loss " + l, lastCheckpoint);
                        loss += l / config.gradAccum();
                        tokens += Task.tokens(batch);
                    }
                    double norm = opt.gradNorm();
                    if (!Double.isFinite(norm)) {
                        throw new TrainingDivergedException(step + 1, "gradient norm " + norm, lastCheckpoint);
                    }
                    if (config.clip() > 0) opt.clip(norm, config.clip());
                    double lr = config.lr() * config.schedule().factor(step, total, warmup);
                    opt.step(lr);
                    double seconds = secondsBefore + (System.nanoTime() - started) * 1e-9;
                    StepMetrics m = new StepMetrics(step + 1, total, loss, lr, norm, tokens, seconds);
                    steps.add(m);
                    line(metrics, Map.of("step", m.step(), "loss", loss, "lr", lr, "grad_norm", norm, "tokens", tokens,
                            "seconds", seconds));
                    listener.onStep(m);
                    boolean last = step + 1 == total;
                    if (eval != null && (last || (config.evalEvery() > 0 && (step + 1) % config.evalEvery() == 0))) {
                        EvalMetrics e = evaluate(step + 1);
                        evals.add(e);
                        line(metrics, Map.of("step", e.step(), "eval_loss", e.loss(), "eval_accuracy", e.accuracy()));
                        listener.onEval(e);
                    }
                    metrics.flush();
                    if (last || (config.checkpointEvery() > 0 && (step + 1) % config.checkpointEvery() == 0)) {
                        state = new TrainState(step + 1, epoch, batchInEpoch, tokens, seconds);
                        lastCheckpoint = checkpoint(state, opt);
                        listener.onCheckpoint(lastCheckpoint);
                    }
                }
            } finally {
                reader.close();
            }
            return new Result(state, steps, evals, lastCheckpoint);
        }
    }

    /** Loss and accuracy over the evaluation data (inference mode), weighted by counted predictions. */
    public EvalMetrics evaluate(long step) throws IOException {
        double lossSum = 0;
        long weight = 0, correct = 0, counted = 0, examples = 0;
        try (BatchReader r = eval.open(0)) {
            Batch b;
            while ((b = r.next()) != null) {
                double l = task.loss(b, lora, false, 1f);
                Task.Accuracy a = task.lastAccuracy();
                if (a.counted() > 0) {
                    lossSum += l * a.counted();
                    weight += a.counted();
                }
                correct += a.correct();
                counted += a.counted();
                examples += b.batchSize();
            }
        }
        double loss = weight == 0 ? Double.NaN : lossSum / weight;
        double acc = counted == 0 ? Double.NaN : (double) correct / counted;
        return new EvalMetrics(step, loss, acc, examples);
    }

    private static void line(BufferedWriter w, Map<String, Object> fields) throws IOException {
        ObjectNode n = JSON.createObjectNode();
        for (String key : new String[] {"step", "loss", "eval_loss", "eval_accuracy", "lr", "grad_norm", "tokens", "seconds"}) {
            Object v = fields.get(key);
            if (v instanceof Long l) n.put(key, l);
            else if (v instanceof Double d) {
                if (Double.isFinite(d)) n.put(key, d);
                else n.putNull(key);
            }
        }
        w.write(JSON.writeValueAsString(n));
        w.newLine();
    }

    /** Keeps the metrics lines of steps up to {@code step} (a resumed run rewrites what came after). */
    private void truncateMetrics(long step) throws IOException {
        Path f = out.resolve(METRICS);
        if (!Files.exists(f)) return;
        List<String> keep = new ArrayList<>();
        for (String l : Files.readAllLines(f, StandardCharsets.UTF_8)) {
            if (l.isBlank()) continue;
            if (JSON.readTree(l).path("step").asLong(Long.MAX_VALUE) <= step) keep.add(l);
        }
        Path tmp = Files.createTempFile(out, METRICS, ".tmp");
        Files.write(tmp, keep, StandardCharsets.UTF_8);
        Files.move(tmp, f, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }

    private Path checkpoint(TrainState state, AdamW opt) throws IOException {
        Path dir = out.resolve("checkpoint-" + state.step());
        AtomicDirectory.write(dir, tmp -> {
            adapterWriter.write(tmp.resolve("adapter"));
            List<TensorData> tensors = new ArrayList<>();
            for (AdamW.Group g : opt.groups()) {
                add(tensors, g.name() + "/", g.params());
                add(tensors, g.name() + ".m/", g.m());
                add(tensors, g.name() + ".v/", g.v());
            }
            SafetensorsWriter.write(tmp.resolve(OPTIMIZER), tensors, Map.of("eva4j.adamw_steps",
                    Integer.toString(opt.steps())));
            state.write(tmp, config, task.name());
        });
        pruneCheckpoints(2);
        return dir;
    }

    private static void add(List<TensorData> out, String prefix, ParameterBlock block) {
        for (ParameterBlock.Spec s : block.specs()) out.add(TensorData.ofFloats(prefix + s.name(), s.shape(), block.read(s.name())));
    }

    private void pruneCheckpoints(int keep) throws IOException {
        List<Path> all = checkpoints(out);
        for (int i = 0; i < all.size() - keep; i++) AtomicDirectory.deleteTree(all.get(i));
    }

    /** The checkpoint folders of an output folder, oldest first. */
    public static List<Path> checkpoints(Path outDir) throws IOException {
        if (!Files.isDirectory(outDir)) return List.of();
        try (Stream<Path> s = Files.list(outDir)) {
            return s.filter(p -> p.getFileName().toString().matches("checkpoint-\\d+") && Files.isDirectory(p))
                    .sorted(Comparator.comparingLong(p -> Long.parseLong(p.getFileName().toString().substring(11))))
                    .toList();
        }
    }

    /** A checkpoint folder, or the newest checkpoint of an output folder. */
    public static Path resolveCheckpoint(Path path) throws IOException {
        if (Files.isRegularFile(path.resolve(TrainState.FILE))) return path;
        List<Path> all = checkpoints(path);
        if (all.isEmpty()) throw new InvalidInputException(path + ": no checkpoint here (no " + TrainState.FILE
                + ", no checkpoint-N folder)");
        return all.getLast();
    }

    private TrainState restore(Path dir, AdamW opt) throws IOException {
        TrainState state = TrainState.read(dir);
        String savedTask = TrainState.task(dir);
        if (!savedTask.equals(task.name())) {
            throw new InvalidInputException(dir + ": a checkpoint of task '" + savedTask + "', not '" + task.name() + "'");
        }
        Path f = dir.resolve(OPTIMIZER);
        if (!Files.isRegularFile(f)) throw new InvalidInputException(dir + ": " + OPTIMIZER + " is missing");
        try (SafetensorsFile file = SafetensorsFile.open(f)) {
            for (AdamW.Group g : opt.groups()) {
                load(file, g.name() + "/", g.params(), dir);
                load(file, g.name() + ".m/", g.m(), dir);
                load(file, g.name() + ".v/", g.v(), dir);
            }
            String steps = file.metadata().get("eva4j.adamw_steps");
            opt.restoreSteps(steps == null ? (int) state.step() : Integer.parseInt(steps));
        }
        return state;
    }

    private static void load(dev.eva4j.api.safetensors.TensorReader r, String prefix, ParameterBlock block, Path dir) {
        for (ParameterBlock.Spec s : block.specs()) {
            String name = prefix + s.name();
            var info = r.find(name).orElseThrow(() -> new InvalidInputException(dir + ": the checkpoint has no "
                    + name + " (a checkpoint of another model, adapter or rank?)"));
            if (!java.util.Arrays.equals(info.shape(), s.shape())) {
                throw new InvalidInputException(dir + ": " + name + " is " + java.util.Arrays.toString(info.shape())
                        + ", the run needs " + java.util.Arrays.toString(s.shape()));
            }
            block.write(s.name(), r.readFloats(name));
        }
    }
}
