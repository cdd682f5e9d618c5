package dev.eva4j.spi;

import java.io.IOException;
import java.nio.file.Path;

/** Reads a model (Hugging Face folder, ONNX export, ...) onto a compute backend. */
public interface ModelLoader extends Provider {

    /** Whether this loader understands what lies at {@code path}; cheap, never throws. */
    boolean supports(Path path);

    /** Loads the model; a user mistake (missing file, unknown model_type) is an {@link IllegalArgumentException}. */
    LoadedModel load(Path path, ComputeBackend backend) throws IOException;
}
