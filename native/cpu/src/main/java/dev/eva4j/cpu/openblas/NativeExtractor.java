package dev.eva4j.cpu.openblas;

import java.io.IOException;
import java.io.InputStream;
import java.net.URL;
import java.net.URLConnection;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Copies native libraries from the class path into a folder on disk, once: a file already there with the size of
 * its resource is kept. Each file is written to a temporary file in the same folder and then renamed over the
 * target, so JVMs extracting at the same time never see (or map) a half-written library.
 */
final class NativeExtractor {
    private static final Logger LOG = LoggerFactory.getLogger(NativeExtractor.class);

    private NativeExtractor() {}

    /**
     * Extracts {@code resourceDir + name} for every name into {@code targetDir} (created if missing).
     *
     * @return the extracted files, in the order of {@code names}
     * @throws IOException when a resource is missing or a file cannot be written
     */
    static List<Path> extract(ClassLoader loader, String resourceDir, List<String> names, Path targetDir)
            throws IOException {
        Files.createDirectories(targetDir);
        List<Path> out = new ArrayList<>(names.size());
        for (String name : names) {
            String resource = resourceDir + name;
            URL url = loader.getResource(resource);
            if (url == null) throw new IOException("class-path resource " + resource + " not found");
            Path target = targetDir.resolve(name);
            URLConnection connection = url.openConnection();
            connection.setUseCaches(false); // a cached JarFile would stay open after the copy
            long sizeBytes = connection.getContentLengthLong();
            if (sizeBytes >= 0 && Files.isRegularFile(target) && Files.size(target) == sizeBytes) {
                LOG.debug("{} already extracted ({} bytes)", target, sizeBytes);
                try (InputStream ignored = connection.getInputStream()) { /* release the connection */ }
            } else {
                try (InputStream in = connection.getInputStream()) {
                    writeAtomically(in, target);
                }
                LOG.debug("extracted {} to {}", resource, target);
            }
            out.add(target);
        }
        return out;
    }

    private static void writeAtomically(InputStream in, Path target) throws IOException {
        Path tmp = Files.createTempFile(target.getParent(), target.getFileName() + ".", ".tmp");
        try {
            Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }
}
