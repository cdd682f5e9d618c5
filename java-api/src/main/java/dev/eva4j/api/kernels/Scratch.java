package dev.eva4j.api.kernels;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * Work memory of one {@link HostKernels} (attention scores, a dropped-out input), kept between calls so that a
 * forward pass does not allocate and zero tens of megabytes per layer. Thread-safe: concurrent callers each take
 * their own segment. Segments come from automatic arenas, so those dropped from the cache are freed by the garbage
 * collector. A taken segment holds whatever its last user left: callers write before they read.
 */
final class Scratch {
    /** Segments kept for reuse; more concurrent callers allocate and later drop the smallest. */
    private static final int KEEP = 2;

    private final List<MemorySegment> free = new ArrayList<>();

    /** A segment of at least {@code floats} float32 elements, to be handed back with {@link #give}. */
    MemorySegment take(long floats) {
        long bytes = Math.multiplyExact(Math.max(1, floats), (long) Float.BYTES);
        synchronized (free) {
            for (int i = 0; i < free.size(); i++) {
                if (free.get(i).byteSize() >= bytes) return free.remove(i);
            }
        }
        return Arena.ofAuto().allocate(bytes, 64);
    }

    /** Hands a segment from {@link #take} back. */
    void give(MemorySegment segment) {
        synchronized (free) {
            free.add(segment);
            free.sort((x, y) -> Long.compare(x.byteSize(), y.byteSize()));
            while (free.size() > KEEP) free.removeFirst();
        }
    }
}
