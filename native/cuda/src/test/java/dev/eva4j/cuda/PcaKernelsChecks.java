package dev.eva4j.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.eva4j.api.eva.IncrementalPca;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The EVA step's kernels against the host's IncrementalPca on fresh random inputs (fixed seeds): the stacked matrix M
 * and the merged statistics of a second step, the row gather, the sign flip, the cosines and the explained variance.
 * Run on a GPU ({@link CudaPcaKernelsTest}) and on the CPU {@link Emulator} ({@link EmulatedPcaKernelsTest}).
 */
abstract class PcaKernelsChecks {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;
    private static final ValueLayout.OfDouble D = ValueLayout.JAVA_DOUBLE;

    private final CudaKernels kernels = kernels();
    private final CudaContext context = kernels.context();

    /** The kernels under test. */
    abstract CudaKernels kernels();

    private DeviceMemory device(Arena arena, float[] values) {
        DeviceMemory m = context.allocate(Math.max(4L, 4L * values.length));
        m.copyFrom(arena.allocateFrom(F, values));
        return m;
    }

    private DeviceMemory device(Arena arena, double[] values) {
        DeviceMemory m = context.allocate(Math.max(8L, 8L * values.length));
        m.copyFrom(arena.allocateFrom(D, values));
        return m;
    }

    private static float[] floats(Arena arena, DeviceMemory m, int n) {
        MemorySegment host = arena.allocate(F, n);
        m.copyTo(host);
        return host.toArray(F);
    }

    private static double[] doubles(Arena arena, DeviceMemory m, int n) {
        MemorySegment host = arena.allocate(D, n);
        m.copyTo(host);
        return host.toArray(D);
    }

    private static float[] gaussian(Random rnd, int n, double scale, double shift) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) (rnd.nextGaussian() * scale + shift);
        return x;
    }

    @Test
    void aSecondStepBuildsTheHostsMatrixAndStatistics() {
        int d = 37, k = 4, rows1 = 50, rows2 = 300;   // rows2 > 64: more than one chunk of rows
        Random rnd = new Random(2024);
        IncrementalPca host = new IncrementalPca(d, k);
        try (Arena arena = Arena.ofConfined();
             CudaPcaKernels pca = new CudaPcaKernels(kernels.module())) {
            // a first step whose "SVD" answer is random: a state with components, mean, variance and n
            IncrementalPca.Step first = host.prepare(arena.allocateFrom(F, gaussian(rnd, rows1 * d, 2, 1)), rows1,
                    arena, 1, false);
            MemorySegment.copy(gaussian(rnd, k, 3, 10), 0, first.problem().singularValues(), F, 0, k);
            MemorySegment.copy(gaussian(rnd, k * d, 1, 0), 0, first.problem().vt(), F, 0, k * d);
            host.commit(first);
            float[] s = host.singularValues(), v = host.componentsCopy();
            double[] oldMean = host.mean(), oldVar = host.variance();
            long nOld = host.samplesSeen();
            float[] x2 = gaussian(rnd, rows2 * d, 1.5, -0.5);
            IncrementalPca.Step second = host.prepare(arena.allocateFrom(F, x2), rows2, arena, 2, false);
            int mRows = k + rows2 + 1;
            assertEquals(mRows, second.problem().rows());
            float[] expectedM = second.problem().matrix().asSlice(0, (long) mRows * d * 4).toArray(F);

            DeviceMemory dx = device(arena, x2), ds = device(arena, s), dv = device(arena, v);
            DeviceMemory dOldMean = device(arena, oldMean), dOldVar = device(arena, oldVar);
            DeviceMemory dm = context.allocate(4L * mRows * d);
            DeviceMemory sum = context.allocate(8L * d), mean = context.allocate(8L * d);
            DeviceMemory newMean = context.allocate(8L * d), newVar = context.allocate(8L * d);
            pca.scaledRows(dm.address(), ds.address(), dv.address(), k, d);
            pca.columnMean(sum.address(), mean.address(), dx.address(), rows2, d);
            pca.centerAndFinish(dm.address(), k, newMean.address(), newVar.address(),
                    dm.address(4L * (k + rows2) * d), dx.address(), sum.address(), mean.address(),
                    dOldMean.address(), dOldVar.address(), nOld, rows2, d);
            float[] m = floats(arena, dm, mRows * d);
            double scale = 0, diff = 0;
            int worst = 0;
            for (int i = 0; i < m.length; i++) {
                scale = Math.max(scale, Math.abs(expectedM[i]));
                double e = Math.abs(m[i] - expectedM[i]);
                if (e > diff) {
                    diff = e;
                    worst = i;
                }
            }
            assertTrue(diff <= 1e-6 * scale, "M differs by " + diff + " at " + worst + " (row " + worst / d
                    + "): " + m[worst] + " vs " + expectedM[worst]);
            double[] gotMean = doubles(arena, newMean, d), gotVar = doubles(arena, newVar, d);
            for (int j = 0; j < d; j++) {
                assertEquals(second.mean()[j], gotMean[j], 1e-12 * Math.max(1, Math.abs(second.mean()[j])), "mean " + j);
                assertEquals(second.var()[j], gotVar[j], 1e-12 * Math.max(1, second.var()[j]), "var " + j);
            }
            for (DeviceMemory mem : new DeviceMemory[] {dx, ds, dv, dOldMean, dOldVar, dm, sum, mean, newMean, newVar}) {
                mem.close();
            }
        }
    }

    @Test
    void gatherSignFlipCosinesAndExplainedVariance() {
        int d = 300, k = 5, rows = 9;
        Random rnd = new Random(77);
        try (Arena arena = Arena.ofConfined();
             CudaPcaKernels pca = new CudaPcaKernels(kernels.module())) {
            float[] src = gaussian(rnd, rows * d, 1, 0);
            int[] pick = {8, 0, 3, 3};
            DeviceMemory dsrc = device(arena, src), dst = context.allocate(4L * pick.length * d);
            DeviceMemory idx = context.allocate(4L * pick.length);
            idx.copyFrom(arena.allocateFrom(ValueLayout.JAVA_INT, pick));
            pca.gatherRows(dst.address(), dsrc.address(), idx.address(), pick.length, d);
            float[] gathered = floats(arena, dst, pick.length * d);
            for (int i = 0; i < pick.length; i++) {
                for (int j = 0; j < d; j++) assertEquals(src[pick[i] * d + j], gathered[i * d + j], "gather " + i);
            }

            float[] v = gaussian(rnd, k * d, 1, 0);
            v[2 * d + 17] = -40f;   // row 2's largest entry is negative: flipped
            v[3 * d + 5] = 40f;     // row 3's: kept
            v[4 * d + 7] = -40f;    // row 4: a tie, the first (negative) one decides
            v[4 * d + 9] = 40f;
            float[] prev = gaussian(rnd, k * d, 1, 0);
            DeviceMemory dv = device(arena, v), dprev = device(arena, prev), cos = context.allocate(8L * k);
            pca.signFlip(dv.address(), k, d);
            float[] flipped = floats(arena, dv, k * d);
            for (int i = 0; i < k; i++) {
                int arg = 0;
                float best = -1;
                for (int j = 0; j < d; j++) {
                    float a = Math.abs(v[i * d + j]);
                    if (a > best) {
                        best = a;
                        arg = j;
                    }
                }
                float sign = v[i * d + arg] < 0 ? -1f : 1f;
                for (int j = 0; j < d; j++) assertEquals(sign * v[i * d + j], flipped[i * d + j], "row " + i);
            }
            assertEquals(-40f * -1f, flipped[2 * d + 17]);
            pca.rowCosines(cos.address(), dv.address(), dprev.address(), k, d);
            double[] got = doubles(arena, cos, k);
            for (int i = 0; i < k; i++) {
                double dot = 0, na = 0, nb = 0;
                for (int j = 0; j < d; j++) {
                    double a = flipped[i * d + j], b = prev[i * d + j];
                    dot += a * b;
                    na += a * a;
                    nb += b * b;
                }
                assertEquals(dot / Math.sqrt(na * nb), got[i], 1e-12, "cosine " + i);
            }

            float[] s = {9f, 4f, 2f, 1f, 0.5f};
            double[] var = new double[d];
            for (int j = 0; j < d; j++) var[j] = 0.5 + rnd.nextDouble();
            DeviceMemory ds = device(arena, s), dvar = device(arena, var), evr = context.allocate(8L * k);
            pca.explainedVariance(evr.address(), ds.address(), dvar.address(), 1234, k, d);
            double total = 0;
            for (double x : var) total += x * 1234;
            double[] ratios = doubles(arena, evr, k);
            for (int i = 0; i < k; i++) assertEquals((double) s[i] * s[i] / total, ratios[i], 1e-14, "evr " + i);
            for (DeviceMemory mem : new DeviceMemory[] {dsrc, dst, idx, dv, dprev, cos, ds, dvar, evr}) mem.close();
        }
    }
}
