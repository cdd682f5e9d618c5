package dev.eva4j.models.ops;

import static dev.eva4j.models.ops.Floats.F32;

import java.lang.foreign.MemorySegment;

/** Token, position and token-type embeddings (llm.c's encoder_forward, split in its three parts). */
public final class Embedding {
    private Embedding() {}

    /**
     * out[n, :] = table[ids[n], :]. Shapes: out [N, C] with N = B*T, ids [N], table [V, C].
     *
     * @throws IllegalArgumentException for an id outside [0, V), naming the position and the id
     */
    public static void gather(MemorySegment out, int[] ids, MemorySegment table, int vocab, int C) {
        int n = ids.length;
        Floats.require("gather", "out", out, (long) n * C, "[N=" + n + ", C=" + C + "]");
        Floats.require("gather", "table", table, (long) vocab * C, "[V=" + vocab + ", C=" + C + "]");
        long rowBytes = (long) C * Float.BYTES;
        for (int i = 0; i < n; i++) {
            int id = ids[i];
            if (id < 0 || id >= vocab) {
                throw new IllegalArgumentException("token id " + id + " at position " + i + " is outside the vocabulary [0, "
                        + vocab + ")");
            }
            MemorySegment.copy(table, id * rowBytes, out, i * rowBytes, rowBytes);
        }
    }

    /**
     * out[b, t, :] += table[positionOffset + t, :]. Shapes: out [B, T, C], table [P, C] with positionOffset + T <= P
     * (BERT's absolute position embeddings; positions count from 0 in every sequence, padding is on the right).
     */
    public static void addPositions(MemorySegment out, int B, int T, int C, MemorySegment table, int maxPositions,
                                    int positionOffset) {
        if (positionOffset < 0 || positionOffset + T > maxPositions) {
            throw new IllegalArgumentException("positions [" + positionOffset + ", " + (positionOffset + T)
                    + ") exceed the " + maxPositions + " position embeddings");
        }
        Floats.require("addPositions", "out", out, (long) B * T * C, "[B=" + B + ", T=" + T + ", C=" + C + "]");
        Floats.require("addPositions", "table", table, (long) maxPositions * C, "[P=" + maxPositions + ", C=" + C + "]");
        for (int b = 0; b < B; b++) {
            for (int t = 0; t < T; t++) {
                addRow(out, ((long) b * T + t) * C, table, (long) (positionOffset + t) * C, C);
            }
        }
    }

    /**
     * out[n, :] += table[typeIds[n], :], or table[0, :] for every row when typeIds is null. Shapes: out [N, C],
     * typeIds [N] or null, table [types, C].
     */
    public static void addTokenTypes(MemorySegment out, int N, int C, int[] typeIds, MemorySegment table, int types) {
        if (typeIds != null && typeIds.length != N) {
            throw new IllegalArgumentException("addTokenTypes: " + typeIds.length + " type ids for " + N + " rows");
        }
        Floats.require("addTokenTypes", "out", out, (long) N * C, "[N=" + N + ", C=" + C + "]");
        Floats.require("addTokenTypes", "table", table, (long) types * C, "[types=" + types + ", C=" + C + "]");
        for (int i = 0; i < N; i++) {
            int type = typeIds == null ? 0 : typeIds[i];
            if (type < 0 || type >= types) {
                throw new IllegalArgumentException("token type id " + type + " at position " + i + " is outside [0, "
                        + types + ")");
            }
            addRow(out, (long) i * C, table, (long) type * C, C);
        }
    }

    private static void addRow(MemorySegment out, long outIndex, MemorySegment table, long tableIndex, int C) {
        for (int c = 0; c < C; c++) {
            out.setAtIndex(F32, outIndex + c, out.getAtIndex(F32, outIndex + c) + table.getAtIndex(F32, tableIndex + c));
        }
    }
}
