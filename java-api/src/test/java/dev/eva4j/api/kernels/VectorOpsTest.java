package dev.eva4j.api.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

/** The vectorised erfc and GELU against the float64 reference {@link Erf#erfcReference}, on dense grids. */
class VectorOpsTest {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;

    /** erfc(z) of every float z in a grid, lane-wise; z.length a multiple of the vector length. */
    private static float[] erfc(float[] z) {
        float[] e = new float[z.length];
        for (int i = 0; i < z.length; i += VectorOps.S.length()) {
            VectorOps.erfcNonNegative(FloatVector.fromArray(VectorOps.S, z, i)).intoArray(e, i);
        }
        return e;
    }

    private static float[] grid(double from, double to, int n) {
        float[] z = new float[n];
        for (int i = 0; i < n; i++) z[i] = (float) (from + (to - from) * i / (n - 1));
        return z;
    }

    @Test
    void erfcIsRelativelyAccurateUpToItsCutOff() {
        int n = 1 << 18; // a multiple of every vector length
        float[] z = grid(0, 3.9249, n);
        float[] e = erfc(z);
        double worst = 0;
        double worstNear = 0;
        for (int i = 0; i < n; i++) {
            double ref = Erf.erfcReference(z[i]);
            worst = Math.max(worst, Math.abs(e[i] - ref) / ref);
            if (z[i] < 1.5f) worstNear = Math.max(worstNear, Math.abs(e[i] - ref) / ref);
        }
        // float32 rounding of the exponent z (Q(z) - 1) grows with it: ~1e-7 per unit of -log(erfc)
        assertTrue(worstNear < 4e-7, "max relative error of erfc on [0, 1.5): " + worstNear);
        assertTrue(worst < 3e-6, "max relative error of erfc on [0, 3.925): " + worst);
    }

    @Test
    void expIsRelativelyAccurateOnItsRangeAndZeroBelow() {
        int n = 1 << 18;
        float[] x = grid(-86, 88, n);
        float[] e = new float[n];
        for (int i = 0; i < n; i += VectorOps.S.length()) {
            VectorOps.exp(FloatVector.fromArray(VectorOps.S, x, i)).intoArray(e, i);
        }
        double worst = 0;
        for (int i = 0; i < n; i++) worst = Math.max(worst, Math.abs(e[i] - Math.exp(x[i])) / Math.exp(x[i]));
        assertTrue(worst < 1.5e-7, "max relative error of exp on [-86, 88]: " + worst);
        float[] low = new float[VectorOps.S.length()];
        for (int i = 0; i < low.length; i++) low[i] = i == 0 ? Float.NEGATIVE_INFINITY : -86.001f - 100 * i;
        float[] zero = new float[low.length];
        VectorOps.exp(FloatVector.fromArray(VectorOps.S, low, 0)).intoArray(zero, 0);
        for (float z : zero) assertEquals(0f, z);
        float[] one = new float[low.length];
        VectorOps.exp(FloatVector.zero(VectorOps.S)).intoArray(one, 0);
        assertEquals(1f, one[0]);
    }

    @Test
    void erfcIsZeroFromItsCutOffAndOneAtZero() {
        float[] z = new float[VectorOps.S.length()];
        for (int i = 0; i < z.length; i++) z[i] = i % 2 == 0 ? 3.925f + i : Float.POSITIVE_INFINITY;
        for (float e : erfc(z)) assertEquals(0f, e);
        assertEquals(1f, erfc(new float[VectorOps.S.length()])[0]);
    }

    @Test
    void geluIsRelativelyAccurateInBothTailsAndAbsolutelyBeyond() {
        int n = 1 << 18;
        float[] x = grid(-8, 12, n);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment in = arena.allocate((long) n * Float.BYTES), out = arena.allocate((long) n * Float.BYTES);
            MemorySegment.copy(x, 0, in, F, 0, n);
            VectorOps.gelu(out, in, 0, n);
            double worstRelative = 0, worstNear = 0, worstAbsolute = 0;
            for (int i = 0; i < n; i++) {
                double xi = x[i], ref = 0.5 * xi * Erf.erfcReference(-xi / Math.sqrt(2));
                double err = Math.abs(out.getAtIndex(F, i) - ref);
                if (xi > -5.5) worstRelative = Math.max(worstRelative, err / Math.max(Math.abs(ref), 1e-30));
                if (xi > -2) worstNear = Math.max(worstNear, err / Math.max(Math.abs(ref), 1e-30));
                else worstAbsolute = Math.max(worstAbsolute, err);
            }
            assertTrue(worstNear < 6e-7, "max relative error of gelu on (-2, 12]: " + worstNear);
            assertTrue(worstRelative < 3e-6, "max relative error of gelu on (-5.5, 12]: " + worstRelative);
            assertTrue(worstAbsolute < 2e-7, "max absolute error of gelu on [-8, -5.5]: " + worstAbsolute);
        }
    }

    @Test
    void geluOfAPartialVectorEqualsTheSameLanesOfAFullOne() {
        Random rnd = new Random(3);
        int width = VectorOps.S.length(), n = 3 * width + width / 2 + 1;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment in = arena.allocate((long) n * Float.BYTES);
            for (int i = 0; i < n; i++) in.setAtIndex(F, i, (float) (3 * rnd.nextGaussian()));
            MemorySegment whole = arena.allocate((long) n * Float.BYTES), pieces = arena.allocate((long) n * Float.BYTES);
            VectorOps.gelu(whole, in, 0, n);
            for (int i = 0; i < n; i++) VectorOps.gelu(pieces, in, i, i + 1); // every element through a mask
            for (int i = 0; i < n; i++) assertEquals(whole.getAtIndex(F, i), pieces.getAtIndex(F, i), "element " + i);
        }
    }

    @Test
    void biasGeluKeepsThePreactivationUnlessItIsTheOutput() {
        Random rnd = new Random(4);
        int n = 2 * VectorOps.S.length() + 3;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment inp = arena.allocate((long) n * Float.BYTES), bias = arena.allocate((long) n * Float.BYTES);
            for (int i = 0; i < n; i++) {
                inp.setAtIndex(F, i, (float) rnd.nextGaussian());
                bias.setAtIndex(F, i, (float) rnd.nextGaussian());
            }
            MemorySegment preact = arena.allocate((long) n * Float.BYTES), out = arena.allocate((long) n * Float.BYTES);
            VectorOps.biasGelu(preact, out, inp, bias, 0, n);
            MemorySegment inPlace = arena.allocate((long) n * Float.BYTES);
            MemorySegment.copy(inp, 0, inPlace, 0, inp.byteSize());
            VectorOps.biasGelu(inPlace, inPlace, inPlace, bias, 0, n);
            MemorySegment expected = arena.allocate((long) n * Float.BYTES);
            for (int i = 0; i < n; i++) {
                float x = inp.getAtIndex(F, i) + bias.getAtIndex(F, i);
                assertEquals(x, preact.getAtIndex(F, i), "preact " + i);
                expected.setAtIndex(F, i, x);
            }
            VectorOps.gelu(expected, expected, 0, n);
            for (int i = 0; i < n; i++) {
                assertEquals(expected.getAtIndex(F, i), out.getAtIndex(F, i), "out " + i);
                assertEquals(expected.getAtIndex(F, i), inPlace.getAtIndex(F, i), "in place " + i);
            }
        }
    }
}
