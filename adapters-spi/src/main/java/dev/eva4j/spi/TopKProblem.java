package dev.eva4j.spi;

import java.lang.foreign.MemorySegment;
import java.util.Objects;

/**
 * One top-k SVD: {@code matrix} is rows x cols row-major (read only); on return {@code singularValues} holds
 * k values, descending, and {@code vt} k x cols right-singular vectors as rows.
 * {@code warmStart} is either {@link MemorySegment#NULL} or k x cols rows spanning a guess of the answer
 * (the previous step's components). {@code seed} fixes the random sketch. Every segment holds elements of
 * {@code dtype}: {@link DType#F32} (the default) or {@link DType#F64}, which only backends whose
 * {@link SvdBackend#supportsFloat64()} is true accept.
 */
public record TopKProblem(int rows, int cols, int k, MemorySegment matrix, MemorySegment singularValues,
                          MemorySegment vt, MemorySegment warmStart, long seed, DType dtype) {

    /** A float32 problem. */
    public TopKProblem(int rows, int cols, int k, MemorySegment matrix, MemorySegment singularValues,
                       MemorySegment vt, MemorySegment warmStart, long seed) {
        this(rows, cols, k, matrix, singularValues, vt, warmStart, seed, DType.F32);
    }

    public TopKProblem {
        Objects.requireNonNull(dtype, "dtype");
        if (dtype != DType.F32 && dtype != DType.F64) throw new IllegalArgumentException("dtype must be F32 or F64, got " + dtype);
        long b = dtype.bytes();
        Objects.requireNonNull(matrix, "matrix");
        Objects.requireNonNull(singularValues, "singularValues");
        Objects.requireNonNull(vt, "vt");
        Objects.requireNonNull(warmStart, "warmStart");
        if (rows < 1 || cols < 1) throw new IllegalArgumentException("matrix must be non-empty, got " + rows + "x" + cols);
        if (k < 1 || k > Math.min(rows, cols)) {
            throw new IllegalArgumentException("k must be in [1, min(rows, cols) = " + Math.min(rows, cols) + "], got " + k);
        }
        if (matrix.byteSize() < b * rows * cols) throw new IllegalArgumentException("matrix holds fewer than rows*cols " + dtype + " values");
        if (singularValues.byteSize() < b * k) throw new IllegalArgumentException("singularValues holds fewer than k " + dtype + " values");
        if (vt.byteSize() < b * k * cols) throw new IllegalArgumentException("vt holds fewer than k*cols " + dtype + " values");
        if (!warmStart.equals(MemorySegment.NULL) && warmStart.byteSize() < b * k * cols) {
            throw new IllegalArgumentException("warmStart holds fewer than k*cols " + dtype + " values");
        }
    }

    public boolean hasWarmStart() {
        return !warmStart.equals(MemorySegment.NULL);
    }
}
