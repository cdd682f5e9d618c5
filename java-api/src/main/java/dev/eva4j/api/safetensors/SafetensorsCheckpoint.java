package dev.eva4j.api.safetensors;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A checkpoint stored as safetensors: one file, or the shards named by a {@code model.safetensors.index.json}.
 * {@link #open} accepts
 * <ul>
 *   <li>a {@code .safetensors} file;</li>
 *   <li>a folder with {@code model.safetensors.index.json} (sharded: every shard it names must exist and hold the
 *       tensors mapped to it; tensors a shard holds beyond those are ignored, with a warning);</li>
 *   <li>a folder with {@code model.safetensors}, or else with exactly one {@code *.safetensors} file
 *       (e.g. a PEFT adapter's {@code adapter_model.safetensors}).</li>
 * </ul>
 * Every shard is mapped on open; lookups go to the shard that holds the tensor.
 */
public final class SafetensorsCheckpoint implements TensorReader {
    private static final Logger LOG = LoggerFactory.getLogger(SafetensorsCheckpoint.class);
    /** The file name a single-file Hugging Face checkpoint uses. */
    public static final String SINGLE_FILE_NAME = "model.safetensors";

    private final Path location;
    private final List<SafetensorsFile> shards;
    private final Map<String, SafetensorsFile> shardOf;
    private final Map<String, String> metadata;

    private SafetensorsCheckpoint(Path location, List<SafetensorsFile> shards, Map<String, SafetensorsFile> shardOf,
                                  Map<String, String> metadata) {
        this.location = location;
        this.shards = List.copyOf(shards);
        this.shardOf = Collections.unmodifiableMap(shardOf);
        this.metadata = Collections.unmodifiableMap(metadata);
    }

    /**
     * Opens a safetensors file or a checkpoint folder (see the class comment).
     *
     * @throws SafetensorsFormatException for a corrupt file, an inconsistent index, or a folder without safetensors
     */
    public static SafetensorsCheckpoint open(Path path) throws IOException {
        if (Files.isRegularFile(path)) {
            return single(path, path);
        }
        if (!Files.isDirectory(path)) {
            throw new java.nio.file.NoSuchFileException(path.toString());
        }
        Path index = path.resolve(ShardIndex.FILE_NAME);
        if (Files.isRegularFile(index)) {
            return sharded(path, index);
        }
        Path model = path.resolve(SINGLE_FILE_NAME);
        if (Files.isRegularFile(model)) {
            return single(path, model);
        }
        List<Path> candidates;
        try (Stream<Path> files = Files.list(path)) {
            candidates = files.filter(f -> f.getFileName().toString().endsWith(".safetensors") && Files.isRegularFile(f))
                    .sorted().toList();
        }
        if (candidates.size() == 1) {
            return single(path, candidates.getFirst());
        }
        String found = candidates.isEmpty() ? "no .safetensors file"
                : candidates.size() + " .safetensors files (" + candidates.stream().map(Text::fileLabel).limit(5).toList() + ")";
        throw new SafetensorsFormatException(path, "folder has " + found + " and no " + ShardIndex.FILE_NAME
                + " or " + SINGLE_FILE_NAME + " saying which to read");
    }

    private static SafetensorsCheckpoint single(Path location, Path file) throws IOException {
        SafetensorsFile f = SafetensorsFile.open(file);
        var shardOf = new LinkedHashMap<String, SafetensorsFile>();
        for (String name : f.tensorNames()) {
            shardOf.put(name, f);
        }
        return new SafetensorsCheckpoint(location, List.of(f), shardOf, f.metadata());
    }

    private static SafetensorsCheckpoint sharded(Path dir, Path indexFile) throws IOException {
        ShardIndex index = ShardIndex.read(indexFile);
        var opened = new LinkedHashMap<String, SafetensorsFile>();
        try {
            var shardOf = new LinkedHashMap<String, SafetensorsFile>();
            for (var e : index.weightMap().entrySet()) {
                SafetensorsFile shard = opened.get(e.getValue());
                if (shard == null) {
                    Path file = dir.resolve(e.getValue());
                    if (!Files.isRegularFile(file)) {
                        throw new SafetensorsFormatException(indexFile, "shard " + Text.quote(e.getValue())
                                + " (holding " + Text.quote(e.getKey()) + ") does not exist in " + dir);
                    }
                    shard = SafetensorsFile.open(file);
                    opened.put(e.getValue(), shard);
                }
                if (!shard.contains(e.getKey())) {
                    throw new SafetensorsFormatException(indexFile, "tensor " + Text.quote(e.getKey()) + " is mapped to "
                            + Text.quote(e.getValue()) + ", which does not contain it");
                }
                shardOf.put(e.getKey(), shard);
            }
            var metadata = new LinkedHashMap<>(index.metadata());
            for (SafetensorsFile shard : opened.values()) {
                shard.metadata().forEach(metadata::putIfAbsent);
                long extra = shard.tensorNames().stream().filter(n -> shardOf.get(n) != shard).count();
                if (extra > 0) {
                    LOG.warn("{}: {} tensor(s) not mapped to it by {}; ignoring them",
                            shard.path().getFileName(), extra, indexFile.getFileName());
                }
            }
            return new SafetensorsCheckpoint(dir, new ArrayList<>(opened.values()), shardOf, metadata);
        } catch (IOException | RuntimeException | Error e) {
            opened.values().forEach(SafetensorsFile::close);
            throw e;
        }
    }

    /** The file or folder this was opened from. */
    public Path location() {
        return location;
    }

    /** The shard files, in the order the index first names them (one for a single-file checkpoint). */
    public List<Path> files() {
        return shards.stream().map(SafetensorsFile::path).toList();
    }

    /**
     * For a single file its {@code __metadata__}; for a sharded checkpoint the index's {@code metadata} (e.g.
     * {@code total_size}, numbers as their JSON text) followed by the shards' {@code __metadata__} keys it lacks.
     */
    @Override
    public Map<String, String> metadata() {
        return metadata;
    }

    /** All tensor names: a single file's in offset order, a sharded checkpoint's in the index's order. */
    @Override
    public List<String> tensorNames() {
        return List.copyOf(shardOf.keySet());
    }

    @Override
    public Optional<TensorInfo> find(String name) {
        SafetensorsFile shard = shardOf.get(name);
        return shard == null ? Optional.empty() : shard.find(name);
    }

    @Override
    public TensorInfo info(String name) {
        SafetensorsFile shard = shardOf.get(name);
        if (shard == null) {
            throw Lookup.missing(Text.fileLabel(location), name, shardOf.keySet());
        }
        return shard.info(name);
    }

    /** The file holding {@code name}. */
    public Path fileOf(String name) {
        info(name);
        return shardOf.get(name).path();
    }

    @Override
    public MemorySegment raw(String name) {
        info(name);
        return shardOf.get(name).raw(name);
    }

    @Override
    public void close() {
        shards.forEach(SafetensorsFile::close);
    }

    @Override
    public String toString() {
        return "SafetensorsCheckpoint[" + location + ", " + shards.size() + " files, " + shardOf.size() + " tensors]";
    }
}
