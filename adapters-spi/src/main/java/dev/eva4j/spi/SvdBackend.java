package dev.eva4j.spi;

import java.lang.foreign.MemorySegment;

/**
 * Singular value decompositions for EVA. The incremental-PCA step over a batch of layer groups is added by the EVA
 * engine issue; today's contract is the thin top-k SVD of one matrix (also used for PiSSA-style baselines).
 */
public interface SvdBackend extends Provider {

    /**
     * Top-k singular triplets of a row-major m x n float32 matrix A (A is not modified).
     * Fills {@code s} (k values, descending) and {@code vt} (k x n, unit rows: the right-singular vectors),
     * 1 <= k <= min(m, n).
     */
    void topK(int m, int n, int k, MemorySegment a, MemorySegment s, MemorySegment vt);
}
