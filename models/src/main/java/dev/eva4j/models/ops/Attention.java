package dev.eva4j.models.ops;

import static dev.eva4j.models.ops.Floats.F32;

import dev.eva4j.spi.ComputeBackend;
import dev.eva4j.spi.Transpose;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Multi-head scaled dot-product attention (llm.c's attention_forward) with grouped-query heads: query head h reads
 * key/value head h / (NH / NKV). Per sequence b and key/value head g, one strided-batched GEMM computes the scores
 * of its NH/NKV query heads (scale 1/sqrt(HS)), a masked softmax turns them into weights, and a second batched GEMM
 * multiplies them by V. A key s gets no weight from query t when attentionMask[b, s] == 0 (padding) or, when causal,
 * s > t; a query with no visible key gets a zero output.
 */
public final class Attention {
    /** Most floats of attention scores held at once (64 MiB); sequences are processed in chunks that fit. */
    static final long SCRATCH_FLOATS = 16L << 20;

    private Attention() {}

    /**
     * Shapes: q [B, T, NH, HS], k and v [B, T, NKV, HS], attentionMask [B, T] (1 real, 0 padding) or null (all
     * real), out [B, T, NH, HS]. NKV divides NH. Allocates scratch for the scores and products of as many
     * sequences as fit in {@link #SCRATCH_FLOATS} (at least one).
     */
    public static void forward(ComputeBackend backend, MemorySegment out, MemorySegment q, MemorySegment k,
                               MemorySegment v, int[] attentionMask, int B, int T, int NH, int NKV, int HS,
                               boolean causal) {
        forward(backend, out, q, k, v, attentionMask, B, T, NH, NKV, HS, causal, SCRATCH_FLOATS);
    }

    /** As {@link #forward} with at most {@code scratchFloats} floats of scores at once (tests force small chunks). */
    static void forward(ComputeBackend backend, MemorySegment out, MemorySegment q, MemorySegment k, MemorySegment v,
                        int[] attentionMask, int B, int T, int NH, int NKV, int HS, boolean causal, long scratchFloats) {
        if (NH < 1 || NKV < 1 || NH % NKV != 0) {
            throw new IllegalArgumentException("attention: key/value heads (" + NKV + ") must divide query heads (" + NH + ")");
        }
        if (attentionMask != null && attentionMask.length != B * T) {
            throw new IllegalArgumentException("attention: mask holds " + attentionMask.length + " values, need B*T="
                    + B * T);
        }
        long qC = (long) NH * HS, kvC = (long) NKV * HS;
        String shape = "[B=" + B + ", T=" + T + ", ";
        Floats.require("attention", "q", q, B * T * qC, shape + "NH=" + NH + ", HS=" + HS + "]");
        Floats.require("attention", "k", k, B * T * kvC, shape + "NKV=" + NKV + ", HS=" + HS + "]");
        Floats.require("attention", "v", v, B * T * kvC, shape + "NKV=" + NKV + ", HS=" + HS + "]");
        Floats.require("attention", "out", out, B * T * qC, shape + "NH=" + NH + ", HS=" + HS + "]");
        int group = NH / NKV;
        float scale = (float) (1 / Math.sqrt(HS));
        // sequences per chunk: each phase (all scores, all softmaxes, all products) runs over a whole chunk, so the
        // backend's threads and the softmax's threads take turns a few times per call rather than 3 B times
        int chunk = (int) Math.max(1, Math.min(B, scratchFloats / ((long) NH * T * T)));
        try (Arena scratch = Arena.ofShared()) {
            MemorySegment att = Floats.allocate(scratch, (long) chunk * NH * T * T);   // [chunk, NH, T, T]
            MemorySegment ctx = Floats.allocate(scratch, (long) chunk * NH * T * HS);  // [chunk, NH, T, HS]
            for (int b0 = 0; b0 < B; b0 += chunk) {
                int nb = Math.min(chunk, B - b0);
                for (int j = 0; j < nb; j++) {
                    scores(backend, att.asSlice((long) j * NH * T * T * Float.BYTES), q, k, b0 + j, T, NH, NKV, HS, scale);
                }
                maskedSoftmax(att, attentionMask, b0, nb, T, NH, causal);
                for (int j = 0; j < nb; j++) {
                    mix(backend, ctx.asSlice((long) j * NH * T * HS * Float.BYTES),
                            att.asSlice((long) j * NH * T * T * Float.BYTES), v, b0 + j, T, NH, NKV, HS);
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
        }
    }

    /** att[h] = scale * Q_h K_g^T for sequence b: per key/value head g, a batch of its NH/NKV query heads (HS apart). */
    private static void scores(ComputeBackend backend, MemorySegment att, MemorySegment q, MemorySegment k, int b,
                               int T, int NH, int NKV, int HS, float scale) {
        int group = NH / NKV;
        long qC = (long) NH * HS, kvC = (long) NKV * HS, qb = b * T * qC, kvb = b * T * kvC;
        if (group == 1) {
            backend.sgemmStridedBatched(Transpose.NO, Transpose.YES, T, T, HS, scale, q.asSlice(qb * Float.BYTES),
                    (int) qC, HS, k.asSlice(kvb * Float.BYTES), (int) kvC, HS, 0f, att, T, (long) T * T, NH);
            return;
        }
        for (int g = 0; g < NKV; g++) {
            backend.sgemmStridedBatched(Transpose.NO, Transpose.YES, T, T, HS, scale,
                    q.asSlice((qb + (long) g * group * HS) * Float.BYTES), (int) qC, HS,
                    k.asSlice((kvb + (long) g * HS) * Float.BYTES), (int) kvC, 0,
                    0f, att.asSlice((long) g * group * T * T * Float.BYTES), T, (long) T * T, group);
        }
    }

    /** ctx[h] = att[h] V_g for sequence b; ctx [NH, T, HS]. */
    private static void mix(ComputeBackend backend, MemorySegment ctx, MemorySegment att, MemorySegment v, int b,
                            int T, int NH, int NKV, int HS) {
        int group = NH / NKV;
        long kvC = (long) NKV * HS, kvb = b * T * kvC;
        if (group == 1) {
            backend.sgemmStridedBatched(Transpose.NO, Transpose.NO, T, HS, T, 1f, att, T, (long) T * T,
                    v.asSlice(kvb * Float.BYTES), (int) kvC, HS, 0f, ctx, HS, (long) T * HS, NH);
            return;
        }
        for (int g = 0; g < NKV; g++) {
            backend.sgemmStridedBatched(Transpose.NO, Transpose.NO, T, HS, T, 1f,
                    att.asSlice((long) g * group * T * T * Float.BYTES), T, (long) T * T,
                    v.asSlice((kvb + (long) g * HS) * Float.BYTES), (int) kvC, 0,
                    0f, ctx.asSlice((long) g * group * T * HS * Float.BYTES), HS, (long) T * HS, group);
        }
    }

    /** Softmax over the visible keys of each row of att [nb, NH, T, T] (sequences b0..); hidden keys get 0. */
    private static void maskedSoftmax(MemorySegment att, int[] mask, int b0, int nb, int T, int NH, boolean causal) {
        Parallel.rows(nb * NH * T, T, (first, end) -> {
            for (int r = first; r < end; r++) {
                int t = r % T, b = b0 + r / (NH * T);
                long base = (long) r * T;
                int visible = causal ? t + 1 : T;
                if (mask != null) {
                    for (int s = 0; s < visible; s++) {
                        if (mask[b * T + s] == 0) att.setAtIndex(F32, base + s, Float.NEGATIVE_INFINITY);
                    }
                }
                Softmax.row(att, att, base, visible);
                for (int s = visible; s < T; s++) att.setAtIndex(F32, base + s, 0f);
            }
        }, att);
    }
}
