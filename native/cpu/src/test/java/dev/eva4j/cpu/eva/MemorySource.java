package dev.eva4j.cpu.eva;

import dev.eva4j.api.eva.ActivationSource;
import dev.eva4j.api.eva.Rows;
import dev.eva4j.api.eva.TargetLayer;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** An in-memory activation source over fixed batches (per batch: module -> n x d rows), counting rewinds. */
class MemorySource implements ActivationSource {
    private final List<TargetLayer> layers;
    private final List<List<String>> groups;
    private final List<Map<String, float[][]>> batches;
    private final Arena arena = Arena.ofShared();
    private int next;
    int rewinds;
    int served;

    MemorySource(List<TargetLayer> layers, List<List<String>> groups, List<Map<String, float[][]>> batches) {
        this.layers = layers;
        this.groups = groups;
        this.batches = batches;
    }

    @Override public List<TargetLayer> layers() { return layers; }
    @Override public List<List<String>> groups() { return groups; }

    @Override
    public Map<String, Rows> next() {
        if (next >= batches.size()) return null;
        Map<String, Rows> out = new LinkedHashMap<>();
        for (Map.Entry<String, float[][]> e : batches.get(next++).entrySet()) {
            float[][] x = e.getValue();
            int d = x.length > 0 ? x[0].length : layers.stream().filter(l -> l.module().equals(e.getKey()))
                    .mapToInt(TargetLayer::inFeatures).findFirst().orElse(1); // no rows: the layer's width
            MemorySegment s = arena.allocate(ValueLayout.JAVA_FLOAT, Math.max(1L, (long) x.length * d));
            for (int i = 0; i < x.length; i++) MemorySegment.copy(x[i], 0, s, ValueLayout.JAVA_FLOAT, 4L * i * d, d);
            out.put(e.getKey(), new Rows(s, x.length, d));
        }
        served++;
        return out;
    }

    @Override public void rewind() { next = 0; rewinds++; }
    @Override public void close() { arena.close(); }
}
