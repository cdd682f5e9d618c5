package dev.eva4j.api.peft;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * Writes a folder all at once: the content goes to a hidden sibling folder, which replaces the target only when
 * every file is written; on failure the target is untouched and the sibling removed.
 */
public final class AtomicDirectory {
    private AtomicDirectory() {}

    @FunctionalInterface
    public interface Writer {
        void write(Path dir) throws IOException;
    }

    public static void write(Path target, Writer writer) throws IOException {
        Path abs = target.toAbsolutePath().normalize();
        Path parent = abs.getParent();
        if (parent == null) throw new IOException("cannot write to the file-system root");
        if (Files.exists(abs) && !Files.isDirectory(abs)) throw new IOException(target + " exists and is not a folder");
        Files.createDirectories(parent);
        Path tmp = Files.createTempDirectory(parent, "." + abs.getFileName() + ".tmp-");
        try {
            writer.write(tmp);
            if (Files.exists(abs)) {
                Path old = parent.resolve("." + abs.getFileName() + ".old-" + System.nanoTime());
                Files.move(abs, old, StandardCopyOption.ATOMIC_MOVE);
                Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE);
                deleteTree(old);
            } else {
                Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE);
            }
        } catch (IOException | RuntimeException | Error e) {
            deleteTree(tmp);
            throw e;
        }
    }

    /** Deletes a folder tree, ignoring what cannot be deleted. */
    public static void deleteTree(Path dir) {
        if (!Files.exists(dir)) return;
        try (Stream<Path> walk = Files.walk(dir)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException ignored) {
                    // best effort: a leftover hidden folder is harmless
                }
            });
        } catch (IOException ignored) {
            // best effort
        }
    }
}
