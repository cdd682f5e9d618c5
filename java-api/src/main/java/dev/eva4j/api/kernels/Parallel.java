package dev.eva4j.api.kernels;

import java.util.stream.IntStream;

/**
 * Splits the rows of an op across the common fork-join pool when the work is large (every {@link HostBuffer} is in a
 * shared arena, so any thread may touch it). Chunks are fixed by the sizes alone, so per-chunk partial sums combined
 * in chunk order give the same result on every run.
 */
final class Parallel {
    /** Below this many elements the op runs on the calling thread. */
    static final long MIN_PARALLEL_ELEMENTS = 1 << 16;
    /** Element-wise ops over flat arrays run in rows of this many elements. */
    static final int ROW = 4096;

    interface RowRange {
        void run(int firstRow, int endRow);
    }

    interface ChunkRange {
        void run(int chunk, int firstRow, int endRow);
    }

    interface LongRange {
        void run(long first, long end);
    }

    private Parallel() {}

    /** How many chunks {@link #chunks} splits rows [0, rows) into; {@code rowElements} sizes the work per row. */
    static int chunkCount(int rows, long rowElements) {
        int workers = Runtime.getRuntime().availableProcessors();
        long work = rows * rowElements;
        if (workers < 2 || rows < 2 || work < MIN_PARALLEL_ELEMENTS) return 1;
        return (int) Math.max(1, Math.min(rows, Math.min(4L * workers, work / (MIN_PARALLEL_ELEMENTS / 4))));
    }

    /** Runs {@code body} over rows [0, rows) in chunks, in parallel when large. */
    static void rows(int rows, long rowElements, RowRange body) {
        chunks(rows, chunkCount(rows, rowElements), (chunk, first, end) -> body.run(first, end));
    }

    /** Runs {@code body(c, first, end)} for chunk c in [0, chunks) of rows [0, rows), in parallel when chunks > 1. */
    static void chunks(int rows, int chunks, ChunkRange body) {
        if (chunks <= 1) {
            body.run(0, 0, rows);
            return;
        }
        IntStream.range(0, chunks).parallel().forEach(c -> {
            int first = (int) ((long) rows * c / chunks), end = (int) ((long) rows * (c + 1) / chunks);
            if (first < end) body.run(c, first, end);
        });
    }

    /** Runs {@code body} over [0, n) in rows of {@link #ROW} elements, in parallel when large. */
    static void elements(long n, LongRange body) {
        int rows = Math.toIntExact((n + ROW - 1) / ROW);
        rows(rows, ROW, (first, end) -> body.run((long) first * ROW, Math.min(n, (long) end * ROW)));
    }
}
