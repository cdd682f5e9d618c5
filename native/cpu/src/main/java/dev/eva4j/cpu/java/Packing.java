package dev.eva4j.cpu.java;

import java.lang.foreign.ValueLayout;

/**
 * Copies blocks of op(A) and op(B) out of their segments into contiguous micro-panels, so the kernel reads both
 * with unit stride whatever the transposes and leading dimensions were. Ragged edges are padded with zeros.
 */
final class Packing {
    static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final int MR = GemmKernel.MR, NR = GemmKernel.NR;

    private Packing() {}

    /**
     * ap[ceil(mc / MR) panels][kc][MR] = op(A)[i0 .. i0 + mc, p0 .. p0 + kc], panel by panel of MR rows:
     * ap[panel * kc * MR + p * MR + r] = op(A)(i0 + panel * MR + r, p0 + p).
     */
    static void packA(Matrix a, int i0, int mc, int p0, int kc, float[] ap) {
        for (int ir = 0, base = 0; ir < mc; ir += MR, base += kc * MR) {
            int rows = Math.min(MR, mc - ir);
            if (rows < MR) java.util.Arrays.fill(ap, base, base + kc * MR, 0f);
            if (a.trans()) {
                // stored k x m: for each p, MR neighbouring elements of one stored row
                for (int p = 0; p < kc; p++) {
                    long src = a.offset() + (long) (p0 + p) * a.ld() + i0 + ir;
                    int dst = base + p * MR;
                    for (int r = 0; r < rows; r++) ap[dst + r] = a.seg().getAtIndex(FLOAT, src + r);
                }
            } else {
                // stored m x k: each of the MR rows is contiguous along p
                for (int r = 0; r < rows; r++) {
                    long src = a.offset() + (long) (i0 + ir + r) * a.ld() + p0;
                    for (int p = 0, dst = base + r; p < kc; p++, dst += MR) ap[dst] = a.seg().getAtIndex(FLOAT, src + p);
                }
            }
        }
    }

    /**
     * bp[ceil(nc / NR) panels][kc][NR] = op(B)[p0 .. p0 + kc, j0 .. j0 + nc], panel by panel of NR columns:
     * bp[panel * kc * NR + p * NR + c] = op(B)(p0 + p, j0 + panel * NR + c).
     */
    static void packB(Matrix b, int p0, int kc, int j0, int nc, float[] bp) {
        for (int jr = 0, base = 0; jr < nc; jr += NR, base += kc * NR) {
            int cols = Math.min(NR, nc - jr);
            if (cols < NR) java.util.Arrays.fill(bp, base, base + kc * NR, 0f);
            if (b.trans()) {
                // stored n x k: each of the NR columns of op(B) is a contiguous stored row
                for (int c = 0; c < cols; c++) {
                    long src = b.offset() + (long) (j0 + jr + c) * b.ld() + p0;
                    for (int p = 0, dst = base + c; p < kc; p++, dst += NR) bp[dst] = b.seg().getAtIndex(FLOAT, src + p);
                }
            } else {
                // stored k x n: for each p, NR neighbouring elements of one stored row
                for (int p = 0; p < kc; p++) {
                    long src = b.offset() + (long) (p0 + p) * b.ld() + j0 + jr;
                    int dst = base + p * NR;
                    for (int c = 0; c < cols; c++) bp[dst + c] = b.seg().getAtIndex(FLOAT, src + c);
                }
            }
        }
    }
}
