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
    private Attention() {}

    /**
     * Shapes: q [B, T, NH, HS], k and v [B, T, NKV, HS], attentionMask [B, T] (1 real, 0 padding) or null (all
     * real), out [B, T, NH, HS]. NKV divides NH. Allocates NH*T*(T + HS) floats of scratch per call.
     */
    public static void forward(ComputeBackend backend, MemorySegment out, MemorySegment q, MemorySegment k,
                               MemorySegment v, int[] attentionMask, int B, int T, int NH, int NKV, int HS,
                               boolean causal) {
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
        try (Arena scratch = Arena.ofShared()) {
            MemorySegment att = Floats.allocate(scratch, (long) NH * T * T);   // [NH, T, T]
            MemorySegment ctx = Floats.allocate(scratch, (long) NH * T * HS);  // [NH, T, HS]
            for (int b = 0; b < B; b++) {
                long qb = b * T * qC, kvb = b * T * kvC;
                // att[h] = scale * Q_h K_g^T: per g, a batch of its `group` query heads (HS apart) sharing one K
                if (group == 1) {
                    backend.sgemmStridedBatched(Transpose.NO, Transpose.YES, T, T, HS, scale,
                            q.asSlice(qb * Float.BYTES), (int) qC, HS, k.asSlice(kvb * Float.BYTES), (int) kvC, HS,
                            0f, att, T, (long) T * T, NH);
                } else {
                    for (int g = 0; g < NKV; g++) {
                        backend.sgemmStridedBatched(Transpose.NO, Transpose.YES, T, T, HS, scale,
                                q.asSlice((qb + (long) g * group * HS) * Float.BYTES), (int) qC, HS,
                                k.asSlice((kvb + (long) g * HS) * Float.BYTES), (int) kvC, 0,
                                0f, att.asSlice((long) g * group * T * T * Float.BYTES), T, (long) T * T, group);
                    }
                }
                maskedSoftmax(att, attentionMask, b, T, NH, causal);
                // ctx[h] = att[h] V_g
                if (group == 1) {
                    backend.sgemmStridedBatched(Transpose.NO, Transpose.NO, T, HS, T, 1f,
                            att, T, (long) T * T, v.asSlice(kvb * Float.BYTES), (int) kvC, HS,
                            0f, ctx, HS, (long) T * HS, NH);
                } else {
                    for (int g = 0; g < NKV; g++) {
                        backend.sgemmStridedBatched(Transpose.NO, Transpose.NO, T, HS, T, 1f,
                                att.asSlice((long) g * group * T * T * Float.BYTES), T, (long) T * T,
                                v.asSlice((kvb + (long) g * HS) * Float.BYTES), (int) kvC, 0,
                                0f, ctx.asSlice((long) g * group * T * HS * Float.BYTES), HS, (long) T * HS, group);
                    }
                }
                // out[b, t, h, :] = ctx[h, t, :]
                long headBytes = (long) HS * Float.BYTES;
                for (int h = 0; h < NH; h++) {
                    for (int t = 0; t < T; t++) {
                        MemorySegment.copy(ctx, ((long) h * T + t) * headBytes, out,
                                (qb + t * qC + (long) h * HS) * Float.BYTES, headBytes);
                    }
                }
            }
        }
    }

    /** Softmax over the visible keys of each row of att [NH, T, T] of sequence b; hidden keys get 0. */
    private static void maskedSoftmax(MemorySegment att, int[] mask, int b, int T, int NH, boolean causal) {
        Parallel.rows(NH * T, T, (first, end) -> {
            for (int r = first; r < end; r++) {
                int t = r % T;
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
