package dev.eva4j.cpu.openblas;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Extraction of the bundled libraries (the two small ones, to keep the test quick). */
class NativeExtractorTest {
    private static final List<String> NAMES = List.of("libgcc_s.so.1", "libquadmath.so.0");
    private static final ClassLoader LOADER = NativeExtractorTest.class.getClassLoader();

    private static byte[] resource(String name) throws IOException {
        try (InputStream in = LOADER.getResourceAsStream(OpenBlasLibrary.RESOURCE_DIR + name)) {
            return in.readAllBytes();
        }
    }

    private static Object fileKey(Path p) throws IOException {
        return Files.readAttributes(p, BasicFileAttributes.class).fileKey(); // (device, inode) on Linux
    }

    @Test
    void extractsExactCopiesAndIsIdempotent(@TempDir Path dir) throws IOException {
        Path target = dir.resolve("native/x");
        List<Path> first = NativeExtractor.extract(LOADER, OpenBlasLibrary.RESOURCE_DIR, NAMES, target);
        assertEquals(List.of(target.resolve(NAMES.get(0)), target.resolve(NAMES.get(1))), first);
        for (int i = 0; i < NAMES.size(); i++) assertArrayEquals(resource(NAMES.get(i)), Files.readAllBytes(first.get(i)));
        Object key = fileKey(first.get(1));

        List<Path> second = NativeExtractor.extract(LOADER, OpenBlasLibrary.RESOURCE_DIR, NAMES, target);
        assertEquals(first, second);
        assertEquals(key, fileKey(second.get(1)), "a complete file was written again");
        try (var files = Files.list(target)) {
            assertEquals(2, files.count(), "temporary files left behind");
        }
    }

    @Test
    void replacesAFileOfTheWrongSize(@TempDir Path dir) throws IOException {
        Path truncated = Files.write(dir.resolve(NAMES.get(0)), new byte[] {1, 2, 3});
        Object key = fileKey(truncated);
        NativeExtractor.extract(LOADER, OpenBlasLibrary.RESOURCE_DIR, NAMES, dir);
        assertArrayEquals(resource(NAMES.get(0)), Files.readAllBytes(truncated));
        assertNotEquals(key, fileKey(truncated), "not replaced by rename");
    }

    @Test
    void missingResourceIsAnIOExceptionNamingIt(@TempDir Path dir) {
        IOException e = assertThrows(IOException.class, () -> NativeExtractor.extract(LOADER,
                OpenBlasLibrary.RESOURCE_DIR, List.of("libnothing.so"), dir));
        assertTrue(e.getMessage().contains("org/bytedeco/openblas/linux-x86_64/libnothing.so"), e.getMessage());
    }

    @Test
    void concurrentExtractionsAllSeeCompleteFiles(@TempDir Path dir) throws Exception {
        byte[] want = resource(NAMES.get(1));
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<List<Path>>> runs = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                runs.add(pool.submit(() -> NativeExtractor.extract(LOADER, OpenBlasLibrary.RESOURCE_DIR, NAMES, dir)));
            }
            for (Future<List<Path>> run : runs) assertArrayEquals(want, Files.readAllBytes(run.get().get(1)));
        } finally {
            pool.shutdown();
        }
        try (var files = Files.list(dir)) {
            assertEquals(2, files.count(), "temporary files left behind");
        }
    }
}
