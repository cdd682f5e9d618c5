package dev.eva4j.api.kernels;

import static dev.eva4j.api.kernels.VectorOps.F32;

import java.lang.foreign.MemorySegment;

/** One AdamW step and the global gradient norm, over [n] floats; per element in float64. Checked by the caller. */
final class OptimizerOps {
    private OptimizerOps() {}

    /**
     * PyTorch's AdamW: p *= 1 - lr wd; m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
     * p -= (lr / (1 - b1^step)) m / (sqrt(v) / sqrt(1 - b2^step) + eps).
     */
    static void adamw(RowKernels rows, MemorySegment params, MemorySegment grads, MemorySegment m, MemorySegment v,
                      long n, float lr, float beta1, float beta2, float eps, float weightDecay, int step) {
        double b1 = beta1, b2 = beta2, decay = 1 - (double) lr * weightDecay;
        double stepSize = lr / (1 - Math.pow(b1, step)), bc2Sqrt = Math.sqrt(1 - Math.pow(b2, step));
        Parallel.elements(n, (first, end) ->
                rows.adamw(params, grads, m, v, first, end, b1, b2, decay, stepSize, bc2Sqrt, eps));
    }

    /** sqrt(sum grads[i]^2) in float64, per-chunk sums combined in chunk order (the same result on every run). */
    static double norm(MemorySegment grads, long n) {
        int rows = Math.toIntExact((n + Parallel.ROW - 1) / Parallel.ROW);
        int chunks = Parallel.chunkCount(rows, Parallel.ROW);
        double[] partial = new double[chunks];
        Parallel.chunks(rows, chunks, (chunk, first, end) -> {
            double s = 0;
            for (long i = (long) first * Parallel.ROW, e = Math.min(n, (long) end * Parallel.ROW); i < e; i++) {
                double g = grads.getAtIndex(F32, i);
                s += g * g;
            }
            partial[chunk] = s;
        });
        double total = 0;
        for (double s : partial) total += s;
        return Math.sqrt(total);
    }
}
