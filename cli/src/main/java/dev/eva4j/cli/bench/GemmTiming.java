package dev.eva4j.cli.bench;

import dev.eva4j.spi.ComputeBackend;
import dev.eva4j.spi.Transpose;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.SplittableRandom;

/** Times n x n x n sgemm on a compute backend: one warm-up call, then repeats until a minimum time has passed. */
public final class GemmTiming {
    private GemmTiming() {}

    /** Median and best GFLOP/s over {@code reps} timed calls. */
    public record Result(int n, int reps, double medianGflops, double bestGflops) {}

    public static Result run(ComputeBackend backend, int n, double minSeconds) {
        long len = (long) n * n;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment a = random(arena, len, 1), b = random(arena, len, 2);
            MemorySegment c = arena.allocate(ValueLayout.JAVA_FLOAT, len);
            backend.sgemm(Transpose.NO, Transpose.NO, n, n, n, 1f, a, n, b, n, 0f, c, n); // warm-up (JIT, threads)
            double[] times = new double[1000];
            int reps = 0;
            long start = System.nanoTime();
            while (reps < times.length && (reps < 3 || (System.nanoTime() - start) * 1e-9 < minSeconds)) {
                long t0 = System.nanoTime();
                backend.sgemm(Transpose.NO, Transpose.NO, n, n, n, 1f, a, n, b, n, 0f, c, n);
                times[reps++] = (System.nanoTime() - t0) * 1e-9;
            }
            double[] sorted = Arrays.copyOf(times, reps);
            Arrays.sort(sorted);
            double flops = 2.0 * n * (double) n * n;
            return new Result(n, reps, flops / sorted[reps / 2] * 1e-9, flops / sorted[0] * 1e-9);
        }
    }

    private static MemorySegment random(Arena arena, long len, long seed) {
        MemorySegment s = arena.allocate(ValueLayout.JAVA_FLOAT, len);
        SplittableRandom r = new SplittableRandom(seed);
        for (long i = 0; i < len; i++) s.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) (r.nextDouble() - 0.5));
        return s;
    }
}
