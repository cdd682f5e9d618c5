package dev.eva4j.models.bert;

import static dev.eva4j.models.ops.Floats.F32;

import dev.eva4j.models.ops.Floats;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/** Sentence embeddings from a last hidden state, as sentence-transformers computes them. Sums in float64. */
public final class Pooling {
    private Pooling() {}

    /**
     * out[b, :] = sum_t mask[b, t] hidden[b, t, :] / max(sum_t mask[b, t], 1e-9): the mean over real tokens.
     * Shapes: hidden [B, T, C], attentionMask [B, T], out [B, C] (allocated from {@code arena}).
     */
    public static MemorySegment mean(MemorySegment hidden, int[] attentionMask, int B, int T, int C, Arena arena) {
        if (attentionMask.length != B * T) {
            throw new IllegalArgumentException("mean pooling: mask holds " + attentionMask.length + " values, need B*T="
                    + B * T);
        }
        MemorySegment out = Floats.allocate(arena, (long) B * C);
        double[] acc = new double[C];
        for (int b = 0; b < B; b++) {
            java.util.Arrays.fill(acc, 0);
            double count = 0;
            for (int t = 0; t < T; t++) {
                if (attentionMask[b * T + t] == 0) continue;
                count++;
                long base = ((long) b * T + t) * C;
                for (int c = 0; c < C; c++) acc[c] += hidden.getAtIndex(F32, base + c);
            }
            double inv = 1 / Math.max(count, 1e-9);
            for (int c = 0; c < C; c++) out.setAtIndex(F32, (long) b * C + c, (float) (acc[c] * inv));
        }
        return out;
    }

    /** out[b, :] = hidden[b, 0, :], the [CLS] token. Shapes: hidden [B, T, C], out [B, C]. */
    public static MemorySegment cls(MemorySegment hidden, int B, int T, int C, Arena arena) {
        MemorySegment out = Floats.allocate(arena, (long) B * C);
        long rowBytes = (long) C * Float.BYTES;
        for (int b = 0; b < B; b++) MemorySegment.copy(hidden, (long) b * T * rowBytes, out, b * rowBytes, rowBytes);
        return out;
    }

    /** Scales each row of x [B, C] in place to unit L2 norm (rows of zeros stay zero), as sentence-transformers' Normalize. */
    public static void l2Normalize(MemorySegment x, int B, int C) {
        for (int b = 0; b < B; b++) {
            double sq = 0;
            for (int c = 0; c < C; c++) {
                double v = x.getAtIndex(F32, (long) b * C + c);
                sq += v * v;
            }
            double inv = 1 / Math.max(Math.sqrt(sq), 1e-12);
            for (int c = 0; c < C; c++) {
                x.setAtIndex(F32, (long) b * C + c, (float) (x.getAtIndex(F32, (long) b * C + c) * inv));
            }
        }
    }
}
