package dev.eva4j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.eva4j.api.safetensors.SafetensorsCheckpoint;
import dev.eva4j.api.safetensors.TensorInfo;
import dev.eva4j.api.safetensors.TensorReader;
import dev.eva4j.api.tensor.Shapes;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** {@code eva4j inspect}: what a safetensors file, checkpoint folder or PEFT adapter folder holds. */
@Command(name = "inspect", mixinStandardHelpOptions = true,
        description = "Summarises a .safetensors file, a (sharded) checkpoint folder or a PEFT adapter folder: tensors, "
                + "dtypes, shapes, parameter count, metadata. The file is validated strictly first.")
final class InspectCommand implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Parameters(paramLabel = "PATH", description = "a .safetensors file, a model folder or a PEFT adapter folder")
    Path path;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        if (!Files.exists(path)) throw new NoSuchFileException(path.toString());
        PrintWriter out = spec.commandLine().getOut();
        Path adapterConfig = path.resolve("adapter_config.json");
        if (Files.isDirectory(path) && Files.isRegularFile(adapterConfig)) {
            Path weights = path.resolve("adapter_model.safetensors");
            if (!Files.isRegularFile(weights)) {
                throw new UserException(path + ": PEFT adapter folder without adapter_model.safetensors");
            }
            JsonNode config = readJson(adapterConfig);
            try (TensorReader reader = SafetensorsCheckpoint.open(weights)) {
                out.println("PEFT adapter " + path);
                printAdapterConfig(out, config);
                printTensors(out, reader);
            }
        } else {
            try (SafetensorsCheckpoint reader = SafetensorsCheckpoint.open(path)) {
                long bytes = 0;
                for (Path f : reader.files()) bytes += Files.size(f);
                out.printf("%s  (%d file(s), %s)%n", path, reader.files().size(), human(bytes));
                printTensors(out, reader);
            }
        }
        out.flush();
        return 0;
    }

    private static JsonNode readJson(Path file) throws IOException {
        try {
            JsonNode n = JSON.readTree(file.toFile());
            if (n == null || !n.isObject()) throw new UserException(file + ": not a JSON object");
            return n;
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new UserException(file + ": malformed JSON: " + e.getOriginalMessage().lines().findFirst().orElse(""));
        }
    }

    private static void printAdapterConfig(PrintWriter out, JsonNode c) {
        out.printf("  peft_type %s, r %s, lora_alpha %s, init_lora_weights %s, task_type %s, base model %s%n",
                text(c, "peft_type"), text(c, "r"), text(c, "lora_alpha"), text(c, "init_lora_weights"),
                text(c, "task_type"), text(c, "base_model_name_or_path"));
        JsonNode targets = c.get("target_modules");
        out.printf("  target_modules: %s%n", targets == null ? "-" : targets.size() + " " + abbreviate(targets.toString()));
        JsonNode ranks = c.get("rank_pattern");
        if (ranks != null && ranks.size() > 0) {
            Map<Integer, Integer> histogram = new TreeMap<>();
            ranks.forEach(r -> histogram.merge(r.asInt(), 1, Integer::sum));
            out.printf("  rank_pattern: %d layer(s) differ from r; ranks used: %s%n", ranks.size(), histogram);
        }
        if (c.has("eva_config") && !c.get("eva_config").isNull()) out.println("  eva_config: " + c.get("eva_config"));
    }

    private static String text(JsonNode c, String field) {
        JsonNode n = c.get(field);
        return n == null || n.isNull() ? "-" : n.isTextual() ? n.asText() : n.toString();
    }

    private static String abbreviate(String s) {
        return s.length() <= 100 ? s : s.substring(0, 97) + "...";
    }

    private static void printTensors(PrintWriter out, TensorReader reader) {
        Map<String, String> meta = reader.metadata();
        if (!meta.isEmpty()) {
            out.println("metadata:");
            meta.forEach((k, v) -> out.printf("  %s = %s%n", k, abbreviate(v)));
        }
        int nameW = 4;
        for (String n : reader.tensorNames()) nameW = Math.min(80, Math.max(nameW, n.length()));
        out.printf("%-" + nameW + "s  %-5s  %-20s  %14s%n", "name", "dtype", "shape", "parameters");
        long total = 0;
        Map<String, long[]> byType = new TreeMap<>();
        for (String n : reader.tensorNames()) {
            TensorInfo t = reader.info(n);
            total += t.numel();
            long[] agg = byType.computeIfAbsent(t.dtype().name(), k -> new long[2]);
            agg[0]++;
            agg[1] += t.numel();
            out.printf("%-" + nameW + "s  %-5s  %-20s  %,14d%n", n, t.dtype().name(), Shapes.toString(t.shape()), t.numel());
        }
        out.printf("%d tensor(s), %,d parameters", reader.tensorNames().size(), total);
        byType.forEach((k, v) -> out.printf("; %s: %d tensor(s), %,d", k, v[0], v[1]));
        out.println();
    }

    private static String human(long bytes) {
        if (bytes < 1024) return bytes + " B";
        String[] units = {"KiB", "MiB", "GiB", "TiB"};
        double v = bytes;
        int u = -1;
        while (v >= 1024 && u < units.length - 1) { v /= 1024; u++; }
        return String.format("%.1f %s", v, units[u]);
    }
}
