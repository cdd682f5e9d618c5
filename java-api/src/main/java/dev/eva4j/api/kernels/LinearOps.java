package dev.eva4j.api.kernels;

import static dev.eva4j.api.kernels.VectorOps.F32;

import dev.eva4j.spi.DropoutMask;
import dev.eva4j.spi.Transpose;
import java.lang.foreign.MemorySegment;

/**
 * The linear layer (llm.c's matmul) and the fused LoRA linear, forward and backward, on the host GEMMs. Arguments
 * are checked by the caller. Shapes: inp [N, IN]; weight [OUT, IN] (Hugging Face's layout); bias [OUT]; out [N, OUT];
 * LoRA a [R, IN], b [OUT, R], xa [N, R].
 */
final class LinearOps {
    private static final Transpose NO = Transpose.NO, YES = Transpose.YES;

    private LinearOps() {}

    /**
     * out = inp weight^T (+ bias): with a bias, out is first filled with it (rows in parallel) and the GEMM adds to
     * it (beta 1).
     */
    static void matmulForward(HostGemm gemm, MemorySegment out, MemorySegment inp, MemorySegment weight,
                              MemorySegment bias, int N, int IN, int OUT) {
        float beta = 0f;
        if (bias != null) {
            long rowBytes = (long) OUT * Float.BYTES;
            Parallel.rows(N, OUT, (first, end) -> {
                for (int n = first; n < end; n++) MemorySegment.copy(bias, 0, out, n * rowBytes, rowBytes);
            });
            beta = 1f;
        }
        gemm.sgemm(NO, YES, N, OUT, IN, 1f, inp, IN, weight, IN, beta, out, OUT);
    }

    /** preact = inp weight^T (GEMM), then per row in parallel ({@code rows}): preact += bias; out = gelu(preact). */
    static void matmulGeluForward(HostGemm gemm, RowKernels rows, MemorySegment preact, MemorySegment out,
                                  MemorySegment inp, MemorySegment weight, MemorySegment bias, int N, int IN, int OUT) {
        gemm.sgemm(NO, YES, N, OUT, IN, 1f, inp, IN, weight, IN, 0f, preact, OUT);
        // without a bias, preact already holds x; with one, x goes back to preact unless preact is out
        MemorySegment keep = bias == null || preact.address() == out.address() ? null : preact;
        Parallel.rows(N, OUT, (first, end) -> rows.biasGelu(keep, out, preact, bias, first, end, OUT));
    }

    /**
     * sum = inp weight^T (GEMM), then per row in parallel: sum += bias + residual; out = layerNorm(sum) (see
     * {@link NormOps#residualLayerNormForward}).
     */
    static void matmulResidualLayerNormForward(HostGemm gemm, RowKernels rows, MemorySegment sum, MemorySegment out,
                                               MemorySegment mean, MemorySegment rstd, MemorySegment inp,
                                               MemorySegment weight, MemorySegment bias, MemorySegment residual,
                                               MemorySegment lnWeight, MemorySegment lnBias, int N, int IN, int C,
                                               float eps) {
        gemm.sgemm(NO, YES, N, C, IN, 1f, inp, IN, weight, IN, 0f, sum, C);
        NormOps.residualLayerNormForward(rows, sum, out, mean, rstd, bias, residual, lnWeight, lnBias, N, C, eps);
    }

    /** dinp += dout weight; dweight += dout^T inp; dbias += column sums of dout (float64). Each may be null. */
    static void matmulBackward(HostGemm gemm, MemorySegment dinp, MemorySegment dweight, MemorySegment dbias,
                               MemorySegment dout, MemorySegment inp, MemorySegment weight, int N, int IN, int OUT) {
        if (dinp != null) gemm.sgemm(NO, NO, N, IN, OUT, 1f, dout, OUT, weight, IN, 1f, dinp, IN);
        if (dweight != null) gemm.sgemm(YES, NO, OUT, IN, N, 1f, dout, OUT, inp, IN, 1f, dweight, IN);
        if (dbias != null) columnSums(dbias, dout, N, OUT);
    }

    /** dst[c] += sum_n m[n, c] in float64 (rows in parallel chunks, combined in order). Shapes: m [N, C]. */
    static void columnSums(MemorySegment dst, MemorySegment m, int N, int C) {
        int chunks = Parallel.chunkCount(N, C);
        double[][] partial = new double[chunks][];
        Parallel.chunks(N, chunks, (chunk, first, end) -> {
            double[] s = partial[chunk] = new double[C];
            for (int n = first; n < end; n++) {
                long base = (long) n * C;
                for (int c = 0; c < C; c++) s[c] += m.getAtIndex(F32, base + c);
            }
        });
        NormOps.addColumns(dst, partial, C);
    }

    /**
     * out = inp W^T (+ bias) + scale (drop(inp) A^T) B^T; xa = drop(inp) A^T is saved. drop is inverted dropout of
     * rate {@code dropout} with the {@link DropoutMask} of {@code seed} over the N*IN elements of inp.
     */
    static void loraForward(HostGemm gemm, RowKernels rows, Scratch scratch, MemorySegment out, MemorySegment xa,
                            MemorySegment inp, MemorySegment weight, MemorySegment bias, MemorySegment a,
                            MemorySegment b, float scale, float dropout, long seed, int N, int IN, int OUT, int R) {
        matmulForward(gemm, out, inp, weight, bias, N, IN, OUT);
        MemorySegment dropped = dropout == 0f ? null : scratch.take((long) N * IN);
        try {
            MemorySegment x = inp;
            if (dropped != null) {
                drop(rows, dropped, inp, (long) N * IN, dropout, seed);
                x = dropped;
            }
            gemm.sgemm(NO, YES, N, R, IN, 1f, x, IN, a, IN, 0f, xa, R);
        } finally {
            if (dropped != null) scratch.give(dropped);
        }
        gemm.sgemm(NO, YES, N, OUT, R, scale, xa, R, b, R, 1f, out, OUT);
    }

    /**
     * With g = scale dout B [N, R]: db += scale dout^T xa; da += g^T drop(inp); dinp += dout W + drop'(g A), drop'
     * the same mask and factor as the forward pass. Each gradient output may be null.
     */
    static void loraBackward(HostGemm gemm, RowKernels rows, Scratch scratch, MemorySegment dinp, MemorySegment da,
                             MemorySegment db, MemorySegment dout, MemorySegment inp, MemorySegment xa,
                             MemorySegment weight, MemorySegment a, MemorySegment b, float scale, float dropout,
                             long seed, int N, int IN, int OUT, int R) {
        if (db != null) gemm.sgemm(YES, NO, OUT, R, N, scale, dout, OUT, xa, R, 1f, db, R);
        if (dinp != null) gemm.sgemm(NO, NO, N, IN, OUT, 1f, dout, OUT, weight, IN, 1f, dinp, IN);
        if (da == null && dinp == null) return;
        long nr = (long) N * R, ni = (long) N * IN;
        boolean dropping = dropout != 0f;
        MemorySegment work = scratch.take(nr + (dropping ? ni : 0));
        try {
            MemorySegment g = work.asSlice(0, nr * Float.BYTES);
            gemm.sgemm(NO, NO, N, R, OUT, scale, dout, OUT, b, R, 0f, g, R);
            MemorySegment x = dropping ? work.asSlice(nr * Float.BYTES, ni * Float.BYTES) : null;
            if (da != null) {
                if (dropping) drop(rows, x, inp, ni, dropout, seed);
                gemm.sgemm(YES, NO, R, IN, N, 1f, g, R, dropping ? x : inp, IN, 1f, da, IN);
            }
            if (dinp != null) {
                if (!dropping) {
                    gemm.sgemm(NO, NO, N, IN, R, 1f, g, R, a, IN, 1f, dinp, IN);
                } else {
                    gemm.sgemm(NO, NO, N, IN, R, 1f, g, R, a, IN, 0f, x, IN);
                    addDropped(rows, dinp, x, ni, dropout, seed);
                }
            }
        } finally {
            scratch.give(work);
        }
    }

    /** dinp[i] += factor(i) gx[i]: the dropout mask applied to a gradient, then added. */
    private static void addDropped(RowKernels rows, MemorySegment dinp, MemorySegment gx, long ni, float dropout,
                                   long seed) {
        Parallel.elements(ni, (first, end) -> rows.dropout(dinp, gx, first, end, dropout, seed, true));
    }

    /** out[i] = inp[i] * DropoutMask.factor(seed, i, p) for i in [0, n). */
    static void drop(RowKernels rows, MemorySegment out, MemorySegment inp, long n, float p, long seed) {
        Parallel.elements(n, (first, end) -> rows.dropout(out, inp, first, end, p, seed, false));
    }
}
