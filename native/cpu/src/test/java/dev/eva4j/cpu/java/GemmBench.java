package dev.eva4j.cpu.java;

import dev.eva4j.spi.Transpose;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;

/**
 * GFLOP/s of the Java backend's sgemm for square n = 512 .. 2048, against a scalar loop (to see that the kernel
 * really runs on vectors). Not a test: run by hand from the module directory after {@code mvn test-compile},
 * <pre>java --add-modules jdk.incubator.vector -cp target/classes:target/test-classes:../../adapters-spi/target/classes \
 *     dev.eva4j.cpu.java.GemmBench [threads] [sizes...]</pre>
 */
public final class GemmBench {
    private GemmBench() {}

    public static void main(String[] args) {
        JavaBackend backend = new JavaBackend();
        if (args.length > 0) backend.setThreads(Integer.parseInt(args[0]));
        int[] sizes = args.length > 1 ? java.util.Arrays.stream(args).skip(1).mapToInt(Integer::parseInt).toArray()
                : new int[] {512, 1024, 1536, 2048};
        System.out.println(backend.availability().reason() + ", threads " + backend.threads());
        for (int n : sizes) {
            for (String arenaKind : new String[] {"shared", "confined"}) {
                try (Arena arena = arenaKind.equals("shared") ? Arena.ofShared() : Arena.ofConfined()) {
                    MemorySegment a = random(arena, n * n, 1), b = random(arena, n * n, 2), c = random(arena, n * n, 3);
                    double flops = 2.0 * n * n * n;
                    int reps = Math.max(3, (int) (4e10 / flops));
                    for (int w = 0; w < 2; w++) {
                        backend.sgemm(Transpose.NO, Transpose.NO, n, n, n, 1f, a, n, b, n, 0f, c, n);
                    }
                    double best = Double.MAX_VALUE;
                    for (int r = 0; r < reps; r++) {
                        long t0 = System.nanoTime();
                        backend.sgemm(Transpose.NO, Transpose.NO, n, n, n, 1f, a, n, b, n, 0f, c, n);
                        best = Math.min(best, (System.nanoTime() - t0) / 1e9);
                    }
                    System.out.printf("n=%5d %-8s best %8.2f ms  %6.1f GFLOP/s%n", n, arenaKind, best * 1e3,
                            flops / best / 1e9);
                }
            }
        }
        scalarReference(512);
    }

    /** The same product as a plain i-p-j loop over float[] (C2 may auto-vectorise the inner j loop). */
    private static void scalarReference(int n) {
        float[] a = new float[n * n], b = new float[n * n], c = new float[n * n];
        Random r = new Random(1);
        for (int i = 0; i < n * n; i++) {
            a[i] = (float) r.nextGaussian();
            b[i] = (float) r.nextGaussian();
        }
        double best = Double.MAX_VALUE;
        for (int rep = 0; rep < 5; rep++) {
            long t0 = System.nanoTime();
            for (int i = 0; i < n; i++) {
                for (int p = 0; p < n; p++) {
                    float av = a[i * n + p];
                    for (int j = 0; j < n; j++) c[i * n + j] += av * b[p * n + j];
                }
            }
            best = Math.min(best, (System.nanoTime() - t0) / 1e9);
        }
        System.out.printf("n=%5d scalar i-p-j loop, 1 thread: %6.1f GFLOP/s%n", n, 2.0 * n * n * n / best / 1e9);
    }

    private static MemorySegment random(Arena arena, int count, long seed) {
        Random r = new Random(seed);
        MemorySegment s = arena.allocate(ValueLayout.JAVA_FLOAT, count);
        for (int i = 0; i < count; i++) s.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) r.nextGaussian());
        return s;
    }
}
