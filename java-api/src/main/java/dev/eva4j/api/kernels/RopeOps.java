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
        Parallel.rows(N, (long) H * HS, (first, end) -> {
            float[] cos = new float[half], sin = new float[half];
            for (int n = first; n < end; n++) {
                float pos = (float) positions.getAtIndex(ValueLayout.JAVA_INT, n);
                for (int i = 0; i < half; i++) {
                    float angle = pos * inv[i];
                    cos[i] = (float) Math.cos(angle);
                    sin[i] = (float) Math.sin(angle);
                }
                for (int h = 0; h < H; h++) {
                    long base = ((long) n * H + h) * HS;
                    for (int i = 0; i < half; i++) {
                        float c = cos[i], s = sin[i];
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
}
