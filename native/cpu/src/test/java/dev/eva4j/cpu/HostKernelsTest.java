package dev.eva4j.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.eva4j.cpu.java.JavaBackend;
import dev.eva4j.cpu.openblas.OpenBlasBackend;
import dev.eva4j.spi.Buffer;
import dev.eva4j.spi.Capability;
import dev.eva4j.spi.ComputeBackend;
import dev.eva4j.spi.DType;
import dev.eva4j.spi.DropoutMask;
import dev.eva4j.spi.Kernels;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Random;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The host kernels of both CPU backends on tiny inputs against hand-computed values or plain loops in float64: a
 * handful of kernels, the argument checks, and the memory model. The full contract (every kernel against the float64
 * reference and finite differences) is eva4j-testkit's.
 */
class HostKernelsTest {
    private static final ComputeBackend OPENBLAS = new OpenBlasBackend(), JAVA = new JavaBackend();

    static Stream<Named<ComputeBackend>> backends() {
        return Stream.of(Named.of("openblas", OPENBLAS), Named.of("java", JAVA));
    }

    private static Kernels kernels(ComputeBackend backend) {
        assumeTrue(backend.isAvailable(), () -> backend.name() + " unavailable: " + backend.unavailableReason());
        return backend.kernels();
    }

    private static Buffer floats(Kernels k, float... values) {
        Buffer b = k.allocateFloats(values.length);
        k.upload(b, 0, values);
        return b;
    }

    private static Buffer ints(Kernels k, int... values) {
        Buffer b = k.allocate(DType.I32, values.length);
        k.upload(b, 0, values);
        return b;
    }

    private static float[] read(Kernels k, Buffer b) {
        float[] v = new float[Math.toIntExact(b.length())];
        k.download(b, 0, v);
        return v;
    }

    private static float[] gaussian(Random rnd, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) rnd.nextGaussian();
        return v;
    }

    /** Fails unless every value is within tol * max(1, |expected|), printing the first values and the worst one. */
    private static void assertClose(double[] expected, float[] actual, double tol, String what) {
        assertEquals(expected.length, actual.length, what + ": length");
        int worst = 0;
        double worstErr = 0;
        for (int i = 0; i < expected.length; i++) {
            double err = Math.abs(expected[i] - actual[i]) / Math.max(1, Math.abs(expected[i]));
            if (!(err <= worstErr)) {
                worst = i;
                worstErr = err;
            }
        }
        if (!(worstErr <= tol)) {
            throw new AssertionError(what + ": largest difference " + worstErr + " at " + worst + " (expected "
                    + expected[worst] + ", got " + actual[worst] + "); first expected "
                    + Arrays.toString(Arrays.copyOf(expected, Math.min(6, expected.length))) + ", got "
                    + Arrays.toString(Arrays.copyOf(actual, Math.min(6, actual.length))));
        }
    }

    private static String message(Executable call) {
        return assertThrows(IllegalArgumentException.class, call).getMessage();
    }

    // ------------------------------------------------------------------------------------------ memory and wiring

    @ParameterizedTest
    @MethodSource("backends")
    void oneKernelsPerBackendWithItsCapabilities(ComputeBackend backend) {
        Kernels k = kernels(backend);
        assertSame(k, backend.kernels());
        assertEquals(backend.name(), k.name());
        assertEquals(DType.F32, k.floatType());
        assertEquals(backend == OPENBLAS ? Set.of(Capability.HOST_MEMORY, Capability.NATIVE_LINEAR_ALGEBRA)
                : Set.of(Capability.HOST_MEMORY), k.capabilities());
        assertEquals(k.capabilities(), backend.capabilities());
    }

    @ParameterizedTest
    @MethodSource("backends")
    void buffersAreZeroedHostMemoryWithViewsThatFreeNothing(ComputeBackend backend) {
        Kernels k = kernels(backend);
        Buffer root = k.allocateFloats(6);
        assertArrayEquals(new float[6], read(k, root));
        k.upload(root, 1, new double[] {1.5, 2.5});
        Buffer view = root.slice(1, 3);
        assertEquals(3, view.length());
        assertArrayEquals(new float[] {1.5f, 2.5f, 0f}, read(k, view));
        MemorySegment host = k.hostSegment(view).orElseThrow();
        assertEquals(12, host.byteSize());
        view.close();
        assertTrue(root.isAlive());
        assertEquals(2.5f, read(k, root)[2]);
        root.close();
        assertFalse(view.isAlive());
        root.close(); // a second close is a no-op
        assertTrue(message(() -> k.fill(view, 1, 3)).startsWith("fill: x was closed"));
    }

    // ------------------------------------------------------------------------------------------ argument checks

    @ParameterizedTest
    @MethodSource("backends")
    void wrongOperandsAreIllegalArgumentsNamingThem(ComputeBackend backend) {
        Kernels k = kernels(backend);
        ComputeBackend other = backend == OPENBLAS ? JAVA : OPENBLAS;
        assumeTrue(other.isAvailable());
        Buffer inp = k.allocateFloats(6), weight = k.allocateFloats(6), out = k.allocateFloats(4);
        // inp [N=2, IN=3], weight [OUT=2, IN=3], out [N=2, OUT=2]
        try (Buffer foreign = other.kernels().allocateFloats(6); Buffer ids = k.allocate(DType.I32, 6);
             Buffer shortOut = k.allocateFloats(3)) {
            assertEquals("matmulForward: weight belongs to backend '" + other.name() + "', not '" + k.name() + "'",
                    message(() -> k.matmulForward(out, inp, foreign, null, 2, 3, 2)));
            assertEquals("matmulForward: inp is I32, needs F32 ([N=2, IN=3])",
                    message(() -> k.matmulForward(out, ids, weight, null, 2, 3, 2)));
            assertEquals("matmulForward: out holds 3 elements, needs 4 ([N=2, OUT=2])",
                    message(() -> k.matmulForward(shortOut, inp, weight, null, 2, 3, 2)));
            assertEquals("matmulForward: inp is null ([N=2, IN=3])",
                    message(() -> k.matmulForward(out, null, weight, null, 2, 3, 2)));
            assertEquals("matmulForward: N must be >= 1, got 0",
                    message(() -> k.matmulForward(out, inp, weight, null, 0, 3, 2)));
            assertEquals("attentionForward: key/value heads NKV=2 must divide query heads NH=3",
                    message(() -> k.attentionForward(out, null, inp, inp, inp, null, 1, 1, 3, 2, 1, false)));
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void idsAndTargetsOutOfRangeAreNamedBeforeAnyWork(ComputeBackend backend) {
        Kernels k = kernels(backend);
        Buffer table = floats(k, 1, 2, 3, 4, 5, 6), out = floats(k, 9, 9, 9, 9);   // table [V=3, C=2]
        assertEquals("embeddingForward: ids[1] = 3 is outside [0, V=3)",
                message(() -> k.embeddingForward(out, ints(k, 0, 3), table, 2, 3, 2, false)));
        assertArrayEquals(new float[] {9, 9, 9, 9}, read(k, out));
        assertEquals("embeddingBackward: ids[0] = -1 is outside [0, V=3)",
                message(() -> k.embeddingBackward(table, out, ints(k, -1, 0), 2, 3, 2)));
        Buffer logits = k.allocateFloats(6), probs = k.allocateFloats(6);
        assertEquals("crossEntropyForward: targets[1] = 3 is outside [0, V=3) and is not the ignore index -100",
                message(() -> k.crossEntropyForward(probs, logits, ints(k, -100, 3), 2, 3, -100)));
    }

    // ---------------------------------------------------------------------------------------------------- kernels

    @ParameterizedTest
    @MethodSource("backends")
    void matmulWithBiasAndItsBackward(ComputeBackend backend) {
        Kernels k = kernels(backend);
        // inp [N=2, IN=3], weight [OUT=2, IN=3], bias [2]
        Buffer inp = floats(k, 1, 2, 3, 4, 5, 6), weight = floats(k, 1, 0, -1, 2, 1, 0), bias = floats(k, 10, 20);
        Buffer out = k.allocateFloats(4);
        k.matmulForward(out, inp, weight, bias, 2, 3, 2);
        // row 0: (1 - 3, 2 + 2) + bias; row 1: (4 - 6, 8 + 5) + bias
        assertArrayEquals(new float[] {8, 24, 8, 33}, read(k, out));
        Buffer dout = floats(k, 1, 0, 0, 2), dinp = floats(k, 1, 1, 1, 1, 1, 1);
        Buffer dweight = k.allocateFloats(6), dbias = k.allocateFloats(2);
        k.matmulBackward(dinp, dweight, dbias, dout, inp, weight, 2, 3, 2);
        // dinp += dout weight: row 0 = weight[0], row 1 = 2 weight[1]
        assertArrayEquals(new float[] {2, 1, 0, 5, 3, 1}, read(k, dinp));
        // dweight = dout^T inp: row 0 = inp[0], row 1 = 2 inp[1]
        assertArrayEquals(new float[] {1, 2, 3, 8, 10, 12}, read(k, dweight));
        assertArrayEquals(new float[] {1, 2}, read(k, dbias));
        k.matmulBackward(null, null, dbias, dout, inp, weight, 2, 3, 2);   // adds again; null outputs skipped
        assertArrayEquals(new float[] {2, 4}, read(k, dbias));
    }

    @ParameterizedTest
    @MethodSource("backends")
    void layerNormSavesMeanAndRstd(ComputeBackend backend) {
        Kernels k = kernels(backend);
        float eps = 1e-5f;
        Buffer inp = floats(k, 1, 2, 3, 4, -2, 0, 0, 2), weight = floats(k, 1, 2, 1, 0.5f), bias = floats(k, 0, 1, 0, 0);
        Buffer out = k.allocateFloats(8), mean = k.allocateFloats(2), rstd = k.allocateFloats(2);
        k.layerNormForward(out, mean, rstd, inp, weight, bias, 2, 4, eps);
        double r0 = 1 / Math.sqrt(1.25 + eps), r1 = 1 / Math.sqrt(2 + eps);
        assertClose(new double[] {2.5, 0}, read(k, mean), 1e-7, "mean");
        assertClose(new double[] {r0, r1}, read(k, rstd), 1e-7, "rstd");
        assertClose(new double[] {-1.5 * r0, -1 * r0 + 1, 0.5 * r0, 0.75 * r0, -2 * r1, 1, 0, r1}, read(k, out), 1e-6,
                "out");
    }

    /** Plain-loop attention in float64: q [B, T, NH, HS], k, v [B, T, NKV, HS], mask [B, T] or null. */
    private static double[] attentionReference(float[] q, float[] kk, float[] v, int[] mask, int B, int T, int NH,
                                               int NKV, int HS, boolean causal) {
        double[] out = new double[B * T * NH * HS];
        double scale = 1 / Math.sqrt(HS);
        for (int b = 0; b < B; b++) {
            for (int h = 0; h < NH; h++) {
                int g = h / (NH / NKV);
                for (int t = 0; t < T; t++) {
                    double[] w = new double[T];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int s = 0; s < T; s++) {
                        boolean visible = (mask == null || mask[b * T + s] != 0) && (!causal || s <= t);
                        if (!visible) {
                            w[s] = Double.NEGATIVE_INFINITY;
                            continue;
                        }
                        double dot = 0;
                        for (int i = 0; i < HS; i++) {
                            dot += (double) q[((b * T + t) * NH + h) * HS + i] * kk[((b * T + s) * NKV + g) * HS + i];
                        }
                        w[s] = dot * scale;
                        max = Math.max(max, w[s]);
                    }
                    if (max == Double.NEGATIVE_INFINITY) continue;   // no visible key: zero output
                    double sum = 0;
                    for (int s = 0; s < T; s++) sum += w[s] = Math.exp(w[s] - max);
                    for (int s = 0; s < T; s++) {
                        for (int i = 0; i < HS; i++) {
                            out[((b * T + t) * NH + h) * HS + i] += w[s] / sum * v[((b * T + s) * NKV + g) * HS + i];
                        }
                    }
                }
            }
        }
        return out;
    }

    @ParameterizedTest
    @MethodSource("backends")
    void attentionWithPaddingCausalMaskAndGroupedHeads(ComputeBackend backend) {
        Kernels k = kernels(backend);
        Random rnd = new Random(7);
        int B = 3, T = 5, NH = 4, NKV = 2, HS = 6;
        float[] q = gaussian(rnd, B * T * NH * HS), kk = gaussian(rnd, B * T * NKV * HS), v = gaussian(rnd, B * T * NKV * HS);
        // sequence 1 has 3 real tokens; sequence 2 masks its first key, so with the causal mask query 0 sees nothing
        int[] mask = {1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1};
        Buffer bq = floats(k, q), bk = floats(k, kk), bv = floats(k, v), bm = ints(k, mask);
        Buffer out = k.allocateFloats((long) B * T * NH * HS), att = k.allocateFloats((long) B * NH * T * T);
        for (boolean causal : new boolean[] {false, true}) {
            k.attentionForward(out, att, bq, bk, bv, bm, B, T, NH, NKV, HS, causal);
            float[] got = read(k, out);
            assertClose(attentionReference(q, kk, v, mask, B, T, NH, NKV, HS, causal), got, 1e-5,
                    "attention causal=" + causal);
            float[] p = read(k, att);
            // hidden keys get probability 0; visible rows sum to 1
            for (int h = 0; h < NH; h++) assertEquals(0f, p[((1 * NH + h) * T + 1) * T + 3], "padded key of sequence 1");
            if (causal) {
                assertEquals(0f, p[(0 * T + 1) * T + 2], "future key");
                for (int i = 0; i < HS; i++) assertEquals(0f, got[((2 * T) * NH) * HS + i], "query without keys");
            }
        }
        k.attentionForward(out, null, bq, bk, bv, null, B, T, NH, NKV, HS, false);
        assertClose(attentionReference(q, kk, v, null, B, T, NH, NKV, HS, false), read(k, out), 1e-5, "no mask");
    }

    @ParameterizedTest
    @MethodSource("backends")
    void crossEntropyIgnoresTheIgnoreIndex(ComputeBackend backend) {
        Kernels k = kernels(backend);
        // logits [N=3, V=3], row 1 ignored
        float[] logits = {1, 2, 3, 5, 5, 5, 0, 0, 0.5f};
        Buffer probs = k.allocateFloats(9), bl = floats(k, logits), targets = ints(k, 2, -100, 0);
        double loss = k.crossEntropyForward(probs, bl, targets, 3, 3, -100);
        double lse0 = Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3)), lse2 = Math.log(2 + Math.exp(0.5));
        assertEquals(((lse0 - 3) + lse2) / 2, loss, 1e-12);
        double[] p = new double[9];
        for (int v = 0; v < 3; v++) {
            p[v] = Math.exp(logits[v] - lse0);
            p[3 + v] = 1.0 / 3;
            p[6 + v] = Math.exp(logits[6 + v] - lse2);
        }
        assertClose(p, read(k, probs), 1e-7, "probs");
        Buffer dlogits = k.allocateFloats(9);
        k.crossEntropyBackward(dlogits, probs, targets, 3, 3, -100, 2f);
        double[] d = {p[0], p[1], p[2] - 1, 0, 0, 0, p[6] - 1, p[7], p[8]};   // times dloss / count = 2 / 2
        assertClose(d, read(k, dlogits), 1e-7, "dlogits");
        assertEquals(0.0, k.crossEntropyForward(probs, bl, ints(k, -100, -100, -100), 3, 3, -100));
    }

    @ParameterizedTest
    @MethodSource("backends")
    void adamwOneStepByHand(ComputeBackend backend) {
        Kernels k = kernels(backend);
        Buffer p = floats(k, 1, -2), g = floats(k, 0.5f, 0), m = k.allocateFloats(2), v = k.allocateFloats(2);
        k.adamw(p, g, m, v, 2, 0.1f, 0.9f, 0.999f, 1e-8f, 0.01f, 1);
        // p = 1 (1 - 0.1 * 0.01) = 0.999; m = 0.05; v = 0.00025; step 0.1 / (1 - 0.9) = 1;
        // denominator sqrt(0.00025) / sqrt(1 - 0.999) + 1e-8 = 0.5 + 1e-8: p = 0.999 - 0.05 / 0.5
        double lr = 0.1f, wd = 0.01f, b1 = 0.9f, b2 = 0.999f;
        double m0 = (1 - b1) * 0.5, v0 = (1 - b2) * 0.25;
        double p0 = 1 * (1 - lr * wd) - lr / (1 - b1) * m0 / (Math.sqrt(v0) / Math.sqrt(1 - b2) + 1e-8f);
        assertEquals(0.899, p0, 1e-6);
        assertClose(new double[] {p0, -2 * (1 - lr * wd)}, read(k, p), 1e-7, "params");
        assertClose(new double[] {m0, 0}, read(k, m), 1e-7, "m");
        assertClose(new double[] {v0, 0}, read(k, v), 1e-7, "v");
        assertEquals(Math.sqrt(0.25), k.norm(g, 2), 1e-12);
    }

    @ParameterizedTest
    @MethodSource("backends")
    void loraDropoutMaskIsRegeneratedFromTheSeed(ComputeBackend backend) {
        Kernels k = kernels(backend);
        Random rnd = new Random(3);
        int N = 4, IN = 8, OUT = 5, R = 2;
        float dropout = 0.5f, scale = 2f;
        float[] x = gaussian(rnd, N * IN), a = gaussian(rnd, R * IN), b = gaussian(rnd, OUT * R);
        Buffer inp = floats(k, x), weight = floats(k, gaussian(rnd, OUT * IN)), ba = floats(k, a), bb = floats(k, b);
        Buffer out1 = k.allocateFloats(N * OUT), out2 = k.allocateFloats(N * OUT), base = k.allocateFloats(N * OUT);
        Buffer xa = k.allocateFloats(N * R);
        k.loraForward(out1, xa, inp, weight, null, ba, bb, scale, dropout, 42, N, IN, OUT, R);
        float[] xa1 = read(k, xa);
        k.loraForward(out2, xa, inp, weight, null, ba, bb, scale, dropout, 42, N, IN, OUT, R);
        assertArrayEquals(read(k, out1), read(k, out2), "same seed, same output");
        // xa = drop(x) A^T with DropoutMask's factors
        double[] expectXa = new double[N * R];
        for (int n = 0; n < N; n++) {
            for (int r = 0; r < R; r++) {
                for (int i = 0; i < IN; i++) {
                    expectXa[n * R + r] += x[n * IN + i] * DropoutMask.factor(42, n * IN + i, dropout) * a[r * IN + i];
                }
            }
        }
        assertClose(expectXa, xa1, 1e-5, "xa");
        // out = x W^T + scale xa B^T
        k.matmulForward(base, inp, weight, null, N, IN, OUT);
        float[] baseOut = read(k, base), out = read(k, out1);
        double[] expectOut = new double[N * OUT];
        for (int n = 0; n < N; n++) {
            for (int o = 0; o < OUT; o++) {
                expectOut[n * OUT + o] = baseOut[n * OUT + o];
                for (int r = 0; r < R; r++) expectOut[n * OUT + o] += scale * expectXa[n * R + r] * b[o * R + r];
            }
        }
        assertClose(expectOut, out, 1e-5, "out");
        k.loraForward(out2, xa, inp, weight, null, ba, bb, scale, dropout, 43, N, IN, OUT, R);
        assertFalse(Arrays.equals(xa1, read(k, xa)), "another seed, another mask");
        // backward with the same seed: da = g^T drop(x), g = scale dout B
        float[] dout = gaussian(rnd, N * OUT);
        Buffer da = k.allocateFloats(R * IN);
        k.loraForward(out2, xa, inp, weight, null, ba, bb, scale, dropout, 42, N, IN, OUT, R);
        k.loraBackward(null, da, null, floats(k, dout), inp, xa, weight, ba, bb, scale, dropout, 42, N, IN, OUT, R);
        double[] expectDa = new double[R * IN];
        for (int n = 0; n < N; n++) {
            for (int r = 0; r < R; r++) {
                double g = 0;
                for (int o = 0; o < OUT; o++) g += scale * dout[n * OUT + o] * b[o * R + r];
                for (int i = 0; i < IN; i++) {
                    expectDa[r * IN + i] += g * x[n * IN + i] * DropoutMask.factor(42, n * IN + i, dropout);
                }
            }
        }
        assertClose(expectDa, read(k, da), 1e-5, "da");
    }
}
