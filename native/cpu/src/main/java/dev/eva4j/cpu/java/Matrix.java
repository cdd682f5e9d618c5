package dev.eva4j.cpu.java;

import java.lang.foreign.MemorySegment;

/**
 * A float32 GEMM operand as the caller stored it: row-major from element {@code offset} of {@code seg}, rows
 * {@code ld} elements apart, used transposed when {@code trans}. op(X)(i, j) is X[i * ld + j], or X[j * ld + i]
 * when transposed.
 */
record Matrix(MemorySegment seg, long offset, long ld, boolean trans) {

    /** op(X)(i, j) — for reference paths; the blocked path reads through {@link Packing}. */
    float get(long i, long j) {
        return seg.getAtIndex(Packing.FLOAT, offset + (trans ? j * ld + i : i * ld + j));
    }

    /**
     * A heap copy of the rows x cols matrix as stored (same leading dimension), for segments that other threads
     * may not read (a confined arena's). Null when the span does not fit one array.
     */
    Matrix toHeap(long rows, long cols) {
        long span = (rows - 1) * ld + cols;
        if (span > Integer.MAX_VALUE - 16) return null;
        float[] copy = new float[(int) span];
        MemorySegment.copy(seg, Packing.FLOAT, offset * Float.BYTES, copy, 0, copy.length);
        return new Matrix(MemorySegment.ofArray(copy), 0, ld, trans);
    }

    /** Copies the stored span of this operand back into {@code target} (the inverse of {@link #toHeap}). */
    void copyTo(Matrix target) {
        MemorySegment.copy(seg, 0, target.seg, target.offset * Float.BYTES, seg.byteSize());
    }

    /** The same operand, {@code elements} further on (the next matrix of a strided batch). */
    Matrix shift(long elements) {
        return elements == 0 ? this : new Matrix(seg, offset + elements, ld, trans);
    }
}
