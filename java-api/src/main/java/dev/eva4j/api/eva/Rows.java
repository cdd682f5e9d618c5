package dev.eva4j.api.eva;

import java.lang.foreign.MemorySegment;

/** {@code count} real-token rows of one layer's input, {@code count x dim} row-major float32, native order. */
public record Rows(MemorySegment data, int count, int dim) {
    public Rows {
        if (count < 0 || dim < 1) throw new IllegalArgumentException("rows " + count + " x " + dim);
        if (data.byteSize() < 4L * count * dim) {
            throw new IllegalArgumentException("rows hold " + data.byteSize() / 4 + " floats, need " + (long) count * dim);
        }
    }
}
