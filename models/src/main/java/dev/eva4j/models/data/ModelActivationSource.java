package dev.eva4j.models.data;

import dev.eva4j.api.eva.ActivationSource;
import dev.eva4j.api.eva.Rows;
import dev.eva4j.api.eva.TargetLayer;
import dev.eva4j.models.Batch;
import dev.eva4j.models.LinearModule;
import dev.eva4j.models.TransformerModel;
import dev.eva4j.spi.ActivationHook;
import dev.eva4j.spi.DType;
import dev.eva4j.spi.Kernels;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * EVA's activations from a model's forward passes over a data file: for each batch, the masked input rows of one
 * member of every equal-input group among the targets (the group's other members see the same rows). It honours
 * {@link #request}: only the groups still named are collected, and the model runs only as deep as the deepest of
 * them ({@link TransformerModel#collect}), so late EVA steps that wait for one early layer cost a fraction of a pass.
 */
public final class ModelActivationSource implements ActivationSource {
    private final TransformerModel model;
    private final BatchReader data;
    private final List<TargetLayer> layers = new ArrayList<>();
    private final List<List<String>> groups = new ArrayList<>();
    private final Set<String> hooked = new HashSet<>();
    /** Module path -> the member of its group that is hooked (itself when ungrouped). */
    private final Map<String, String> hookedFor = new java.util.HashMap<>();
    private Set<String> active; // the hooked paths the engine still needs; null: all
    /**
     * Buffers for the collected rows, one per hooked layer, kept between batches while the layer is still collected
     * (a batch's rows are valid until the next call of {@link #next}) and freed once it is not. Reusing them spares
     * every batch the allocation, zeroing and page faults of fresh memory (on the demo, about 126 MB per early batch).
     */
    private final Map<String, Slot> slots = new java.util.HashMap<>();

    private record Slot(Arena arena, MemorySegment rows) {}
    private long tokens;

    public ModelActivationSource(TransformerModel model, List<LinearModule> targets, BatchReader data) {
        this.model = model;
        this.data = data;
        Set<String> targetPaths = new HashSet<>();
        for (LinearModule l : targets) {
            layers.add(new TargetLayer(l.path(), l.inFeatures(), l.outFeatures()));
            targetPaths.add(l.path());
        }
        Set<String> grouped = new HashSet<>();
        for (List<String> g : model.equalInputGroups()) {
            List<String> members = g.stream().filter(targetPaths::contains).toList();
            if (members.isEmpty()) continue;
            if (members.size() > 1) groups.add(members);
            hooked.add(members.getFirst());
            grouped.addAll(members);
            for (String m : members) hookedFor.put(m, members.getFirst());
        }
        for (String t : targetPaths) {
            if (grouped.contains(t)) continue;
            hooked.add(t);
            hookedFor.put(t, t);
        }
    }

    @Override
    public void request(Set<String> modules) {
        Set<String> a = new HashSet<>();
        for (String m : modules) {
            String h = hookedFor.get(m);
            if (h != null) a.add(h);
        }
        active = a;
    }

    @Override
    public List<TargetLayer> layers() {
        return layers;
    }

    @Override
    public List<List<String>> groups() {
        return groups;
    }

    /** Real tokens seen so far (the engine's report times the forward passes, as time spent in {@link #next}). */
    public long tokens() {
        return tokens;
    }

    @Override
    public Map<String, Rows> next() throws IOException {
        Batch batch = data.next();
        if (batch == null) return null;
        Map<String, Rows> out = new LinkedHashMap<>();
        ActivationHook collect = (module, x, n, dIn, tokenMask) -> {
            int real = 0;
            for (int i = 0; i < n; i++) if (tokenMask.get(ValueLayout.JAVA_BYTE, i) != 0) real++;
            MemorySegment rows = slot(module, 4L * Math.max(1, real) * dIn, 4L * Math.max(1, n) * dIn);
            Kernels k = x.owner();
            MemorySegment host = k.hostSegment(x).filter(s -> x.dtype() == DType.F32).orElse(null);
            int r = 0;
            for (int i = 0; i < n; ) { // runs of real tokens, one copy each
                if (tokenMask.get(ValueLayout.JAVA_BYTE, i) == 0) {
                    i++;
                    continue;
                }
                int end = i + 1;
                while (end < n && tokenMask.get(ValueLayout.JAVA_BYTE, end) != 0) end++;
                long len = 4L * (end - i) * dIn;
                if (host != null) {
                    MemorySegment.copy(host, 4L * i * dIn, rows, 4L * r * dIn, len);
                } else {
                    k.downloadFloats(x, (long) i * dIn, rows.asSlice(4L * r * dIn, len));
                }
                r += end - i;
                i = end;
            }
            out.put(module, new Rows(rows, real, dIn));
        };
        model.collect(batch, active == null ? hooked : active, collect);
        slots.entrySet().removeIf(e -> { // layers no longer collected give their memory back
            if (out.containsKey(e.getKey())) return false;
            e.getValue().arena().close();
            return true;
        });
        for (byte b : batch.tokenMask()) if (b != 0) tokens++;
        return out;
    }

    /**
     * The layer's buffer as a slice of {@code bytes}; one too small is replaced by one of {@code capacity} bytes (the
     * rows of every position of the batch), so it does not grow again for batches of the same shape.
     */
    private MemorySegment slot(String module, long bytes, long capacity) {
        Slot slot = slots.get(module);
        if (slot == null || slot.rows().byteSize() < bytes) {
            if (slot != null) slot.arena().close();
            Arena a = Arena.ofShared();
            slot = new Slot(a, a.allocate(Math.max(bytes, capacity), 64));
            slots.put(module, slot);
        }
        return slot.rows().asSlice(0, bytes);
    }

    @Override
    public void rewind() throws IOException {
        data.rewind();
    }

    @Override
    public void close() throws IOException {
        for (Slot slot : slots.values()) slot.arena().close();
        slots.clear();
        data.close();
    }
}
