package dev.eva4j.benchmarks;

import dev.eva4j.spi.ComputeBackend;
import dev.eva4j.spi.Transpose;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ServiceLoader;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Square float32 GEMM, C = A B (row-major), on a compute backend found by name through the SPI.
 * GFLOP/s = 2 n^3 / (time per op). Run: {@code java -jar benchmarks/target/benchmarks.jar GemmBenchmark}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--add-modules", "jdk.incubator.vector"})
public class GemmBenchmark {

    @Param({"openblas", "java"})
    public String backend;

    @Param({"512", "1024", "2048"})
    public int n;

    private Arena arena;
    private ComputeBackend compute;
    private MemorySegment a, b, c;

    @Setup(Level.Trial)
    public void setUp() {
        compute = ServiceLoader.load(ComputeBackend.class).stream().map(ServiceLoader.Provider::get)
                .filter(p -> p.name().equals(backend)).findFirst()
                .orElseThrow(() -> new IllegalStateException("no compute backend named " + backend));
        if (!compute.isAvailable()) {
            throw new IllegalStateException(backend + " unavailable: " + compute.unavailableReason());
        }
        compute.setThreads(Runtime.getRuntime().availableProcessors());
        arena = Arena.ofShared();
        long len = (long) n * n;
        a = random(len, 1);
        b = random(len, 2);
        c = arena.allocate(ValueLayout.JAVA_FLOAT, len);
    }

    private MemorySegment random(long len, long seed) {
        MemorySegment s = arena.allocate(ValueLayout.JAVA_FLOAT, len);
        SplittableRandom r = new SplittableRandom(seed);
        for (long i = 0; i < len; i++) s.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) (r.nextDouble() - 0.5));
        return s;
    }

    @Benchmark
    public MemorySegment sgemm() {
        compute.sgemm(Transpose.NO, Transpose.NO, n, n, n, 1f, a, n, b, n, 0f, c, n);
        return c;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        arena.close();
    }
}
