package dev.eva4j.models.ops;

import static org.junit.jupiter.api.Assertions.fail;

import dev.eva4j.cpu.java.JavaBackend;
import dev.eva4j.cpu.openblas.OpenBlasBackend;
import dev.eva4j.spi.ComputeBackend;
import java.util.Arrays;
import java.util.Random;
import java.util.stream.Stream;

/** Test helpers: random inputs with a fixed seed, the backends to run over, a relative comparison that explains itself. */
public final class Check {
    /** float32 vs float64 reference (docs/architecture.md, "Numerics"). */
    public static final double TOLERANCE = 1e-5;

    private Check() {}

    /** The backends every GEMM-using op is tested over. OpenBLAS must load here: a failure to load fails the test. */
    public static Stream<ComputeBackend> backends() {
        return Stream.of(new OpenBlasBackend(), new JavaBackend());
    }

    public static float[] random(Random rnd, int n, double scale, double offset) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) (offset + scale * rnd.nextGaussian());
        return x;
    }

    /** max |actual - expected| / max |expected| must be below {@code tolerance}; prints the first values if not. */
    public static void close(String what, float[] expected, float[] actual, double tolerance) {
        if (expected.length != actual.length) fail(what + ": length " + actual.length + ", expected " + expected.length);
        double maxDiff = 0, maxRef = 0;
        int worst = 0;
        for (int i = 0; i < expected.length; i++) {
            double d = Math.abs((double) actual[i] - expected[i]);
            if (!(d <= maxDiff)) {
                maxDiff = d;
                worst = i;
            }
            maxRef = Math.max(maxRef, Math.abs(expected[i]));
        }
        double rel = maxDiff / Math.max(maxRef, 1e-30);
        if (!(rel < tolerance)) {
            fail(what + ": max relative difference " + rel + " (abs " + maxDiff + " at " + worst + ": " + actual[worst]
                    + " vs " + expected[worst] + ") >= " + tolerance + "\n  expected " + head(expected) + "\n  actual   "
                    + head(actual));
        }
    }

    public static void close(String what, float[] expected, float[] actual) {
        close(what, expected, actual, TOLERANCE);
    }

    private static String head(float[] x) {
        return Arrays.toString(Arrays.copyOf(x, Math.min(6, x.length)));
    }
}
