package dev.eva4j.api.kernels;

import static dev.eva4j.api.kernels.VectorOps.F32;

import dev.eva4j.spi.Transpose;
import java.lang.foreign.MemorySegment;

/**
 * Multi-head scaled dot-product attention (llm.c's attention_forward / attention_backward) with grouped-query heads:
 * query head h reads key/value head h / (NH / NKV). Forward: per sequence b and query head h (in parallel), a GEMM
 * computes the scores (scale 1/sqrt(HS)), a masked softmax turns them into weights P, a second GEMM multiplies them
 * by V into the output. A key s gets no weight from query t when mask[b, s] == 0 (padding) or,
 * when causal, s > t; a query with no visible key gets a zero output. Backward, per (b, head): dV += P^T dO,
 * dP = dO V^T, dS = P (dP - rowsum(dP P)), dQ += scale dS K, dK += scale dS^T Q; the query heads of a group add
 * into their key/value head. Arguments are checked by the caller.
 *
 * <p>Shapes: q, out, dq, dout [B, T, NH, HS]; k, v, dk, dv [B, T, NKV, HS]; mask [B, T] I32 or null; att [B, NH, T, T].
 */
final class AttentionOps {
    /** Most floats of attention scores held at once in scratch (64 MiB). */
    static final long SCRATCH_FLOATS = 16L << 20;
    private static final Transpose NO = Transpose.NO, YES = Transpose.YES;

    private AttentionOps() {}

    /**
     * One task per (sequence b, query head h), spread over the fork-join pool: scores S = scale Q_h K_g^T [T, T]
     * (single-threaded GEMM), the masked softmax in place ({@link RowKernels#maskedSoftmax}), then out[b, :, h, :] =
     * P V_g written straight into out (leading dimension NH HS). P goes to att when it is not null (training), else to
     * per-worker scratch: at most {@code scratchFloats} floats of scores at once (at least one T x T block).
     */
    static void forward(HostGemm gemm, RowKernels rows, Scratch scratch, MemorySegment out, MemorySegment att,
                        MemorySegment q, MemorySegment k, MemorySegment v, MemorySegment mask, int B, int T, int NH,
                        int NKV, int HS, boolean causal, long scratchFloats) {
        int group = NH / NKV;
        long qC = (long) NH * HS, kvC = (long) NKV * HS, tt = (long) T * T;
        float scale = (float) (1 / Math.sqrt(HS));
        int pairs = B * NH;
        int chunks = Parallel.chunkCount(pairs, tt * HS);
        if (att == null) chunks = (int) Math.max(1, Math.min(chunks, scratchFloats / tt));
        int nChunks = chunks;
        MemorySegment work = att == null ? scratch.take(nChunks * tt) : null;
        try {
            Parallel.chunks(pairs, nChunks, (chunk, first, end) -> {
                for (int bh = first; bh < end; bh++) {
                    int b = bh / NH, h = bh % NH;
                    MemorySegment p = att != null ? att.asSlice(bh * tt * Float.BYTES, tt * Float.BYTES)
                            : work.asSlice(chunk * tt * Float.BYTES, tt * Float.BYTES);
                    long qOff = ((long) b * T * qC + (long) h * HS) * Float.BYTES;
                    long kvOff = ((long) b * T * kvC + (long) (h / group) * HS) * Float.BYTES;
                    gemm.sgemm(NO, YES, T, T, HS, scale, q.asSlice(qOff), (int) qC, k.asSlice(kvOff), (int) kvC, 0f,
                            p, T);
                    MemorySegment sequenceMask = mask == null ? null
                            : mask.asSlice((long) b * T * Integer.BYTES, (long) T * Integer.BYTES);
                    rows.maskedSoftmax(p, sequenceMask, T, causal);
                    gemm.sgemm(NO, NO, T, HS, T, 1f, p, T, v.asSlice(kvOff), (int) kvC, 0f, out.asSlice(qOff),
                            (int) qC);
                }
            });
        } finally {
            if (work != null) scratch.give(work);
        }
    }

    /** Adds the gradients into dq, dk, dv (each may be null) from dout and the saved probabilities att. */
    static void backward(HostGemm gemm, Scratch scratch, MemorySegment dq, MemorySegment dk, MemorySegment dv,
                         MemorySegment dout, MemorySegment q, MemorySegment k, MemorySegment v, MemorySegment att,
                         int B, int T, int NH, int NKV, int HS) {
        int group = NH / NKV;
        long qC = (long) NH * HS, kvC = (long) NKV * HS, seqScores = (long) NH * T * T, tt = (long) T * T;
        float scale = (float) (1 / Math.sqrt(HS));
        boolean scores = dq != null || dk != null;
        MemorySegment ds = scores ? scratch.take(seqScores) : null;   // dP, then dS [NH, T, T]
        try {
            for (int b = 0; b < B; b++) {
                MemorySegment p = att.asSlice(b * seqScores * Float.BYTES);
                long qb = (long) b * T * qC, kvb = (long) b * T * kvC;
                if (dv != null) {
                    for (int h = 0; h < NH; h++) {
                        gemm.sgemm(YES, NO, T, HS, T, 1f, p.asSlice(h * tt * Float.BYTES), T,
                                dout.asSlice((qb + (long) h * HS) * Float.BYTES), (int) qC, 1f,
                                dv.asSlice((kvb + (long) (h / group) * HS) * Float.BYTES), (int) kvC);
                    }
                }
                if (!scores) continue;
                // dP[h] = dO_h V_g^T, per key/value head a batch of its query heads
                for (int g = 0; g < NKV; g++) {
                    gemm.sgemmStridedBatched(NO, YES, T, T, HS, 1f,
                            dout.asSlice((qb + (long) g * group * HS) * Float.BYTES), (int) qC, HS,
                            v.asSlice((kvb + (long) g * HS) * Float.BYTES), (int) kvC, 0,
                            0f, ds.asSlice(g * group * tt * Float.BYTES), T, tt, group);
                }
                softmaxBackward(ds, p, NH * T, T);
                for (int h = 0; h < NH; h++) {
                    MemorySegment dsh = ds.asSlice(h * tt * Float.BYTES);
                    long kOff = (kvb + (long) (h / group) * HS) * Float.BYTES, qOff = (qb + (long) h * HS) * Float.BYTES;
                    if (dq != null) {
                        gemm.sgemm(NO, NO, T, HS, T, scale, dsh, T, k.asSlice(kOff), (int) kvC, 1f, dq.asSlice(qOff),
                                (int) qC);
                    }
                    if (dk != null) {
                        gemm.sgemm(YES, NO, T, HS, T, scale, dsh, T, q.asSlice(qOff), (int) qC, 1f, dk.asSlice(kOff),
                                (int) kvC);
                    }
                }
            }
        } finally {
            if (ds != null) scratch.give(ds);
        }
    }

    /** dp[r, :] = p (dp - sum(dp p)) per row, in place; the sum in float64. Shapes: dp, p [rows, T]. */
    private static void softmaxBackward(MemorySegment dp, MemorySegment p, int rows, int T) {
        Parallel.rows(rows, T, (first, end) -> {
            // rows through heap copies: plain array loops, no per-element segment checks
            float[] d = new float[T], q = new float[T];
            for (int r = first; r < end; r++) {
                long base = (long) r * T;
                MemorySegment.copy(dp, F32, base * Float.BYTES, d, 0, T);
                MemorySegment.copy(p, F32, base * Float.BYTES, q, 0, T);
                double dot = 0;
                for (int s = 0; s < T; s++) dot += (double) d[s] * q[s];
                for (int s = 0; s < T; s++) d[s] = q[s] == 0f ? 0f : (float) (q[s] * (d[s] - dot));
                MemorySegment.copy(d, 0, dp, F32, base * Float.BYTES, T);
            }
        });
    }
}
