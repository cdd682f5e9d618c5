package dev.eva4j.api.kernels;

import static dev.eva4j.api.kernels.VectorOps.F32;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** {@link RowKernels} in Java: {@link NormOps}, {@link VectorOps} and the masked softmax of {@link AttentionOps}. */
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
    public void embeddingAdd(MemorySegment out, MemorySegment ids, MemorySegment table, int first, int end, int C) {
        for (int n = first; n < end; n++) {
            long id = ids.getAtIndex(ValueLayout.JAVA_INT, n);
            VectorOps.addInto(out, (long) n * C, table, id * C, C);
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
}
