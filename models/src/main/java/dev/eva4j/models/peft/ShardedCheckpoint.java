package dev.eva4j.models.peft;

import dev.eva4j.spi.InvalidInputException;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.eva4j.api.safetensors.SafetensorsWriter;
import dev.eva4j.api.safetensors.TensorData;
import dev.eva4j.api.tensor.DType;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Writes a Hugging Face checkpoint's weights: one {@code model.safetensors}, or, when the tensors exceed the maximum
 * shard size, {@code model-00001-of-0000N.safetensors} shards and a {@code model.safetensors.index.json}
 * ({@code {"metadata": {"total_size": bytes}, "weight_map": {tensor: shard}}}) as {@code transformers} writes them.
 * Tensors keep their order; a shard is closed when the next tensor would take it over the limit (a tensor larger than
 * the limit gets a shard of its own). Each tensor's bytes are made only when its shard is written, in an arena freed
 * after the shard, so at most one shard of new data is in memory.
 */
final class ShardedCheckpoint {
    static final String SINGLE = "model.safetensors";
    static final String INDEX = "model.safetensors.index.json";
    private static final Pattern SIZE = Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*([kmgt]i?b?|b)?", Pattern.CASE_INSENSITIVE);

    /** Makes a tensor's bytes, allocating from {@code arena} when it needs memory. */
    @FunctionalInterface
    interface Maker {
        TensorData make(Arena arena) throws IOException;
    }

    /** A tensor to write: its name, type and shape known in advance (for the shard plan), its bytes made later. */
    record Planned(String name, DType dtype, long[] shape, Maker maker) {
        long bytes() {
            long n = dtype.byteSize();
            for (long d : shape) n = Math.multiplyExact(n, d);
            return n;
        }
    }

    private ShardedCheckpoint() {}

    /** Writes {@code tensors} into {@code dir}; returns the file names written (shards in order). */
    static List<String> write(Path dir, List<Planned> tensors, long maxShardBytes) throws IOException {
        List<List<Planned>> shards = new ArrayList<>();
        List<Planned> current = new ArrayList<>();
        long size = 0, total = 0;
        for (Planned t : tensors) {
            if (!current.isEmpty() && size + t.bytes() > maxShardBytes) {
                shards.add(current);
                current = new ArrayList<>();
                size = 0;
            }
            current.add(t);
            size += t.bytes();
            total += t.bytes();
        }
        if (!current.isEmpty()) shards.add(current);
        List<String> names = new ArrayList<>();
        for (int i = 0; i < shards.size(); i++) {
            names.add(shards.size() == 1 ? SINGLE
                    : String.format(Locale.ROOT, "model-%05d-of-%05d.safetensors", i + 1, shards.size()));
        }
        for (int i = 0; i < shards.size(); i++) {
            try (Arena arena = Arena.ofConfined()) {
                List<TensorData> data = new ArrayList<>();
                for (Planned t : shards.get(i)) data.add(t.maker().make(arena));
                SafetensorsWriter.write(dir.resolve(names.get(i)), data, Map.of("format", "pt"));
            }
        }
        if (shards.size() > 1) {
            ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
            ObjectNode index = json.createObjectNode();
            index.putObject("metadata").put("total_size", total);
            ObjectNode map = index.putObject("weight_map");
            for (int i = 0; i < shards.size(); i++) {
                for (Planned t : shards.get(i)) map.put(t.name(), names.get(i));
            }
            Files.write(dir.resolve(INDEX), json.writeValueAsBytes(index));
        }
        return names;
    }

    /**
     * A size as {@code transformers} reads {@code max_shard_size}: bytes, or a number with KB/MB/GB/TB (powers of
     * 1000) or KiB/MiB/GiB/TiB (powers of 1024), case-insensitive ("2GB", "500MB", "1.5GiB").
     *
     * @throws IllegalArgumentException one line for anything else, or a size below 1 byte
     */
    static long parseSize(String text) {
        Matcher m = SIZE.matcher(text == null ? "" : text.strip());
        if (!m.matches()) {
            throw new InvalidInputException("--max-shard-size must be bytes or a size like 2GB, 500MB or 1GiB, got '"
                    + text + "'");
        }
        String unit = m.group(2) == null ? "b" : m.group(2).toLowerCase(Locale.ROOT);
        boolean binary = unit.contains("i");
        double base = binary ? 1024 : 1000;
        int power = switch (unit.charAt(0)) {
            case 'k' -> 1;
            case 'm' -> 2;
            case 'g' -> 3;
            case 't' -> 4;
            default -> 0;
        };
        double bytes = Double.parseDouble(m.group(1)) * Math.pow(base, power);
        if (!(bytes >= 1) || bytes > Long.MAX_VALUE) {
            throw new InvalidInputException("--max-shard-size must be at least 1 byte, got '" + text + "'");
        }
        return (long) bytes;
    }
}
