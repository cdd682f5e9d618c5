package dev.eva4j.spi;

import java.lang.foreign.MemorySegment;
import java.util.Objects;

/**
 * One top-k SVD: {@code matrix} is rows x cols row-major float32 (read only); on return {@code singularValues} holds
 * k float32 values, descending, and {@code vt} k x cols float32 right-singular vectors as rows.
 * {@code warmStart} is either {@link MemorySegment#NULL} or k x cols float32 rows spanning a guess of the answer
 * (the previous step's components). {@code seed} fixes the random sketch.
 */
public record TopKProblem(int rows, int cols, int k, MemorySegment matrix, MemorySegment singularValues,
                          MemorySegment vt, MemorySegment warmStart, long seed) {
    public TopKProblem {
        Objects.requireNonNull(matrix, "matrix");
        Objects.requireNonNull(singularValues, "singularValues");
        Objects.requireNonNull(vt, "vt");
        Objects.requireNonNull(warmStart, "warmStart");
        if (rows < 1 || cols < 1) throw new IllegalArgumentException("matrix must be non-empty, got " + rows + "x" + cols);
        if (k < 1 || k > Math.min(rows, cols)) {
            throw new IllegalArgumentException("k must be in [1, min(rows, cols) = " + Math.min(rows, cols) + "], got " + k);
        }
        if (matrix.byteSize() < 4L * rows * cols) throw new IllegalArgumentException("matrix holds fewer than rows*cols floats");
        if (singularValues.byteSize() < 4L * k) throw new IllegalArgumentException("singularValues holds fewer than k floats");
        if (vt.byteSize() < 4L * k * cols) throw new IllegalArgumentException("vt holds fewer than k*cols floats");
        if (!warmStart.equals(MemorySegment.NULL) && warmStart.byteSize() < 4L * k * cols) {
            throw new IllegalArgumentException("warmStart holds fewer than k*cols floats");
        }
    }

    public boolean hasWarmStart() {
        return !warmStart.equals(MemorySegment.NULL);
    }
}
