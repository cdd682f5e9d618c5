package dev.eva4j.cpu.java;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The register-blocked micro-kernel: an MR x NR tile of C from packed panels (MR = 6 rows, NR = 2 vectors).
 * Twelve accumulators live in locals; each step broadcasts one element of A and does two FMAs per row.
 */
final class GemmKernel {
    static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    static final int L = SPECIES.length();
    static final int MR = 6;
    static final int NR = 2 * L;
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();

    private GemmKernel() {}

    /**
     * tile[MR x NR] = op(A) panel [MR x kc] * op(B) panel [kc x NR], both packed step by step:
     * ap from ai holds kc steps of MR values (column p of the MR rows), bp from bi kc steps of NR values (row p).
     */
    static void tile(int kc, float[] ap, int ai, float[] bp, int bi, float[] tile) {
        FloatVector c00 = FloatVector.zero(SPECIES), c01 = FloatVector.zero(SPECIES);
        FloatVector c10 = FloatVector.zero(SPECIES), c11 = FloatVector.zero(SPECIES);
        FloatVector c20 = FloatVector.zero(SPECIES), c21 = FloatVector.zero(SPECIES);
        FloatVector c30 = FloatVector.zero(SPECIES), c31 = FloatVector.zero(SPECIES);
        FloatVector c40 = FloatVector.zero(SPECIES), c41 = FloatVector.zero(SPECIES);
        FloatVector c50 = FloatVector.zero(SPECIES), c51 = FloatVector.zero(SPECIES);
        for (int p = 0; p < kc; p++, ai += MR, bi += NR) {
            FloatVector b0 = FloatVector.fromArray(SPECIES, bp, bi);
            FloatVector b1 = FloatVector.fromArray(SPECIES, bp, bi + L);
            FloatVector a = FloatVector.broadcast(SPECIES, ap[ai]);
            c00 = a.fma(b0, c00);
            c01 = a.fma(b1, c01);
            a = FloatVector.broadcast(SPECIES, ap[ai + 1]);
            c10 = a.fma(b0, c10);
            c11 = a.fma(b1, c11);
            a = FloatVector.broadcast(SPECIES, ap[ai + 2]);
            c20 = a.fma(b0, c20);
            c21 = a.fma(b1, c21);
            a = FloatVector.broadcast(SPECIES, ap[ai + 3]);
            c30 = a.fma(b0, c30);
            c31 = a.fma(b1, c31);
            a = FloatVector.broadcast(SPECIES, ap[ai + 4]);
            c40 = a.fma(b0, c40);
            c41 = a.fma(b1, c41);
            a = FloatVector.broadcast(SPECIES, ap[ai + 5]);
            c50 = a.fma(b0, c50);
            c51 = a.fma(b1, c51);
        }
        c00.intoArray(tile, 0);
        c01.intoArray(tile, L);
        c10.intoArray(tile, NR);
        c11.intoArray(tile, NR + L);
        c20.intoArray(tile, 2 * NR);
        c21.intoArray(tile, 2 * NR + L);
        c30.intoArray(tile, 3 * NR);
        c31.intoArray(tile, 3 * NR + L);
        c40.intoArray(tile, 4 * NR);
        c41.intoArray(tile, 4 * NR + L);
        c50.intoArray(tile, 5 * NR);
        c51.intoArray(tile, 5 * NR + L);
    }

    /**
     * C[rows x cols at cIdx, leading dimension ldc] += alpha * tile[rows x cols] (tile rows are NR apart).
     * Full tiles go through vectors, edge tiles element by element.
     */
    static void addTile(float[] tile, int rows, int cols, float alpha, MemorySegment c, long cIdx, long ldc) {
        if (rows == MR && cols == NR) {
            FloatVector av = FloatVector.broadcast(SPECIES, alpha);
            for (int r = 0; r < MR; r++) {
                long off = (cIdx + r * ldc) * Float.BYTES;
                for (int v = 0; v < NR; v += L, off += (long) L * Float.BYTES) {
                    FloatVector cv = FloatVector.fromMemorySegment(SPECIES, c, off, NATIVE);
                    FloatVector.fromArray(SPECIES, tile, r * NR + v).fma(av, cv).intoMemorySegment(c, off, NATIVE);
                }
            }
            return;
        }
        for (int r = 0; r < rows; r++) {
            long row = cIdx + r * ldc;
            for (int j = 0; j < cols; j++) {
                float cv = c.getAtIndex(Packing.FLOAT, row + j);
                c.setAtIndex(Packing.FLOAT, row + j, Math.fma(alpha, tile[r * NR + j], cv));
            }
        }
    }
}
