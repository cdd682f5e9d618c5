package dev.eva4j.models.ops;

import java.lang.foreign.MemorySegment;
import java.util.stream.IntStream;

/**
 * Splits the rows of an element-wise op across the common fork-join pool when the work is large and every
 * segment may be touched from another thread (a confined arena's segments may not: then the op runs on the caller).
 */
final class Parallel {
    /** Below this many elements the op runs on the calling thread. */
    static final long MIN_PARALLEL_ELEMENTS = 1 << 16;
    /** Never started: a thread that owns no arena, to ask whether a segment is accessible from any thread. */
    private static final Thread PROBE = Thread.ofPlatform().unstarted(() -> {});

    interface RowRange {
        void run(int firstRow, int endRow);
    }

    private Parallel() {}

    /** Runs {@code body} over rows [0, rows) in chunks; {@code rowElements} sizes the work per row. */
    static void rows(int rows, long rowElements, RowRange body, MemorySegment... touched) {
        int workers = Runtime.getRuntime().availableProcessors();
        long work = rows * rowElements;
        if (workers < 2 || rows < 2 || work < MIN_PARALLEL_ELEMENTS || !shareable(touched)) {
            body.run(0, rows);
            return;
        }
        int chunks = (int) Math.min(rows, Math.min(4L * workers, work / (MIN_PARALLEL_ELEMENTS / 4)));
        if (chunks < 2) {
            body.run(0, rows);
            return;
        }
        IntStream.range(0, chunks).parallel().forEach(c -> {
            int first = (int) ((long) rows * c / chunks), end = (int) ((long) rows * (c + 1) / chunks);
            if (first < end) body.run(first, end);
        });
    }

    private static boolean shareable(MemorySegment[] segments) {
        for (MemorySegment s : segments) {
            if (s != null && !s.isAccessibleBy(PROBE)) return false;
        }
        return true;
    }
}
