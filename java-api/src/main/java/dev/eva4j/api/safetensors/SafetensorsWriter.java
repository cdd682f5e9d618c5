package dev.eva4j.api.safetensors;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Writes safetensors files the way the reference implementation does: an 8-byte little-endian header length, the
 * compact JSON header ({@code __metadata__} first, then the tensors in the order given, their data contiguous from
 * offset 0) padded with spaces to a multiple of 8 bytes, then the tensors' bytes. The file is written to a temporary
 * file in the same folder and renamed into place, so a failure never leaves a half-written file behind.
 */
public final class SafetensorsWriter {
    private static final JsonFactory JSON = new JsonFactory();
    private static final int COPY_CHUNK_BYTES = 1 << 20;

    private SafetensorsWriter() {}

    /**
     * Writes {@code tensors} and {@code metadata} to {@code file}, replacing it if it exists.
     *
     * @throws IllegalArgumentException for duplicate or forbidden names (checked before anything is written)
     */
    public static void write(Path file, List<TensorData> tensors, Map<String, String> metadata) throws IOException {
        byte[] header = header(tensors, metadata);
        Path dir = file.toAbsolutePath().getParent();
        Path tmp = Files.createTempFile(dir, "." + file.getFileName() + ".", ".tmp");
        try {
            try (FileChannel out = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                ByteBuffer prefix = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, header.length);
                writeFully(out, prefix);
                writeFully(out, ByteBuffer.wrap(header));
                byte[] chunk = new byte[COPY_CHUNK_BYTES];
                for (TensorData t : tensors) {
                    copy(t.bytes(), out, chunk);
                }
                out.force(true);
            }
            try {
                Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** The header bytes (without the length prefix), padded with spaces to a multiple of 8. */
    static byte[] header(List<TensorData> tensors, Map<String, String> metadata) {
        var names = new HashSet<String>();
        for (TensorData t : tensors) {
            if (!names.add(t.name())) {
                throw new IllegalArgumentException("tensor " + Text.quote(t.name()) + " is given twice");
            }
        }
        var json = new ByteArrayOutputStream();
        try (JsonGenerator g = JSON.createGenerator(json)) {
            g.writeStartObject();
            if (!metadata.isEmpty()) {
                g.writeObjectFieldStart(HeaderParser.METADATA_KEY);
                for (var e : metadata.entrySet()) {
                    g.writeStringField(Objects.requireNonNull(e.getKey(), "metadata key"),
                            Objects.requireNonNull(e.getValue(), "metadata value for " + e.getKey()));
                }
                g.writeEndObject();
            }
            long offset = 0;
            for (TensorData t : tensors) {
                g.writeObjectFieldStart(t.name());
                g.writeStringField("dtype", t.dtype().safetensorsName());
                g.writeArrayFieldStart("shape");
                for (long d : t.shape()) {
                    g.writeNumber(d);
                }
                g.writeEndArray();
                long end = offset + t.bytes().byteSize();
                g.writeArrayFieldStart("data_offsets");
                g.writeNumber(offset);
                g.writeNumber(end);
                g.writeEndArray();
                g.writeEndObject();
                offset = end;
            }
            g.writeEndObject();
        } catch (IOException e) {
            throw new IllegalStateException("writing JSON to memory failed", e);
        }
        int padding = (8 - json.size() % 8) % 8;
        for (int i = 0; i < padding; i++) {
            json.write(' ');
        }
        return json.toByteArray();
    }

    private static void copy(MemorySegment src, FileChannel out, byte[] chunk) throws IOException {
        MemorySegment buffer = MemorySegment.ofArray(chunk);
        for (long pos = 0; pos < src.byteSize(); pos += chunk.length) {
            int n = (int) Math.min(chunk.length, src.byteSize() - pos);
            MemorySegment.copy(src, pos, buffer, 0, n);
            writeFully(out, ByteBuffer.wrap(chunk, 0, n));
        }
    }

    private static void writeFully(FileChannel out, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            out.write(b);
        }
    }
}
