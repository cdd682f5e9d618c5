package dev.eva4j.api.eva;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * {@link IncrementalPca#prepare} splits large batches into column blocks computed in parallel: the statistics and the
 * stacked matrix must be the very numbers the one-thread path gives (a heap segment always takes that path), and a
 * float64 reference.
 */
class IncrementalPcaPrepareTest {
    static float[] rows(int n, int d, long seed) {
        Random r = new Random(seed);
        float[] x = new float[n * d];
        for (int i = 0; i < n; i++) for (int j = 0; j < d; j++) x[i * d + j] = (float) (r.nextGaussian() * (1 + j % 7) + 0.1 * j);
        return x;
    }

    @Test
    void theParallelColumnBlocksGiveTheNumbersOfTheOneThreadPath() {
        int n = 400, d = 200, k = 5; // 80,000 elements in 4 blocks of columns: the parallel path
        for (boolean f64 : new boolean[] {false, true}) {
            float[] x = rows(n, d, 3);
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment nat = arena.allocate(ValueLayout.JAVA_FLOAT, (long) n * d);
                MemorySegment.copy(x, 0, nat, ValueLayout.JAVA_FLOAT, 0, x.length);
                MemorySegment heap = MemorySegment.ofArray(x.clone());
                IncrementalPca.Step a = new IncrementalPca(d, k, f64).prepare(nat, n, arena, 1, false);
                IncrementalPca.Step b = new IncrementalPca(d, k, f64).prepare(heap, n, arena, 1, false);
                assertArrayEquals(b.mean(), a.mean());
                assertArrayEquals(b.var(), a.var());
                assertEquals(-1, a.problem().matrix().mismatch(b.problem().matrix()), "M differs");
                // against a plain float64 reference
                for (int j = 0; j < d; j += 37) {
                    double s = 0;
                    for (int i = 0; i < n; i++) s += x[i * d + j];
                    double mean = s / n, ss = 0;
                    for (int i = 0; i < n; i++) ss += (x[i * d + j] - mean) * (x[i * d + j] - mean);
                    assertEquals(mean, a.mean()[j], 1e-12 * (1 + Math.abs(mean)));
                    assertEquals(ss / n, a.var()[j], 1e-12 * ss / n);
                }
            }
        }
    }

    /**
     * The engine slices a step's problem from a buffer it keeps between steps, without zeroing it: prepare must
     * write every number of M, so a buffer full of NaN from an earlier use gives the matrix a fresh arena gives, on
     * a first step (M = X - mean) and a later one ([diag(S) V; X - mean(X); correction row]), serial and parallel.
     */
    @Test
    void aStepPreparedInDirtyReusedMemoryEqualsOneInFreshMemory() {
        int k = 5;
        for (int[] shape : new int[][] {{40, 24}, {400, 200}}) { // 960 elements: one thread; 80,000: column blocks
            int n = shape[0], d = shape[1];
            for (boolean f64 : new boolean[] {false, true}) {
                try (Arena arena = Arena.ofConfined()) {
                    MemorySegment x1 = arena.allocate(ValueLayout.JAVA_FLOAT, (long) n * d);
                    MemorySegment x2 = arena.allocate(ValueLayout.JAVA_FLOAT, (long) n * d);
                    MemorySegment.copy(rows(n, d, 7), 0, x1, ValueLayout.JAVA_FLOAT, 0, n * d);
                    MemorySegment.copy(rows(n, d, 8), 0, x2, ValueLayout.JAVA_FLOAT, 0, n * d);
                    IncrementalPca fresh = new IncrementalPca(d, k, f64), reused = new IncrementalPca(d, k, f64);
                    MemorySegment dirty = arena.allocate(4 * fresh.stepBytes(n, false) + 1024, 64);
                    for (MemorySegment x : new MemorySegment[] {x1, x2}) {
                        for (long i = 0; i < dirty.byteSize() / 4; i++) dirty.setAtIndex(ValueLayout.JAVA_FLOAT, i, Float.NaN);
                        IncrementalPca.Step a = fresh.prepare(x, n, arena, 1, false);
                        IncrementalPca.Step b = reused.prepare(x, n, java.lang.foreign.SegmentAllocator.slicingAllocator(dirty), 1, false);
                        assertEquals(-1, a.problem().matrix().mismatch(b.problem().matrix()), "M differs");
                        assertArrayEquals(a.mean(), b.mean());
                        assertArrayEquals(a.var(), b.var());
                        // a stand-in for the SVD: the same answer into both, so that both states carry on alike
                        for (IncrementalPca.Step st : new IncrementalPca.Step[] {a, b}) {
                            for (int i = 0; i < k; i++) {
                                for (int j = 0; j < d; j++) {
                                    double v = i == j ? 1 : 0;
                                    if (f64) st.problem().vt().setAtIndex(ValueLayout.JAVA_DOUBLE, (long) i * d + j, v);
                                    else st.problem().vt().setAtIndex(ValueLayout.JAVA_FLOAT, (long) i * d + j, (float) v);
                                }
                                if (f64) st.problem().singularValues().setAtIndex(ValueLayout.JAVA_DOUBLE, i, k - i);
                                else st.problem().singularValues().setAtIndex(ValueLayout.JAVA_FLOAT, i, k - i);
                            }
                        }
                        fresh.commit(a);
                        reused.commit(b);
                    }
                }
            }
        }
    }

    @Test
    void aNonFiniteValueInABlockIsReportedWithItsPosition() {
        int n = 400, d = 200;
        float[] x = rows(n, d, 4);
        x[123 * d + 150] = Float.NaN;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment nat = arena.allocate(ValueLayout.JAVA_FLOAT, (long) n * d);
            MemorySegment.copy(x, 0, nat, ValueLayout.JAVA_FLOAT, 0, x.length);
            IncrementalPca.NonFiniteInputException e = assertThrows(IncrementalPca.NonFiniteInputException.class,
                    () -> new IncrementalPca(d, 4).prepare(nat, n, arena, 1, false));
            assertEquals(123, e.row());
            assertEquals(150, e.column());
            assertTrue(e.getMessage().startsWith("NaN at row 123"));
        }
    }
}
