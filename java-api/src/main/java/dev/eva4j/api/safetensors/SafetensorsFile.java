package dev.eva4j.api.safetensors;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One safetensors file, memory-mapped read-only in its own shared {@link Arena} (so any size works and the
 * segments may be read from any thread). Layout: an 8-byte little-endian header length {@code N}, {@code N} bytes
 * of JSON, then the data buffer the tensors' {@code data_offsets} index into. {@link #open} validates the whole
 * header; a file that breaks the format is reported by a one-line {@link SafetensorsFormatException}.
 */
public final class SafetensorsFile implements TensorReader {
    private static final ValueLayout.OfLong U64_LE = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Path path;
    private final Arena arena;
    private final MemorySegment data;
    private final long dataStart;
    private final Map<String, String> metadata;
    private final List<TensorInfo> tensors;
    private final Map<String, TensorInfo> byName;
    private final AtomicBoolean closed = new AtomicBoolean();

    private SafetensorsFile(Path path, Arena arena, MemorySegment data, long dataStart, HeaderParser.Header header) {
        this.path = path;
        this.arena = arena;
        this.data = data;
        this.dataStart = dataStart;
        this.metadata = header.metadata();
        this.tensors = header.tensors();
        var map = new LinkedHashMap<String, TensorInfo>();
        for (TensorInfo t : tensors) {
            map.put(t.name(), t);
        }
        this.byName = map;
    }

    /**
     * Maps and validates {@code file}.
     *
     * @throws SafetensorsFormatException if the file breaks the safetensors format (one-line message)
     * @throws IOException                if it cannot be read (missing, not a regular file, ...)
     */
    public static SafetensorsFile open(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw Files.exists(file) ? new IOException(Text.oneLine(file + ": not a regular file"))
                    : new NoSuchFileException(file.toString());
        }
        Arena arena = Arena.ofShared();
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = channel.size();
            if (size < 8) {
                throw new SafetensorsFormatException(file, "file is " + size + " bytes, too short for the 8-byte header length");
            }
            MemorySegment all = channel.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            long headerBytes = all.get(U64_LE, 0);
            if (Long.compareUnsigned(headerBytes, HeaderParser.MAX_HEADER_BYTES) > 0) {
                throw new SafetensorsFormatException(file, "header length " + Long.toUnsignedString(headerBytes)
                        + " bytes exceeds the limit of " + HeaderParser.MAX_HEADER_BYTES + " bytes");
            }
            if (headerBytes > size - 8) {
                throw new SafetensorsFormatException(file, "header length " + headerBytes + " bytes exceeds the file ("
                        + size + " bytes, leaving " + (size - 8) + " after the length)");
            }
            byte[] json = all.asSlice(8, headerBytes).toArray(ValueLayout.JAVA_BYTE);
            HeaderParser.Header header = HeaderParser.parse(file, json, size - 8 - headerBytes);
            return new SafetensorsFile(file, arena, all.asSlice(8 + headerBytes).asReadOnly(), 8 + headerBytes, header);
        } catch (IOException | RuntimeException | Error e) {
            arena.close();
            throw e;
        }
    }

    /** The file this was opened from. */
    public Path path() {
        return path;
    }

    /** Where the data buffer starts in the file: 8 + the header length. */
    public long dataStart() {
        return dataStart;
    }

    @Override
    public Map<String, String> metadata() {
        return metadata;
    }

    /** Every tensor, sorted by offset (file order). */
    public List<TensorInfo> tensors() {
        return tensors;
    }

    @Override
    public List<String> tensorNames() {
        return tensors.stream().map(TensorInfo::name).toList();
    }

    @Override
    public Optional<TensorInfo> find(String name) {
        return Optional.ofNullable(byName.get(name));
    }

    @Override
    public TensorInfo info(String name) {
        TensorInfo t = byName.get(name);
        if (t == null) {
            throw Lookup.missing(Text.fileLabel(path), name, byName.keySet());
        }
        return t;
    }

    @Override
    public MemorySegment raw(String name) {
        TensorInfo t = info(name);
        return data.asSlice(t.begin(), t.byteSize());
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            arena.close();
        }
    }

    @Override
    public String toString() {
        return "SafetensorsFile[" + path + ", " + tensors.size() + " tensors]";
    }
}
