package dev.eva4j.api.kernels;

import static dev.eva4j.api.kernels.VectorOps.F32;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * {@link RowKernels} in Java: {@link NormOps}, {@link VectorOps}, the masked softmax of {@link AttentionOps}, dropout
 * ({@link DropoutBlock}) and the AdamW update.
 */
final class VectorRowKernels implements RowKernels {
    static final VectorRowKernels INSTANCE = new VectorRowKernels();

    private VectorRowKernels() {}

    @Override
    public String description() {
        return "Vector API " + VectorOps.S;
    }

    @Override
    public void residualLayerNorm(MemorySegment sum, MemorySegment out, MemorySegment mean, MemorySegment rstd,
                                  MemorySegment bias, MemorySegment residual, MemorySegment weight,
                                  MemorySegment lnBias, int first, int end, int C, float eps) {
        NormOps.residualLayerNormRows(sum, out, mean, rstd, bias, residual, weight, lnBias, first, end, C, eps);
    }

    @Override
    public void rmsNorm(MemorySegment out, MemorySegment rstd, MemorySegment inp, MemorySegment weight, int first,
                        int end, int C, float eps) {
        NormOps.rmsNormRows(out, rstd, inp, weight, first, end, C, eps);
    }

    @Override
    public void biasGelu(MemorySegment preact, MemorySegment out, MemorySegment inp, MemorySegment bias, int first,
                         int end, int C) {
        for (int n = first; n < end; n++) {
            long base = (long) n * C;
            if (bias != null) {
                // VectorOps.biasGelu stores x to its preact unless that is out: without a preact, x goes to out
                VectorOps.biasGelu(preact == null ? out : preact, out, inp, bias, base, C);
            } else {
                if (preact != null && preact.address() != inp.address()) {
                    MemorySegment.copy(inp, base * Float.BYTES, preact, base * Float.BYTES, (long) C * Float.BYTES);
                }
                VectorOps.gelu(out, inp, base, base + C);
            }
        }
    }

    @Override
    public void gelu(MemorySegment out, MemorySegment inp, long first, long end) {
        VectorOps.gelu(out, inp, first, end);
    }

    @Override
    public void add(MemorySegment out, MemorySegment a, MemorySegment b, long first, long end) {
        VectorOps.add(out, first, a, first, b, first, end - first);
    }

    @Override
    public void embedding(MemorySegment out, MemorySegment ids, MemorySegment table, int first, int end, int C,
                          boolean accumulate) {
        long rowBytes = (long) C * Float.BYTES;
        for (int n = first; n < end; n++) {
            long id = ids.getAtIndex(ValueLayout.JAVA_INT, n);
            if (accumulate) VectorOps.addInto(out, (long) n * C, table, id * C, C);
            else MemorySegment.copy(table, id * rowBytes, out, n * rowBytes, rowBytes);
        }
    }

    @Override
    public void maskedSoftmax(MemorySegment att, MemorySegment mask, int T, boolean causal) {
        int[] hidden = new int[T]; // the masked keys, ascending
        int hiddenCount = 0;
        if (mask != null) {
            for (int s = 0; s < T; s++) if (mask.getAtIndex(ValueLayout.JAVA_INT, s) == 0) hidden[hiddenCount++] = s;
        }
        for (int t = 0; t < T; t++) {
            long base = (long) t * T;
            int visible = causal ? t + 1 : T;
            for (int i = 0; i < hiddenCount && hidden[i] < visible; i++) {
                att.setAtIndex(F32, base + hidden[i], Float.NEGATIVE_INFINITY);
            }
            VectorOps.softmaxRow(att, att, base, visible);
            for (int s = visible; s < T; s++) att.setAtIndex(F32, base + s, 0f);
        }
    }

    @Override
    public void geluBackward(MemorySegment dinp, MemorySegment dout, MemorySegment inp, long first, long end) {
        VectorOps.geluBackward(dinp, dout, inp, first, end);
    }

    /** Elements per heap block of the dropout loops (16 KiB). */
    private static final int BLOCK = 4096;

    @Override
    public void dropout(MemorySegment out, MemorySegment x, long first, long end, float p, long seed, boolean add) {
        float[] v = new float[BLOCK], acc = add ? new float[BLOCK] : null; // blocks that stay in the L1 cache
        for (long b = first; b < end; b += BLOCK) {
            int n = (int) Math.min(BLOCK, end - b);
            MemorySegment.copy(x, F32, b * Float.BYTES, v, 0, n);
            DropoutBlock.apply(v, n, seed, b, p);
            if (add) {
                MemorySegment.copy(out, F32, b * Float.BYTES, acc, 0, n);
                for (int i = 0; i < n; i++) v[i] = acc[i] + v[i];
            }
            MemorySegment.copy(v, 0, out, F32, b * Float.BYTES, n);
        }
    }

    @Override
    public void adamw(MemorySegment params, MemorySegment grads, MemorySegment m, MemorySegment v, long first, long end,
                      double b1, double b2, double decay, double stepSize, double bc2Sqrt, float eps) {
        for (long i = first; i < end; i++) {
            double g = grads.getAtIndex(F32, i);
            double mi = b1 * m.getAtIndex(F32, i) + (1 - b1) * g;
            double vi = b2 * v.getAtIndex(F32, i) + (1 - b2) * g * g;
            double p = params.getAtIndex(F32, i) * decay - stepSize * mi / (Math.sqrt(vi) / bc2Sqrt + eps);
            m.setAtIndex(F32, i, (float) mi);
            v.setAtIndex(F32, i, (float) vi);
            params.setAtIndex(F32, i, (float) p);
        }
    }

    @Override
    public void layerNormBackward(MemorySegment dinp, MemorySegment dweight, MemorySegment dbias, MemorySegment dout,
                                  MemorySegment inp, MemorySegment weight, MemorySegment mean, MemorySegment rstd,
                                  int first, int end, int C) {
        NormOps.layerNormBackwardRows(dinp, dweight, dbias, dout, inp, weight, mean, rstd, first, end, C);
    }
}
