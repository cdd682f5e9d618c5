package dev.eva4j.api.peft;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A child process for {@link AtomicDirectoryTest}: replaces folder {@code args[0]} through {@link AtomicDirectory},
 * writes half of the new content, creates the marker file {@code args[1]} and then waits to be killed.
 */
public final class SlowAtomicWrite {
    private SlowAtomicWrite() {}

    public static void main(String[] args) throws Exception {
        AtomicDirectory.write(Path.of(args[0]), dir -> {
            Files.writeString(dir.resolve("weights.bin"), "new, half written");
            Files.writeString(Path.of(args[1]), "inside the write");
            try {
                Thread.sleep(60_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            Files.writeString(dir.resolve("state.json"), "{\"step\": 2}");
        });
    }
}
