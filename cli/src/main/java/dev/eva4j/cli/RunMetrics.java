package dev.eva4j.cli;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.eva4j.models.train.Trainer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * One training run's {@code metrics.jsonl}, as the trainer writes it: a line per optimiser step ({@code step},
 * {@code loss}, {@code lr}, {@code grad_norm}, {@code tokens}, {@code seconds}) and a line per evaluation ({@code step},
 * {@code eval_loss}, {@code eval_accuracy}). Null values (a NaN) are skipped.
 *
 * @param label the run's name in a plot (its folder's name)
 */
record RunMetrics(String label, List<Point> loss, List<Point> evalLoss, List<Point> evalAccuracy) {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** A value at an optimiser step. */
    record Point(long step, double value) {}

    /** The metrics of a run folder (or of a metrics.jsonl file named directly). */
    static RunMetrics read(Path run) throws IOException {
        Path file = Files.isDirectory(run) ? run.resolve(Trainer.METRICS) : run;
        if (!Files.isRegularFile(file)) {
            throw new NoSuchFileException(file + (Files.isDirectory(run) ? " (not a training run's folder?)" : ""));
        }
        Path named = Files.isDirectory(run) ? run : file.toAbsolutePath().getParent();
        String label = named == null || named.getFileName() == null ? file.toString() : named.getFileName().toString();
        List<Point> loss = new ArrayList<>(), evalLoss = new ArrayList<>(), evalAccuracy = new ArrayList<>();
        long lineNumber = 0;
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            lineNumber++;
            if (line.isBlank()) continue;
            JsonNode n;
            try {
                n = JSON.readTree(line);
            } catch (JacksonException e) {
                throw new UserException(file + ":" + lineNumber + ": not valid JSON (" + e.getOriginalMessage() + ")");
            }
            if (n == null || !n.path("step").canConvertToLong()) {
                throw new UserException(file + ":" + lineNumber + ": a metrics line needs a \"step\"");
            }
            long step = n.get("step").asLong();
            add(loss, step, n.get("loss"));
            add(evalLoss, step, n.get("eval_loss"));
            add(evalAccuracy, step, n.get("eval_accuracy"));
        }
        if (loss.isEmpty() && evalLoss.isEmpty()) throw new UserException(file + " holds no loss values");
        return new RunMetrics(label, loss, evalLoss, evalAccuracy);
    }

    private static void add(List<Point> into, long step, JsonNode v) {
        if (v != null && v.isNumber() && Double.isFinite(v.asDouble())) into.add(new Point(step, v.asDouble()));
    }
}
