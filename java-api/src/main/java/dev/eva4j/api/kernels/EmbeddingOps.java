package dev.eva4j.api.kernels;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Embedding gather and scatter-add (llm.c's encoder_forward / encoder_backward, one table at a time). Shapes:
 * out, dout [N, C]; ids [N] I32, each in [0, V) (checked by the caller); table, dtable [V, C].
 */
final class EmbeddingOps {
    /** Columns per parallel block of the scatter-add (blocks never share an element, so repeated ids are safe). */
    private static final int BLOCK = 256;

    private EmbeddingOps() {}

    /** The first id outside [0, V), as its index, or -1. */
    static int firstOutOfRange(MemorySegment ids, int N, int V) {
        for (int n = 0; n < N; n++) {
            int id = ids.getAtIndex(ValueLayout.JAVA_INT, n);
            if (id < 0 || id >= V) return n;
        }
        return -1;
    }

    /** out[n, :] = table[ids[n], :], or += when accumulate (through {@code rows}). */
    static void forward(RowKernels rows, MemorySegment out, MemorySegment ids, MemorySegment table, int N, int C,
                        boolean accumulate) {
        Parallel.rows(N, C, (first, end) -> rows.embedding(out, ids, table, first, end, C, accumulate));
    }

    /** dtable[ids[n], :] += dout[n, :], in parallel over blocks of columns. */
    static void backward(MemorySegment dtable, MemorySegment dout, MemorySegment ids, int N, int C) {
        int blocks = (C + BLOCK - 1) / BLOCK;
        Parallel.rows(blocks, (long) N * Math.min(C, BLOCK), (first, end) -> {
            int c0 = first * BLOCK, c1 = Math.min(C, end * BLOCK);
            for (int n = 0; n < N; n++) {
                long id = ids.getAtIndex(ValueLayout.JAVA_INT, n);
                VectorOps.addInto(dtable, id * C + c0, dout, (long) n * C + c0, c1 - c0);
            }
        });
    }
}
