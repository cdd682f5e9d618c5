package dev.eva4j.api.kernels;

import static dev.eva4j.api.kernels.VectorOps.F32;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * LayerNorm (BERT) and RMSNorm (Llama), forward and backward, over rows of C channels. Row statistics accumulate in
 * float64 (the forwards' in Vector API lanes widened to double); the forward's normalisation runs in float32
 * in the order {@code (x - mean) * rstd * w + b} with mean and rstd rounded to float, as the models computed it
 * before the kernels existed. Arguments are checked by the caller.
 */
final class NormOps {
    private NormOps() {}

    /** Shapes: out, inp [N, C]; weight, bias [C]; mean, rstd [N] or both null. out may be inp. */
    static void layerNormForward(RowKernels rows, MemorySegment out, MemorySegment mean, MemorySegment rstd,
                                 MemorySegment inp, MemorySegment weight, MemorySegment bias, int N, int C, float eps) {
        residualLayerNormForward(rows, null, out, mean, rstd, null, inp, weight, bias, N, C, eps);
    }

    /**
     * Rows in parallel, each range by {@code rows} ({@link RowKernels#residualLayerNorm}): x = sum (+ bias) +
     * residual, written back to sum when sum is not null (else x is inp = residual alone); out = (x - mean) rstd w + b
     * with float64 statistics; mean and rstd saved when not null. out may be residual.
     */
    static void residualLayerNormForward(RowKernels rows, MemorySegment sum, MemorySegment out, MemorySegment mean,
                                         MemorySegment rstd, MemorySegment bias, MemorySegment residual,
                                         MemorySegment weight, MemorySegment lnBias, int N, int C, float eps) {
        Parallel.rows(N, C, (first, end) ->
                rows.residualLayerNorm(sum, out, mean, rstd, bias, residual, weight, lnBias, first, end, C, eps));
    }

    /** {@link RowKernels#residualLayerNorm} in Java, rows [first, end). */
    static void residualLayerNormRows(MemorySegment sum, MemorySegment out, MemorySegment mean, MemorySegment rstd,
                                      MemorySegment bias, MemorySegment residual, MemorySegment weight,
                                      MemorySegment lnBias, int first, int end, int C, float eps) {
        float[] w = weight.asSlice(0, (long) C * Float.BYTES).toArray(F32);
        float[] bs = lnBias.asSlice(0, (long) C * Float.BYTES).toArray(F32);
        float[] add = bias == null ? null : bias.asSlice(0, (long) C * Float.BYTES).toArray(F32);
        // rows go through a heap copy: plain loops over arrays (no per-element segment checks, and C2
        // vectorises the normalisation without changing the float32 operation order)
        float[] row = new float[C], res = sum == null ? null : new float[C];
        for (int n = first; n < end; n++) {
            long base = (long) n * C;
            if (sum == null) {
                MemorySegment.copy(residual, F32, base * Float.BYTES, row, 0, C);
            } else {
                MemorySegment.copy(sum, F32, base * Float.BYTES, row, 0, C);
                MemorySegment.copy(residual, F32, base * Float.BYTES, res, 0, C);
                if (add != null) for (int c = 0; c < C; c++) row[c] = row[c] + add[c] + res[c];
                else for (int c = 0; c < C; c++) row[c] = row[c] + res[c];
                MemorySegment.copy(row, 0, sum, F32, base * Float.BYTES, C);
            }
            double mu = rowSum(row, C) / C;
            double sq = squaredDeviations(row, C, mu);
            float m = (float) mu;
            float r = (float) (1 / Math.sqrt(sq / C + eps));
            if (mean != null) {
                mean.setAtIndex(F32, n, m);
                rstd.setAtIndex(F32, n, r);
            }
            for (int c = 0; c < C; c++) row[c] = (row[c] - m) * r * w[c] + bs[c];
            MemorySegment.copy(row, 0, out, F32, base * Float.BYTES, C);
        }
    }

    private static final VectorSpecies<Float> FS = VectorOps.S;
    private static final VectorSpecies<Double> DS = VectorOps.D;
    private static final int PARTS = VectorOps.WIDE_PARTS;

    /**
     * sum of row[0, C) in float64: each float vector widened into {@link #PARTS} double vectors, lane sums
     * (independent chains, not one C-long dependency), then the lanes and the scalar tail.
     */
    static double rowSum(float[] row, int C) {
        DoubleVector acc0 = DoubleVector.zero(DS), acc1 = acc0;
        int c = 0;
        if (PARTS == 2) {
            for (int upper = FS.loopBound(C); c < upper; c += FS.length()) {
                FloatVector v = FloatVector.fromArray(FS, row, c);
                acc0 = acc0.add((DoubleVector) v.convertShape(VectorOperators.F2D, DS, 0));
                acc1 = acc1.add((DoubleVector) v.convertShape(VectorOperators.F2D, DS, 1));
            }
        }
        double s = VectorOps.sumLanes(acc0.add(acc1));
        for (; c < C; c++) s += row[c];
        return s;
    }

    /** sum of (row[c] - mu)^2 over [0, C) in float64, as {@link #sum}. */
    static double squaredDeviations(float[] row, int C, double mu) {
        DoubleVector acc0 = DoubleVector.zero(DS), acc1 = acc0, m = DoubleVector.broadcast(DS, mu);
        int c = 0;
        if (PARTS == 2) {
            for (int upper = FS.loopBound(C); c < upper; c += FS.length()) {
                FloatVector v = FloatVector.fromArray(FS, row, c);
                DoubleVector d0 = ((DoubleVector) v.convertShape(VectorOperators.F2D, DS, 0)).sub(m);
                DoubleVector d1 = ((DoubleVector) v.convertShape(VectorOperators.F2D, DS, 1)).sub(m);
                acc0 = d0.fma(d0, acc0);
                acc1 = d1.fma(d1, acc1);
            }
        }
        double s = VectorOps.sumLanes(acc0.add(acc1));
        for (; c < C; c++) {
            double d = row[c] - mu;
            s += d * d;
        }
        return s;
    }

    /**
     * dinp += (dnorm - mean(dnorm) - norm mean(dnorm norm)) rstd with dnorm = dout w, norm = (x - mean) rstd;
     * dweight += sum_n dout norm; dbias += sum_n dout. Shapes: dinp, dout, inp [N, C]; dweight, dbias, weight [C];
     * mean, rstd [N]. dinp, dweight, dbias may be null.
     */
    static void layerNormBackward(RowKernels rows, MemorySegment dinp, MemorySegment dweight, MemorySegment dbias,
                                  MemorySegment dout, MemorySegment inp, MemorySegment weight, MemorySegment mean,
                                  MemorySegment rstd, int N, int C) {
        boolean params = dweight != null || dbias != null;
        int chunks = Parallel.chunkCount(N, C);
        if (!params) {
            Parallel.chunks(N, chunks, (chunk, first, end) ->
                    rows.layerNormBackward(dinp, null, null, dout, inp, weight, mean, rstd, first, end, C));
            return;
        }
        // per-chunk float64 partial sums of dweight and dbias (native memory, so native row kernels can add into
        // them), combined in chunk order
        try (Arena arena = Arena.ofShared()) {
            MemorySegment dw = arena.allocate(ValueLayout.JAVA_DOUBLE, (long) chunks * C);
            MemorySegment db = arena.allocate(ValueLayout.JAVA_DOUBLE, (long) chunks * C);
            boolean[] ran = new boolean[chunks];
            long bytes = (long) C * Double.BYTES;
            Parallel.chunks(N, chunks, (chunk, first, end) -> {
                ran[chunk] = true;
                rows.layerNormBackward(dinp, dw.asSlice(chunk * bytes, bytes), db.asSlice(chunk * bytes, bytes), dout,
                        inp, weight, mean, rstd, first, end, C);
            });
            if (dweight != null) addColumns(dweight, dw, ran, C);
            if (dbias != null) addColumns(dbias, db, ran, C);
        }
    }

    /** {@link RowKernels#layerNormBackward} in Java, rows [first, end). */
    static void layerNormBackwardRows(MemorySegment dinp, MemorySegment dweight, MemorySegment dbias,
                                      MemorySegment dout, MemorySegment inp, MemorySegment weight, MemorySegment mean,
                                      MemorySegment rstd, int first, int end, int C) {
        boolean params = dweight != null;
        double[] norm = new double[C], dnorm = new double[C];
        double[] w = params ? new double[C] : null, b = params ? new double[C] : null;
        if (params) {
            MemorySegment.copy(dweight, ValueLayout.JAVA_DOUBLE, 0, w, 0, C);
            MemorySegment.copy(dbias, ValueLayout.JAVA_DOUBLE, 0, b, 0, C);
        }
        for (int n = first; n < end; n++) {
            long base = (long) n * C;
            double m = mean.getAtIndex(F32, n), r = rstd.getAtIndex(F32, n);
            double sumDnorm = 0, sumDnormNorm = 0;
            for (int c = 0; c < C; c++) {
                double d = dout.getAtIndex(F32, base + c);
                norm[c] = (inp.getAtIndex(F32, base + c) - m) * r;
                dnorm[c] = d * weight.getAtIndex(F32, c);
                sumDnorm += dnorm[c];
                sumDnormNorm += dnorm[c] * norm[c];
                if (params) {
                    w[c] += d * norm[c];
                    b[c] += d;
                }
            }
            if (dinp == null) continue;
            double meanDnorm = sumDnorm / C, meanDnormNorm = sumDnormNorm / C;
            for (int c = 0; c < C; c++) {
                double g = (dnorm[c] - meanDnorm - norm[c] * meanDnormNorm) * r;
                dinp.setAtIndex(F32, base + c, (float) (dinp.getAtIndex(F32, base + c) + g));
            }
        }
        if (params) {
            MemorySegment.copy(w, 0, dweight, ValueLayout.JAVA_DOUBLE, 0, C);
            MemorySegment.copy(b, 0, dbias, ValueLayout.JAVA_DOUBLE, 0, C);
        }
    }

    /** Shapes: out, inp [N, C]; weight [C]; rstd [N] or null. out may be inp. Rows in parallel through {@code rows}. */
    static void rmsNormForward(RowKernels rows, MemorySegment out, MemorySegment rstd, MemorySegment inp,
                               MemorySegment weight, int N, int C, float eps) {
        Parallel.rows(N, C, (first, end) -> rows.rmsNorm(out, rstd, inp, weight, first, end, C, eps));
    }

    /** {@link RowKernels#rmsNorm} in Java, rows [first, end). */
    static void rmsNormRows(MemorySegment out, MemorySegment rstd, MemorySegment inp, MemorySegment weight, int first,
                            int end, int C, float eps) {
        float[] w = weight.asSlice(0, (long) C * Float.BYTES).toArray(F32);
        float[] row = new float[C];
        for (int n = first; n < end; n++) {
            long base = (long) n * C;
            MemorySegment.copy(inp, F32, base * Float.BYTES, row, 0, C);
            double sq = squaredDeviations(row, C, 0);
            float r = (float) (1 / Math.sqrt(sq / C + eps));
            if (rstd != null) rstd.setAtIndex(F32, n, r);
            for (int c = 0; c < C; c++) row[c] = row[c] * r * w[c];
            MemorySegment.copy(row, 0, out, F32, base * Float.BYTES, C);
        }
    }

    /**
     * dinp += rstd w dout - x rstd^3 / C sum(dout w x); dweight += sum_n dout x rstd. Shapes: dinp, dout, inp
     * [N, C]; dweight, weight [C]; rstd [N]. dinp and dweight may be null.
     */
    static void rmsNormBackward(MemorySegment dinp, MemorySegment dweight, MemorySegment dout, MemorySegment inp,
                                MemorySegment weight, MemorySegment rstd, int N, int C) {
        int chunks = Parallel.chunkCount(N, C);
        double[][] dw = new double[chunks][];
        Parallel.chunks(N, chunks, (chunk, first, end) -> {
            double[] w = dweight != null ? dw[chunk] = new double[C] : null;
            for (int n = first; n < end; n++) {
                long base = (long) n * C;
                double r = rstd.getAtIndex(F32, n);
                double dot = 0;
                for (int c = 0; c < C; c++) {
                    double d = dout.getAtIndex(F32, base + c), x = inp.getAtIndex(F32, base + c);
                    dot += d * weight.getAtIndex(F32, c) * x;
                    if (w != null) w[c] += d * x * r;
                }
                if (dinp == null) continue;
                double k = r * r * r * dot / C;
                for (int c = 0; c < C; c++) {
                    double g = r * weight.getAtIndex(F32, c) * dout.getAtIndex(F32, base + c)
                            - inp.getAtIndex(F32, base + c) * k;
                    dinp.setAtIndex(F32, base + c, (float) (dinp.getAtIndex(F32, base + c) + g));
                }
            }
        });
        if (dweight != null) addColumns(dweight, dw, C);
    }

    /** dst[c] += sum over the chunks that ran of partials[chunk * C + c] (float64), summed in chunk order. */
    static void addColumns(MemorySegment dst, MemorySegment partials, boolean[] ran, int C) {
        for (int c = 0; c < C; c++) {
            double s = 0;
            for (int chunk = 0; chunk < ran.length; chunk++) {
                if (ran[chunk]) s += partials.getAtIndex(ValueLayout.JAVA_DOUBLE, (long) chunk * C + c);
            }
            dst.setAtIndex(F32, c, (float) (dst.getAtIndex(F32, c) + s));
        }
    }

    /** dst[c] += sum over chunks of partial[chunk][c], summed in chunk order (null chunks held no rows). */
    static void addColumns(MemorySegment dst, double[][] partial, int C) {
        for (int c = 0; c < C; c++) {
            double s = 0;
            for (double[] p : partial) if (p != null) s += p[c];
            dst.setAtIndex(F32, c, (float) (dst.getAtIndex(F32, c) + s));
        }
    }
}
