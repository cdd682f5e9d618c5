package dev.eva4j.cpu.java;

import java.lang.foreign.MemorySegment;

/**
 * C[m x n] += alpha * op(A)[m x k] * op(B)[k x n], cache-blocked (Goto/BLIS loop order):
 * jc over NC columns, pc over KC of the shared dimension (pack a KC x NC panel of B), ic over MC rows (pack an
 * MC x KC block of A), then MR x NR micro-tiles. The threads split C into disjoint bands along its longer side,
 * each packing its own panels, so they share nothing but the inputs.
 */
final class BlockedGemm {
    static final int MR = GemmKernel.MR, NR = GemmKernel.NR;
    /** Depth of one packed panel: KC x NR floats of B (16 KiB with 8 lanes) stay in L1 while a tile is built. */
    static final int KC = 256;
    /** Rows of the packed A block: MC x KC floats (96 KiB) stay in L2. */
    static final int MC = 16 * MR;
    /** Columns of the packed B panel: KC x NC floats (up to 4 MiB) in L3. */
    static final int NC = 256 * NR;
    /** Below this many multiply-adds per thread, more threads cost more than they save. */
    static final long MIN_WORK_PER_THREAD = 64L * 64 * 64;

    private BlockedGemm() {}

    /** A thread that never runs: only asked whether a segment may be read from threads other than its owner. */
    private static final Thread OTHER_THREAD = new Thread(() -> {});

    /**
     * C (m x n from element cOff, rows ldc apart) += alpha * op(A) * op(B), on up to {@code threads} threads.
     * Operands in a confined arena are first copied to the heap (and C back), since workers may not read them.
     */
    static void multiply(Matrix a, Matrix b, float alpha, MemorySegment c, long cOff, long ldc,
                         int m, int n, int k, int threads) {
        boolean splitColumns = n >= m;
        int unit = splitColumns ? NR : MR, extent = splitColumns ? n : m;
        long work = (long) m * n * k;
        int parts = (int) Math.max(1, Math.min(threads, Math.min((extent + unit - 1) / unit, work / MIN_WORK_PER_THREAD)));
        if (parts > 1 && !(shared(a.seg()) && shared(b.seg()) && shared(c))) {
            Matrix ha = a.toHeap(a.trans() ? k : m, a.trans() ? m : k);
            Matrix hb = b.toHeap(b.trans() ? n : k, b.trans() ? k : n);
            Matrix sc = new Matrix(c, cOff, ldc, false), hc = sc.toHeap(m, n);
            if (ha != null && hb != null && hc != null) {
                run(ha, hb, alpha, hc.seg(), 0, ldc, m, n, k, parts, splitColumns, unit, extent);
                hc.copyTo(sc);
                return;
            }
            parts = 1;
        }
        run(a, b, alpha, c, cOff, ldc, m, n, k, parts, splitColumns, unit, extent);
    }

    private static boolean shared(MemorySegment seg) {
        return seg.isAccessibleBy(OTHER_THREAD);
    }

    private static void run(Matrix a, Matrix b, float alpha, MemorySegment c, long cOff, long ldc, int m, int n,
                            int k, int parts, boolean splitColumns, int unit, int extent) {
        int unitsPerPart = ((extent + unit - 1) / unit + parts - 1) / parts;
        WorkerPool.run(parts, part -> {
            int lo = Math.min(extent, part * unitsPerPart * unit), hi = Math.min(extent, lo + unitsPerPart * unit);
            if (lo >= hi) return;
            if (splitColumns) serial(a, b, alpha, c, cOff, ldc, 0, m, lo, hi, k);
            else serial(a, b, alpha, c, cOff, ldc, lo, hi, 0, n, k);
        });
    }

    /** The band C[i0 .. i1, j0 .. j1] on the calling thread. */
    static void serial(Matrix a, Matrix b, float alpha, MemorySegment c, long cOff, long ldc,
                       int i0, int i1, int j0, int j1, int k) {
        int kcMax = Math.min(KC, k);
        float[] bp = new float[kcMax * roundUp(Math.min(NC, j1 - j0), NR)];
        float[] ap = new float[kcMax * roundUp(Math.min(MC, i1 - i0), MR)];
        float[] tile = new float[MR * NR];
        for (int jc = j0; jc < j1; jc += NC) {
            int nc = Math.min(NC, j1 - jc);
            for (int pc = 0; pc < k; pc += KC) {
                int kc = Math.min(KC, k - pc);
                Packing.packB(b, pc, kc, jc, nc, bp);
                for (int ic = i0; ic < i1; ic += MC) {
                    int mc = Math.min(MC, i1 - ic);
                    Packing.packA(a, ic, mc, pc, kc, ap);
                    for (int jr = 0; jr < nc; jr += NR) {
                        int nr = Math.min(NR, nc - jr), bi = jr / NR * kc * NR;
                        for (int ir = 0; ir < mc; ir += MR) {
                            GemmKernel.tile(kc, ap, ir / MR * kc * MR, bp, bi, tile);
                            GemmKernel.addTile(tile, Math.min(MR, mc - ir), nr, alpha, c,
                                    cOff + (long) (ic + ir) * ldc + jc + jr, ldc);
                        }
                    }
                }
            }
        }
    }

    /** C[m x n] *= beta; beta = 0 writes zeros (so NaN or garbage in C does not survive, as in BLAS). */
    static void scale(MemorySegment c, long cOff, long ldc, int m, int n, float beta) {
        if (beta == 1f) return;
        for (int i = 0; i < m; i++) {
            long row = cOff + (long) i * ldc;
            if (beta == 0f) {
                c.asSlice(row * Float.BYTES, (long) n * Float.BYTES).fill((byte) 0);
                continue;
            }
            for (int j = 0; j < n; j++) c.setAtIndex(Packing.FLOAT, row + j, beta * c.getAtIndex(Packing.FLOAT, row + j));
        }
    }

    /** The simple path for small products: C += alpha * op(A) op(B), dot products accumulated in float64. */
    static void naive(Matrix a, Matrix b, float alpha, MemorySegment c, long cOff, long ldc, int m, int n, int k) {
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int p = 0; p < k; p++) s += (double) a.get(i, p) * b.get(p, j);
                long at = cOff + (long) i * ldc + j;
                c.setAtIndex(Packing.FLOAT, at, (float) (alpha * s + c.getAtIndex(Packing.FLOAT, at)));
            }
        }
    }

    static int roundUp(int x, int unit) {
        return (x + unit - 1) / unit * unit;
    }
}
