package dev.eva4j.api.kernels;

import static dev.eva4j.api.kernels.VectorOps.F32;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Softmax cross-entropy with an ignore index, and mean / CLS pooling, forward and backward. Sums accumulate in
 * float64. Arguments (targets included) are checked by the caller. Shapes: logits, probs, dlogits [N, V]; targets
 * [N] I32; pooling inp, dinp [B, T, C], mask [B, T] I32, out, dout [B, C].
 */
final class LossOps {
    private LossOps() {}

    /** Rows whose target is not {@code ignoreIndex}. */
    static int counted(MemorySegment targets, int N, int ignoreIndex) {
        int count = 0;
        for (int n = 0; n < N; n++) if (targets.getAtIndex(ValueLayout.JAVA_INT, n) != ignoreIndex) count++;
        return count;
    }

    /**
     * probs = softmax(logits) per row; returns the mean over counted rows of log(sum exp(l - max)) - (l_t - max)
     * (= -log probs[t], without rounding probs first), or 0 when no row counts.
     */
    static double crossEntropyForward(MemorySegment probs, MemorySegment logits, MemorySegment targets, int N, int V,
                                      int ignoreIndex) {
        double[] losses = new double[N];
        Parallel.rows(N, V, (first, end) -> {
            for (int n = first; n < end; n++) {
                long base = (long) n * V;
                float max = Float.NEGATIVE_INFINITY;
                for (int v = 0; v < V; v++) max = Math.max(max, logits.getAtIndex(F32, base + v));
                double sum = 0;
                for (int v = 0; v < V; v++) {
                    double e = Math.exp((double) logits.getAtIndex(F32, base + v) - max);
                    probs.setAtIndex(F32, base + v, (float) e);
                    sum += e;
                }
                double inv = 1 / sum;
                for (int v = 0; v < V; v++) probs.setAtIndex(F32, base + v, (float) (probs.getAtIndex(F32, base + v) * inv));
                int t = targets.getAtIndex(ValueLayout.JAVA_INT, n);
                if (t != ignoreIndex) losses[n] = Math.log(sum) - ((double) logits.getAtIndex(F32, base + t) - max);
            }
        });
        int count = counted(targets, N, ignoreIndex);
        if (count == 0) return 0;
        double total = 0;
        for (double l : losses) total += l;
        return total / count;
    }

    /** dlogits += dloss (probs - onehot(target)) / count on counted rows. */
    static void crossEntropyBackward(MemorySegment dlogits, MemorySegment probs, MemorySegment targets, int N, int V,
                                     int ignoreIndex, float dloss) {
        int count = counted(targets, N, ignoreIndex);
        if (count == 0) return;
        double factor = (double) dloss / count;
        Parallel.rows(N, V, (first, end) -> {
            for (int n = first; n < end; n++) {
                int t = targets.getAtIndex(ValueLayout.JAVA_INT, n);
                if (t == ignoreIndex) continue;
                long base = (long) n * V;
                for (int v = 0; v < V; v++) {
                    double g = factor * (probs.getAtIndex(F32, base + v) - (v == t ? 1 : 0));
                    dlogits.setAtIndex(F32, base + v, (float) (dlogits.getAtIndex(F32, base + v) + g));
                }
            }
        });
    }

    private static int maskCount(MemorySegment mask, int b, int T) {
        int count = 0;
        for (int t = 0; t < T; t++) if (mask.getAtIndex(ValueLayout.JAVA_INT, (long) b * T + t) != 0) count++;
        return count;
    }

    /** out[b, :] = mean of inp[b, t, :] over mask[b, t] != 0, zero when there is none. */
    static void meanPoolForward(MemorySegment out, MemorySegment inp, MemorySegment mask, int B, int T, int C) {
        Parallel.rows(B, (long) T * C, (first, end) -> {
            double[] sum = new double[C];
            for (int b = first; b < end; b++) {
                java.util.Arrays.fill(sum, 0);
                int count = maskCount(mask, b, T);
                for (int t = 0; t < T; t++) {
                    if (mask.getAtIndex(ValueLayout.JAVA_INT, (long) b * T + t) == 0) continue;
                    long base = ((long) b * T + t) * C;
                    for (int c = 0; c < C; c++) sum[c] += inp.getAtIndex(F32, base + c);
                }
                for (int c = 0; c < C; c++) out.setAtIndex(F32, (long) b * C + c, count == 0 ? 0f : (float) (sum[c] / count));
            }
        });
    }

    /** dinp[b, t, :] += dout[b, :] / count_b where mask[b, t] != 0. */
    static void meanPoolBackward(MemorySegment dinp, MemorySegment dout, MemorySegment mask, int B, int T, int C) {
        Parallel.rows(B, (long) T * C, (first, end) -> {
            for (int b = first; b < end; b++) {
                int count = maskCount(mask, b, T);
                for (int t = 0; t < T; t++) {
                    if (mask.getAtIndex(ValueLayout.JAVA_INT, (long) b * T + t) == 0) continue;
                    long base = ((long) b * T + t) * C;
                    for (int c = 0; c < C; c++) {
                        double g = (double) dout.getAtIndex(F32, (long) b * C + c) / count;
                        dinp.setAtIndex(F32, base + c, (float) (dinp.getAtIndex(F32, base + c) + g));
                    }
                }
            }
        });
    }

    /** out[b, :] = inp[b, 0, :]. */
    static void clsPoolForward(MemorySegment out, MemorySegment inp, int B, int T, int C) {
        long rowBytes = (long) C * Float.BYTES;
        for (int b = 0; b < B; b++) MemorySegment.copy(inp, (long) b * T * rowBytes, out, b * rowBytes, rowBytes);
    }

    /** dinp[b, 0, :] += dout[b, :]. */
    static void clsPoolBackward(MemorySegment dinp, MemorySegment dout, int B, int T, int C) {
        for (int b = 0; b < B; b++) VectorOps.addInto(dinp, (long) b * T * C, dout, (long) b * C, C);
    }
}
