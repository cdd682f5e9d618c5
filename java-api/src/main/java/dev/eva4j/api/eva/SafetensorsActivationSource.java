package dev.eva4j.api.eva;

import dev.eva4j.spi.InvalidInputException;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.eva4j.api.safetensors.SafetensorsFile;
import dev.eva4j.api.safetensors.TensorInfo;
import dev.eva4j.api.tensor.DType;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Activations produced elsewhere, as safetensors: one file, or a folder of files read in name order, one file per
 * batch. Each tensor holds one layer's masked rows, named by module path, shape [rows, d_in], F32/F16/BF16. The
 * first file's {@code __metadata__} may carry {@code eva4j.out_features} (JSON object: module path -> out features)
 * and {@code eva4j.groups} (JSON list of lists of module paths sharing an input). A tensor of more than
 * {@code rowsPerStep} rows is split into steps of at most that many rows: ceil(rows / rowsPerStep) steps, the last
 * one holding the remainder (a remainder smaller than the k rows a step needs is skipped by the engine for that step).
 *
 * <p>Memory stays bounded: one file is mapped at a time and F32 rows are read in place (copied when the file leaves
 * them unaligned); F16/BF16 rows are widened one step at a time, and only for the layers named by the last
 * {@link #request} (the engine names the layers that have not converged), so converged layers cost neither reads nor
 * copies. Not thread-safe.
 */
public final class SafetensorsActivationSource implements ActivationSource {
    public static final String OUT_FEATURES_KEY = "eva4j.out_features";
    public static final String GROUPS_KEY = "eva4j.groups";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final List<Path> files;
    private final int rowsPerStep;
    private final List<TargetLayer> layers;
    private final List<List<String>> groups;
    private final Map<String, Integer> dims = new LinkedHashMap<>();

    private int fileIndex;
    private SafetensorsFile current;
    private Arena stepArena;
    private int chunk;       // which chunk of the current file comes next
    private int chunks;      // how many chunks the current file has
    private Set<String> requested; // null: every layer

    /**
     * @param outFeatures module path -> out features, overriding or completing the file's metadata (may be empty)
     */
    public static SafetensorsActivationSource open(Path path, int rowsPerStep, Map<String, Integer> outFeatures)
            throws IOException {
        if (rowsPerStep < 1) throw new InvalidInputException("--rows-per-step must be >= 1, got " + rowsPerStep);
        List<Path> files = list(path);
        return new SafetensorsActivationSource(files, rowsPerStep, outFeatures);
    }

    static List<Path> list(Path path) throws IOException {
        if (!Files.exists(path)) throw new java.nio.file.NoSuchFileException(path.toString());
        if (Files.isRegularFile(path)) return List.of(path);
        List<Path> files;
        try (Stream<Path> s = Files.list(path)) {
            files = s.filter(p -> p.getFileName().toString().endsWith(".safetensors") && Files.isRegularFile(p))
                    .sorted().toList();
        }
        if (files.isEmpty()) throw new InvalidInputException(path + ": no .safetensors files in this folder");
        return files;
    }

    private SafetensorsActivationSource(List<Path> files, int rowsPerStep, Map<String, Integer> outFeatures)
            throws IOException {
        this.files = files;
        this.rowsPerStep = rowsPerStep;
        try (SafetensorsFile first = SafetensorsFile.open(files.getFirst())) {
            if (first.tensors().isEmpty()) throw new InvalidInputException(files.getFirst() + ": holds no tensors");
            Map<String, Integer> out = new LinkedHashMap<>(parseOutFeatures(first));
            out.putAll(outFeatures);
            for (TensorInfo t : first.tensors()) dims.put(t.name(), checkShape(files.getFirst(), t));
            this.groups = parseGroups(first, dims.keySet());
            // layers: tensors in file order; the members of a group follow its first member with a tensor, in the
            // group's order (a producer may store the shared input once, under one member)
            List<String> order = new ArrayList<>();
            Map<String, Integer> inFeatures = new LinkedHashMap<>();
            for (TensorInfo t : first.tensors()) {
                List<String> group = groups.stream().filter(g -> g.contains(t.name())).findFirst().orElse(List.of(t.name()));
                for (String m : group) {
                    if (order.contains(m)) continue;
                    order.add(m);
                    inFeatures.put(m, dims.getOrDefault(m, dims.get(t.name())));
                }
            }
            List<TargetLayer> ls = new ArrayList<>();
            for (String m : order) {
                Integer o = out.get(m);
                if (o == null) {
                    throw new InvalidInputException(files.getFirst() + ": out features of '" + m + "' unknown;"
                            + " put them in the file's __metadata__ as " + OUT_FEATURES_KEY + " or pass --out-features");
                }
                ls.add(new TargetLayer(m, inFeatures.get(m), o));
            }
            this.layers = List.copyOf(ls);
            dims.putAll(inFeatures); // later files may store a group's rows under another member
        }
    }

    private static Map<String, Integer> parseOutFeatures(SafetensorsFile f) {
        String v = f.metadata().get(OUT_FEATURES_KEY);
        if (v == null) return Map.of();
        Map<String, Integer> out = new LinkedHashMap<>();
        JsonNode n = parse(f.path(), OUT_FEATURES_KEY, v);
        if (!n.isObject()) throw new InvalidInputException(f.path() + ": " + OUT_FEATURES_KEY + " must be a JSON object");
        for (Iterator<Map.Entry<String, JsonNode>> it = n.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!e.getValue().canConvertToInt() || e.getValue().asInt() < 1) {
                throw new InvalidInputException(f.path() + ": " + OUT_FEATURES_KEY + "['" + e.getKey()
                        + "'] must be a positive integer");
            }
            out.put(e.getKey(), e.getValue().asInt());
        }
        return out;
    }

    private static List<List<String>> parseGroups(SafetensorsFile f, Set<String> known) {
        String v = f.metadata().get(GROUPS_KEY);
        if (v == null) return List.of();
        JsonNode n = parse(f.path(), GROUPS_KEY, v);
        String shape = f.path() + ": " + GROUPS_KEY + " must be a JSON list of lists of module paths";
        if (!n.isArray()) throw new InvalidInputException(shape);
        List<List<String>> groups = new ArrayList<>();
        for (JsonNode g : n) {
            if (!g.isArray()) throw new InvalidInputException(shape);
            List<String> members = new ArrayList<>();
            for (JsonNode m : g) {
                if (!m.isTextual()) throw new InvalidInputException(shape);
                if (members.contains(m.asText())) {
                    throw new InvalidInputException(f.path() + ": " + GROUPS_KEY + " names '" + m.asText() + "' twice");
                }
                members.add(m.asText());
            }
            if (members.stream().noneMatch(known::contains)) {
                throw new InvalidInputException(f.path() + ": " + GROUPS_KEY + " group " + members
                        + " has no tensor in the file");
            }
            groups.add(List.copyOf(members));
        }
        return List.copyOf(groups);
    }

    private static JsonNode parse(Path file, String key, String value) {
        try {
            return JSON.readTree(value);
        } catch (JsonProcessingException e) {
            throw new InvalidInputException(file + ": " + key + " is not valid JSON: "
                    + e.getOriginalMessage().lines().findFirst().orElse(""));
        }
    }

    private static int checkShape(Path file, TensorInfo t) {
        if (t.dtype() != DType.F32 && t.dtype() != DType.F16 && t.dtype() != DType.BF16) {
            throw new InvalidInputException(file + ": tensor '" + t.name() + "' is " + t.dtype()
                    + "; activations must be F32, F16 or BF16");
        }
        long[] s = t.shape();
        if (s.length != 2 || s[1] < 1 || s[1] > Integer.MAX_VALUE || s[0] > Integer.MAX_VALUE) {
            throw new InvalidInputException(file + ": tensor '" + t.name() + "' has shape "
                    + java.util.Arrays.toString(s) + "; activations must be [rows, d_in]");
        }
        return (int) s[1];
    }

    @Override
    public List<TargetLayer> layers() {
        return layers;
    }

    @Override
    public List<List<String>> groups() {
        return groups;
    }

    /** The files, in the order they are read. */
    public List<Path> files() {
        return files;
    }

    /** Later batches hold rows only for these layers (until the next call); tensors of other layers are not read. */
    @Override
    public void request(Set<String> modules) {
        requested = Set.copyOf(modules);
    }

    @Override
    public Map<String, Rows> next() throws IOException {
        if (stepArena != null) {
            stepArena.close();
            stepArena = null;
        }
        while (current == null || chunk >= chunks) {
            closeCurrent();
            if (fileIndex >= files.size()) return null;
            openFile(files.get(fileIndex++));
        }
        stepArena = Arena.ofConfined();
        Map<String, Rows> batch = new LinkedHashMap<>();
        for (TensorInfo t : current.tensors()) {
            int d = dims.get(t.name());
            int rows = (int) t.shape()[0];
            int n = chunkCount(rows);
            if (chunk >= n || requested != null && !requested.contains(t.name())) continue;
            long from = (long) chunk * rowsPerStep;
            long to = Math.min(rows, from + rowsPerStep);
            batch.put(t.name(), rows(t, from, to, d));
        }
        chunk++;
        return batch;
    }

    private Rows rows(TensorInfo t, long from, long to, int d) {
        MemorySegment raw = current.raw(t.name());
        int count = (int) (to - from);
        long elems = (long) count * d;
        // F32 rows are used in place when 4-byte aligned; the format does not promise that (any header length is
        // valid), and the kernels read floats with aligned accesses, so unaligned rows are copied
        if (t.dtype() == DType.F32 && ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN
                && raw.address() % Float.BYTES == 0) {
            return new Rows(raw.asSlice(from * d * 4, elems * 4), count, d);
        }
        MemorySegment out = current.floats(t.name(), from * d, elems, stepArena); // F16/BF16: widened; F32: copied
        return new Rows(out, count, d);
    }

    private int chunkCount(int rows) {
        return rows <= rowsPerStep ? 1 : (int) ((rows + (long) rowsPerStep - 1) / rowsPerStep);
    }

    private void openFile(Path file) throws IOException {
        current = SafetensorsFile.open(file);
        int maxChunks = 0;
        for (TensorInfo t : current.tensors()) {
            Integer d = dims.get(t.name());
            int dim = checkShape(file, t);
            if (d == null) {
                throw new InvalidInputException(file + ": tensor '" + t.name() + "' is not a layer declared by the first file "
                        + files.getFirst().getFileName());
            }
            if (dim != d) {
                throw new InvalidInputException(file + ": tensor '" + t.name() + "' has d_in = " + dim
                        + " but " + d + " in " + files.getFirst().getFileName());
            }
            maxChunks = Math.max(maxChunks, chunkCount((int) t.shape()[0]));
        }
        chunk = 0;
        chunks = maxChunks;
    }

    private void closeCurrent() {
        if (current != null) {
            current.close();
            current = null;
        }
    }

    @Override
    public void rewind() {
        if (stepArena != null) {
            stepArena.close();
            stepArena = null;
        }
        closeCurrent();
        fileIndex = 0;
        chunk = chunks = 0;
    }

    @Override
    public void close() {
        rewind();
    }
}
