package dev.eva4j.api.safetensors;

import java.io.IOException;
import java.io.Serial;
import java.nio.file.Path;

/**
 * A safetensors file (or a sharded checkpoint's index) that breaks the format. The message is always one line:
 * the file's name, a colon, and the problem, e.g.
 * {@code model.safetensors: tensor 'x' offsets [10, 20) overlap tensor 'y' [0, 16)}.
 */
public final class SafetensorsFormatException extends IOException {
    @Serial
    private static final long serialVersionUID = 1L;

    /** @param file the offending file; only its name goes into the message */
    public SafetensorsFormatException(Path file, String problem) {
        this(file, problem, null);
    }

    /** @param file the offending file; only its name goes into the message */
    public SafetensorsFormatException(Path file, String problem, Throwable cause) {
        super(Text.oneLine(Text.fileLabel(file) + ": " + problem), cause);
    }
}
