package dev.eva4j.models.ops;

import static dev.eva4j.models.ops.Floats.F32;

import java.lang.foreign.MemorySegment;

/** Row-wise softmax (max-subtracted; the sum accumulates in float64). out may be inp. */
public final class Softmax {
    private Softmax() {}

    /** out[r, :] = exp(inp[r, :] - max) / sum. Shapes: inp, out [R, K]. */
    public static void forward(MemorySegment out, MemorySegment inp, int rows, int cols) {
        String shape = "[R=" + rows + ", K=" + cols + "]";
        Floats.require("softmax", "inp", inp, (long) rows * cols, shape);
        Floats.require("softmax", "out", out, (long) rows * cols, shape);
        Parallel.rows(rows, cols, (first, end) -> {
            for (int r = first; r < end; r++) row(out, inp, (long) r * cols, cols);
        }, out, inp);
    }

    /** Softmax of the {@code k} floats from index {@code base}; a row of -inf only gives zeros. */
    static void row(MemorySegment out, MemorySegment inp, long base, int k) {
        VectorKernels.softmaxRow(out, inp, base, k);
    }

    /** The scalar version of {@link #row} (kept as the readable statement of the op). */
    static void rowScalar(MemorySegment out, MemorySegment inp, long base, int k) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < k; i++) max = Math.max(max, inp.getAtIndex(F32, base + i));
        if (max == Float.NEGATIVE_INFINITY) {
            for (int i = 0; i < k; i++) out.setAtIndex(F32, base + i, 0f);
            return;
        }
        double sum = 0;
        for (int i = 0; i < k; i++) {
            float e = (float) Math.exp(inp.getAtIndex(F32, base + i) - max);
            out.setAtIndex(F32, base + i, e);
            sum += e;
        }
        float inv = (float) (1 / sum);
        for (int i = 0; i < k; i++) out.setAtIndex(F32, base + i, out.getAtIndex(F32, base + i) * inv);
    }
}
