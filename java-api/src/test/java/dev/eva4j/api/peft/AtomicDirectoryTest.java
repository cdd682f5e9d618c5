package dev.eva4j.api.peft;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A folder written through AtomicDirectory is either the old one or the new one, whatever happens during the write. */
class AtomicDirectoryTest {
    @TempDir
    Path tmp;

    private Path oldFolder() throws IOException {
        Path target = tmp.resolve("checkpoint");
        AtomicDirectory.write(target, dir -> {
            Files.writeString(dir.resolve("weights.bin"), "old");
            Files.writeString(dir.resolve("state.json"), "{\"step\": 1}");
        });
        return target;
    }

    private static List<String> names(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void aFailingWriterLeavesTheOldFolderAndNoTemporaryOne() throws IOException {
        Path target = oldFolder();
        assertThrows(IOException.class, () -> AtomicDirectory.write(target, dir -> {
            Files.writeString(dir.resolve("weights.bin"), "new, half written");
            throw new IOException("disk full");
        }));
        assertEquals("old", Files.readString(target.resolve("weights.bin")));
        assertEquals(List.of("checkpoint"), names(tmp));
    }

    @Test
    void aSuccessfulWriteReplacesTheWholeFolder() throws IOException {
        Path target = oldFolder();
        AtomicDirectory.write(target, dir -> Files.writeString(dir.resolve("other.txt"), "new"));
        assertEquals(List.of("other.txt"), names(target));
        assertEquals(List.of("checkpoint"), names(tmp));
    }

    /** kill -9 of the writing process in the middle of a save: the folder saved before is untouched. */
    @Test
    void aKilledWriterLosesNothingSavedBefore() throws Exception {
        Path target = oldFolder();
        Path marker = tmp.resolve("marker");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process child = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
                SlowAtomicWrite.class.getName(), target.toString(), marker.toString())
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (!Files.exists(marker) && System.nanoTime() < deadline && child.isAlive()) Thread.sleep(50);
            assertTrue(Files.exists(marker), "the child never reached the middle of its write");
        } finally {
            child.destroyForcibly();   // SIGKILL on Linux: no shutdown hooks, no finally blocks
            assertTrue(child.waitFor(30, TimeUnit.SECONDS));
        }
        assertEquals("old", Files.readString(target.resolve("weights.bin")));
        assertEquals("{\"step\": 1}", Files.readString(target.resolve("state.json")));
        assertEquals(List.of("state.json", "weights.bin"), names(target));
        // what the killed process left is a hidden sibling, which no reader takes for the folder
        for (String n : names(tmp)) assertTrue(n.equals("checkpoint") || n.equals("marker") || n.startsWith("."), n);
        assertFalse(Files.exists(target.resolve("other.txt")));
    }
}
