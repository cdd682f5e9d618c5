package dev.eva4j.api.kernels;

import static dev.eva4j.api.kernels.VectorOps.F32;

import dev.eva4j.spi.Transpose;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Multi-head scaled dot-product attention (llm.c's attention_forward / attention_backward) with grouped-query heads:
 * query head h reads key/value head h / (NH / NKV). Forward: per sequence b and key/value head g, one strided-batched
 * GEMM computes the scores of its NH/NKV query heads (scale 1/sqrt(HS)), a masked softmax turns them into weights P,
 * a second batched GEMM multiplies them by V. A key s gets no weight from query t when mask[b, s] == 0 (padding) or,
 * when causal, s > t; a query with no visible key gets a zero output. Backward, per (b, head): dV += P^T dO,
 * dP = dO V^T, dS = P (dP - rowsum(dP P)), dQ += scale dS K, dK += scale dS^T Q; the query heads of a group add
 * into their key/value head. Arguments are checked by the caller.
 *
 * <p>Shapes: q, out, dq, dout [B, T, NH, HS]; k, v, dk, dv [B, T, NKV, HS]; mask [B, T] I32 or null; att [B, NH, T, T].
 */
final class AttentionOps {
    /** Most floats of attention scores held at once (64 MiB); sequences are processed in chunks that fit. */
    static final long SCRATCH_FLOATS = 16L << 20;
    private static final Transpose NO = Transpose.NO, YES = Transpose.YES;

    private AttentionOps() {}

    /**
     * Saves P into att when it is not null; else the scores of as many sequences as fit in {@code scratchFloats}
     * (at least one) live in scratch memory. ctx [chunk, NH, T, HS] is scratch either way.
     */
    static void forward(HostGemm gemm, Scratch scratch, MemorySegment out, MemorySegment att, MemorySegment q,
                        MemorySegment k, MemorySegment v, MemorySegment mask, int B, int T, int NH, int NKV, int HS,
                        boolean causal, long scratchFloats) {
        long qC = (long) NH * HS;
        long seqScores = (long) NH * T * T, seqCtx = (long) NH * T * HS;
        float scale = (float) (1 / Math.sqrt(HS));
        // sequences per chunk: each phase (all scores, all softmaxes, all products) runs over a whole chunk, so the
        // backend's threads and the softmax's threads take turns a few times per call rather than 3 B times
        int chunk = (int) Math.max(1, Math.min(B, scratchFloats / seqScores));
        long scoreFloats = att == null ? chunk * seqScores : 0;
        MemorySegment work = scratch.take(scoreFloats + chunk * seqCtx);
        try {
            MemorySegment ctx = work.asSlice(scoreFloats * Float.BYTES);   // [chunk, NH, T, HS]
            for (int b0 = 0; b0 < B; b0 += chunk) {
                int nb = Math.min(chunk, B - b0);
                MemorySegment p = att == null ? work : att.asSlice(b0 * seqScores * Float.BYTES); // [nb, NH, T, T]
                for (int j = 0; j < nb; j++) {
                    scores(gemm, p.asSlice(j * seqScores * Float.BYTES), q, k, b0 + j, T, NH, NKV, HS, scale);
                }
                maskedSoftmax(p, mask, b0, nb, T, NH, causal);
                for (int j = 0; j < nb; j++) {
                    mix(gemm, ctx.asSlice(j * seqCtx * Float.BYTES), p.asSlice(j * seqScores * Float.BYTES), v,
                            b0 + j, T, NH, NKV, HS);
                }
                // out[b, t, h, :] = ctx[b - b0, h, t, :]
                long headBytes = (long) HS * Float.BYTES;
                for (int j = 0; j < nb; j++) {
                    long qb = (long) (b0 + j) * T * qC;
                    for (int h = 0; h < NH; h++) {
                        for (int t = 0; t < T; t++) {
                            MemorySegment.copy(ctx, (((long) j * NH + h) * T + t) * headBytes, out,
                                    (qb + t * qC + (long) h * HS) * Float.BYTES, headBytes);
                        }
                    }
                }
            }
        } finally {
            scratch.give(work);
        }
    }

    /** att[h] = scale * Q_h K_g^T for sequence b: per key/value head g, a batch of its NH/NKV query heads (HS apart). */
    private static void scores(HostGemm gemm, MemorySegment att, MemorySegment q, MemorySegment k, int b, int T,
                               int NH, int NKV, int HS, float scale) {
        int group = NH / NKV;
        long qC = (long) NH * HS, kvC = (long) NKV * HS, qb = (long) b * T * qC, kvb = (long) b * T * kvC;
        if (group == 1) {
            gemm.sgemmStridedBatched(NO, YES, T, T, HS, scale, q.asSlice(qb * Float.BYTES), (int) qC, HS,
                    k.asSlice(kvb * Float.BYTES), (int) kvC, HS, 0f, att, T, (long) T * T, NH);
            return;
        }
        for (int g = 0; g < NKV; g++) {
            gemm.sgemmStridedBatched(NO, YES, T, T, HS, scale, q.asSlice((qb + (long) g * group * HS) * Float.BYTES),
                    (int) qC, HS, k.asSlice((kvb + (long) g * HS) * Float.BYTES), (int) kvC, 0,
                    0f, att.asSlice((long) g * group * T * T * Float.BYTES), T, (long) T * T, group);
        }
    }

    /** ctx[h] = att[h] V_g for sequence b; ctx [NH, T, HS]. */
    private static void mix(HostGemm gemm, MemorySegment ctx, MemorySegment att, MemorySegment v, int b, int T,
                            int NH, int NKV, int HS) {
        int group = NH / NKV;
        long kvC = (long) NKV * HS, kvb = (long) b * T * kvC;
        if (group == 1) {
            gemm.sgemmStridedBatched(NO, NO, T, HS, T, 1f, att, T, (long) T * T, v.asSlice(kvb * Float.BYTES),
                    (int) kvC, HS, 0f, ctx, HS, (long) T * HS, NH);
            return;
        }
        for (int g = 0; g < NKV; g++) {
            gemm.sgemmStridedBatched(NO, NO, T, HS, T, 1f, att.asSlice((long) g * group * T * T * Float.BYTES), T,
                    (long) T * T, v.asSlice((kvb + (long) g * HS) * Float.BYTES), (int) kvC, 0,
                    0f, ctx.asSlice((long) g * group * T * HS * Float.BYTES), HS, (long) T * HS, group);
        }
    }

    /** Softmax over the visible keys of each row of att [nb, NH, T, T] (sequences b0..); hidden keys get 0. */
    private static void maskedSoftmax(MemorySegment att, MemorySegment mask, int b0, int nb, int T, int NH,
                                      boolean causal) {
        Parallel.rows(nb * NH * T, T, (first, end) -> {
            for (int r = first; r < end; r++) {
                int t = r % T, b = b0 + r / (NH * T);
                long base = (long) r * T;
                int visible = causal ? t + 1 : T;
                if (mask != null) {
                    for (int s = 0; s < visible; s++) {
                        if (mask.getAtIndex(ValueLayout.JAVA_INT, (long) b * T + s) == 0) {
                            att.setAtIndex(F32, base + s, Float.NEGATIVE_INFINITY);
                        }
                    }
                }
                VectorOps.softmaxRow(att, att, base, visible);
                for (int s = visible; s < T; s++) att.setAtIndex(F32, base + s, 0f);
            }
        });
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
