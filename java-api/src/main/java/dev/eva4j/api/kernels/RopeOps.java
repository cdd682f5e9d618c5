package dev.eva4j.api.kernels;

import static dev.eva4j.api.kernels.VectorOps.F32;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Rotary position embeddings in Hugging Face Llama's rotate-half convention: with h = HS/2 and angle
 * a_i = (float) pos * invFreq[i] (a float32 product, as HF computes it), cos and sin rounded to float,
 * out[i] = x[i] cos a_i - x[i + h] sin a_i and out[i + h] = x[i + h] cos a_i + x[i] sin a_i, for i < h.
 * Shapes: x [N, H, HS]; positions [N] I32; invFreq [HS/2]. Arguments are checked by the caller.
 */
final class RopeOps {
    private RopeOps() {}

    /** out = R(a) inp; out may be inp. */
    static void forward(MemorySegment out, MemorySegment inp, MemorySegment positions, MemorySegment invFreq, int N,
                        int H, int HS) {
        rotate(out, inp, positions, invFreq, N, H, HS, false);
    }

    /** dinp += R(-a) dout. */
    static void backward(MemorySegment dinp, MemorySegment dout, MemorySegment positions, MemorySegment invFreq,
                         int N, int H, int HS) {
        rotate(dinp, dout, positions, invFreq, N, H, HS, true);
    }

    private static void rotate(MemorySegment out, MemorySegment inp, MemorySegment positions, MemorySegment invFreq,
                               int N, int H, int HS, boolean backward) {
        int half = HS / 2;
        float[] inv = new float[half];
        MemorySegment.copy(invFreq, F32, 0, inv, 0, half);
        // cos and sin per distinct position when the positions span at most N values (0..T-1 in every sequence of a
        // batch: T rows of tables, not B*T), else per row
        int min = Integer.MAX_VALUE, max = Integer.MIN_VALUE;
        for (int n = 0; n < N; n++) {
            int p = positions.getAtIndex(ValueLayout.JAVA_INT, n);
            min = Math.min(min, p);
            max = Math.max(max, p);
        }
        boolean table = (long) max - min < N;
        int first = min, span = table ? max - min + 1 : 0;
        float[] cosTable = new float[span * half], sinTable = new float[span * half];
        for (int r = 0; r < span; r++) angles(first + r, inv, cosTable, sinTable, r * half);
        Parallel.rows(N, (long) H * HS, (firstRow, endRow) -> {
            float[] cos = table ? cosTable : new float[half], sin = table ? sinTable : new float[half];
            for (int n = firstRow; n < endRow; n++) {
                int pos = positions.getAtIndex(ValueLayout.JAVA_INT, n), at = 0;
                if (table) at = (pos - first) * half;
                else angles(pos, inv, cos, sin, 0);
                for (int h = 0; h < H; h++) {
                    long base = ((long) n * H + h) * HS;
                    for (int i = 0; i < half; i++) {
                        float c = cos[at + i], s = sin[at + i];
                        float x1 = inp.getAtIndex(F32, base + i), x2 = inp.getAtIndex(F32, base + i + half);
                        if (backward) {
                            out.setAtIndex(F32, base + i, out.getAtIndex(F32, base + i) + (x1 * c + x2 * s));
                            out.setAtIndex(F32, base + i + half, out.getAtIndex(F32, base + i + half) + (x2 * c - x1 * s));
                        } else {
                            out.setAtIndex(F32, base + i, x1 * c - x2 * s);
                            out.setAtIndex(F32, base + i + half, x2 * c + x1 * s);
                        }
                    }
                }
            }
        });
    }

    /** cos[at + i], sin[at + i] of the angle (float) pos * inv[i], i < inv.length. */
    private static void angles(int pos, float[] inv, float[] cos, float[] sin, int at) {
        for (int i = 0; i < inv.length; i++) {
            float angle = (float) pos * inv[i];
            cos[at + i] = (float) Math.cos(angle);
            sin[at + i] = (float) Math.sin(angle);
        }
    }
}
