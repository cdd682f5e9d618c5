package dev.eva4j.cpu.openblas;

import dev.eva4j.spi.Transpose;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;

/**
 * A quick GFLOP/s check of {@link OpenBlasBackend#sgemm} (not a unit test, not a benchmark: JMH lives in
 * benchmarks/). Usage: {@code SgemmThroughput [n] [threads] [repeats]}, defaults 2048, OpenBLAS's count, 10.
 * Prints the best and median of the timed calls after 3 warm-ups (2 n^3 flops per call), then the time of one
 * 1x1x1 sgemm: the cost of the call itself (argument checks, the FFM downcall, OpenBLAS's entry).
 */
public final class SgemmThroughput {
    private SgemmThroughput() {}

    public static void main(String[] args) {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 2048;
        OpenBlasBackend backend = new OpenBlasBackend();
        if (!backend.isAvailable()) throw new IllegalStateException(backend.unavailableReason());
        if (args.length > 1) backend.setThreads(Integer.parseInt(args[1]));
        int repeats = args.length > 2 ? Integer.parseInt(args[2]) : 10;
        try (Arena arena = Arena.ofConfined()) {
            long count = (long) n * n;
            MemorySegment a = arena.allocate(4 * count, 64), b = arena.allocate(4 * count, 64),
                    c = arena.allocate(4 * count, 64);
            Random rnd = new Random(1);
            for (long i = 0; i < count; i++) {
                a.setAtIndex(ValueLayout.JAVA_FLOAT, i, rnd.nextFloat() - 0.5f);
                b.setAtIndex(ValueLayout.JAVA_FLOAT, i, rnd.nextFloat() - 0.5f);
            }
            for (int i = 0; i < 3; i++) backend.sgemm(Transpose.NO, Transpose.NO, n, n, n, 1f, a, n, b, n, 0f, c, n);
            double[] gflops = new double[repeats];
            for (int i = 0; i < repeats; i++) {
                long t0 = System.nanoTime();
                backend.sgemm(Transpose.NO, Transpose.NO, n, n, n, 1f, a, n, b, n, 0f, c, n);
                gflops[i] = 2.0 * n * n * n / (System.nanoTime() - t0);
            }
            java.util.Arrays.sort(gflops);
            System.out.printf("sgemm n=%d threads=%d: best %.1f GFLOP/s, median %.1f GFLOP/s (%s)%n", n,
                    backend.threads(), gflops[repeats - 1], gflops[repeats / 2], backend.availability().reason());
            int calls = 2_000_000;
            for (int round = 0; round < 2; round++) { // the first round warms up
                long t0 = System.nanoTime();
                for (int i = 0; i < calls; i++) {
                    backend.sgemm(Transpose.NO, Transpose.NO, 1, 1, 1, 1f, a, 1, b, 1, 0f, c, 1);
                }
                if (round == 1) {
                    System.out.printf("sgemm 1x1x1: %.0f ns per call%n", (System.nanoTime() - t0) / (double) calls);
                }
            }
        }
    }
}
