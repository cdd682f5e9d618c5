package dev.eva4j.api.kernels;

import static dev.eva4j.api.kernels.VectorOps.F32;

import java.lang.foreign.MemorySegment;

/**
 * LayerNorm (BERT) and RMSNorm (Llama), forward and backward, over rows of C channels. Row statistics accumulate in
 * float64; the forward's normalisation runs in float32 in the order {@code (x - mean) * rstd * w + b} with mean and
 * rstd rounded to float, as the models computed it before the kernels existed. Arguments are checked by the caller.
 */
final class NormOps {
    private NormOps() {}

    /** Shapes: out, inp [N, C]; weight, bias [C]; mean, rstd [N] or both null. out may be inp. */
    static void layerNormForward(MemorySegment out, MemorySegment mean, MemorySegment rstd, MemorySegment inp,
                                 MemorySegment weight, MemorySegment bias, int N, int C, float eps) {
        residualLayerNormForward(null, out, mean, rstd, null, inp, weight, bias, N, C, eps);
    }

    /**
     * Row by row in parallel: x = sum (+ bias) + residual, written back to sum when sum is not null (else x is
     * inp = residual alone); out = (x - mean) rstd w + b with float64 statistics; mean and rstd saved when not null.
     * out may be residual (each row is read before it is written).
     */
    static void residualLayerNormForward(MemorySegment sum, MemorySegment out, MemorySegment mean, MemorySegment rstd,
                                         MemorySegment bias, MemorySegment residual, MemorySegment weight,
                                         MemorySegment lnBias, int N, int C, float eps) {
        float[] w = weight.asSlice(0, (long) C * Float.BYTES).toArray(F32);
        float[] bs = lnBias.asSlice(0, (long) C * Float.BYTES).toArray(F32);
        float[] add = bias == null ? null : bias.asSlice(0, (long) C * Float.BYTES).toArray(F32);
        Parallel.rows(N, C, (first, end) -> {
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
                // four float64 partial sums: independent chains instead of one C-long dependency
                double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
                int c = 0;
                for (; c + 3 < C; c += 4) {
                    s0 += row[c];
                    s1 += row[c + 1];
                    s2 += row[c + 2];
                    s3 += row[c + 3];
                }
                for (; c < C; c++) s0 += row[c];
                double mu = ((s0 + s1) + (s2 + s3)) / C;
                double q0 = 0, q1 = 0, q2 = 0, q3 = 0;
                for (c = 0; c + 3 < C; c += 4) {
                    double d0 = row[c] - mu, d1 = row[c + 1] - mu, d2 = row[c + 2] - mu, d3 = row[c + 3] - mu;
                    q0 += d0 * d0;
                    q1 += d1 * d1;
                    q2 += d2 * d2;
                    q3 += d3 * d3;
                }
                for (; c < C; c++) {
                    double d = row[c] - mu;
                    q0 += d * d;
                }
                double sq = (q0 + q1) + (q2 + q3);
                float m = (float) mu;
                float r = (float) (1 / Math.sqrt(sq / C + eps));
                if (mean != null) {
                    mean.setAtIndex(F32, n, m);
                    rstd.setAtIndex(F32, n, r);
                }
                for (c = 0; c < C; c++) row[c] = (row[c] - m) * r * w[c] + bs[c];
                MemorySegment.copy(row, 0, out, F32, base * Float.BYTES, C);
            }
        });
    }

    /**
     * dinp += (dnorm - mean(dnorm) - norm mean(dnorm norm)) rstd with dnorm = dout w, norm = (x - mean) rstd;
     * dweight += sum_n dout norm; dbias += sum_n dout. Shapes: dinp, dout, inp [N, C]; dweight, dbias, weight [C];
     * mean, rstd [N]. dinp, dweight, dbias may be null.
     */
    static void layerNormBackward(MemorySegment dinp, MemorySegment dweight, MemorySegment dbias, MemorySegment dout,
                                  MemorySegment inp, MemorySegment weight, MemorySegment mean, MemorySegment rstd,
                                  int N, int C) {
        boolean params = dweight != null || dbias != null;
        int chunks = Parallel.chunkCount(N, C);
        double[][] dw = new double[chunks][], db = new double[chunks][];
        Parallel.chunks(N, chunks, (chunk, first, end) -> {
            double[] norm = new double[C], dnorm = new double[C];
            double[] w = params ? dw[chunk] = new double[C] : null, b = params ? db[chunk] = new double[C] : null;
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
        });
        if (dweight != null) addColumns(dweight, dw, C);
        if (dbias != null) addColumns(dbias, db, C);
    }

    /** Shapes: out, inp [N, C]; weight [C]; rstd [N] or null. out may be inp. */
    static void rmsNormForward(MemorySegment out, MemorySegment rstd, MemorySegment inp, MemorySegment weight, int N,
                               int C, float eps) {
        float[] w = weight.asSlice(0, (long) C * Float.BYTES).toArray(F32);
        Parallel.rows(N, C, (first, end) -> {
            float[] row = new float[C];
            for (int n = first; n < end; n++) {
                long base = (long) n * C;
                MemorySegment.copy(inp, F32, base * Float.BYTES, row, 0, C);
                double sq = 0;
                for (int c = 0; c < C; c++) {
                    double v = row[c];
                    sq += v * v;
                }
                float r = (float) (1 / Math.sqrt(sq / C + eps));
                if (rstd != null) rstd.setAtIndex(F32, n, r);
                for (int c = 0; c < C; c++) row[c] = row[c] * r * w[c];
                MemorySegment.copy(row, 0, out, F32, base * Float.BYTES, C);
            }
        });
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

    /** dst[c] += sum over chunks of partial[chunk][c], summed in chunk order (null chunks held no rows). */
    static void addColumns(MemorySegment dst, double[][] partial, int C) {
        for (int c = 0; c < C; c++) {
            double s = 0;
            for (double[] p : partial) if (p != null) s += p[c];
            dst.setAtIndex(F32, c, (float) (dst.getAtIndex(F32, c) + s));
        }
    }
}
