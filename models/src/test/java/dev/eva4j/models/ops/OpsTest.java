package dev.eva4j.models.ops;

import static dev.eva4j.models.ops.Check.close;
import static dev.eva4j.models.ops.Check.random;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.eva4j.spi.ComputeBackend;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Every fast op against {@link ReferenceOps} on fresh random inputs. */
class OpsTest {

    static Stream<ComputeBackend> backends() {
        return Check.backends();
    }

    @Test
    void embeddingGatherPositionsAndTypes() {
        Random rnd = new Random(1);
        int B = 3, T = 5, C = 7, V = 11, P = 9, types = 2;
        int[] ids = rnd.ints(B * T, 0, V).toArray(), typeIds = rnd.ints(B * T, 0, types).toArray();
        float[] wte = random(rnd, V * C, 1, 0), wpe = random(rnd, P * C, 1, 0), wtt = random(rnd, types * C, 1, 0);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = Floats.allocate(arena, B * T * C);
            Embedding.gather(out, ids, Floats.of(arena, wte), V, C);
            Embedding.addPositions(out, B, T, C, Floats.of(arena, wpe), P, 2);
            Embedding.addTokenTypes(out, B * T, C, typeIds, Floats.of(arena, wtt), types);
            close("embed", ReferenceOps.embed(ids, wte, wpe, wtt, typeIds, B, T, C, 2), Floats.toArray(out));

            MemorySegment out0 = Floats.allocate(arena, B * T * C);
            Embedding.gather(out0, ids, Floats.of(arena, wte), V, C);
            Embedding.addTokenTypes(out0, B * T, C, null, Floats.of(arena, wtt), types);
            close("embed, type 0", ReferenceOps.embed(ids, wte, null, wtt, null, B, T, C, 0), Floats.toArray(out0));

            int[] bad = ids.clone();
            bad[4] = V;
            var e = assertThrows(IllegalArgumentException.class, () -> Embedding.gather(out, bad, Floats.of(arena, wte), V, C));
            assertTrue(e.getMessage().contains("token id " + V + " at position 4"), e.getMessage());
            assertThrows(IllegalArgumentException.class,
                    () -> Embedding.addPositions(out, B, T, C, Floats.of(arena, wpe), P, P - T + 1));
        }
    }

    @Test
    void layerNormAndRmsNorm() {
        Random rnd = new Random(2);
        int N = 29, C = 67;
        float[] x = random(rnd, N * C, 2, 3), w = random(rnd, C, 1, 1), b = random(rnd, C, 1, 0);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = Floats.allocate(arena, N * C);
            Norms.layerNorm(out, Floats.of(arena, x), Floats.of(arena, w), Floats.of(arena, b), N, C, 1e-12f);
            close("layerNorm", ReferenceOps.layerNorm(x, w, b, N, C, 1e-12f), Floats.toArray(out));
            MemorySegment inPlace = Floats.of(arena, x);
            Norms.rmsNorm(inPlace, inPlace, Floats.of(arena, w), N, C, 1e-5f);
            close("rmsNorm in place", ReferenceOps.rmsNorm(x, w, N, C, 1e-5f), Floats.toArray(inPlace));
        }
    }

    @Test
    void largeRowsRunInParallelOnSharedSegments() {
        Random rnd = new Random(3);
        int N = 600, C = 384; // above Parallel's threshold
        float[] x = random(rnd, N * C, 1, -1), w = random(rnd, C, 1, 1), b = random(rnd, C, 1, 0);
        try (Arena arena = Arena.ofShared()) {
            MemorySegment out = Floats.allocate(arena, N * C);
            Norms.layerNorm(out, Floats.of(arena, x), Floats.of(arena, w), Floats.of(arena, b), N, C, 1e-6f);
            close("layerNorm (shared)", ReferenceOps.layerNorm(x, w, b, N, C, 1e-6f), Floats.toArray(out));
            MemorySegment g = Floats.of(arena, x);
            Activations.gelu(g, g, (long) N * C);
            close("gelu (shared)", ReferenceOps.gelu(x), Floats.toArray(g));
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void linearWithAndWithoutBias(ComputeBackend backend) {
        Random rnd = new Random(4);
        int N = 37, in = 53, out = 29;
        float[] x = random(rnd, N * in, 1, 0), w = random(rnd, out * in, 0.2, 0), bias = random(rnd, out, 1, 0);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment y = Floats.allocate(arena, N * out);
            y.fill((byte) 7); // garbage the op must overwrite
            Linear.forward(backend, y, Floats.of(arena, x), Floats.of(arena, w), Floats.of(arena, bias), N, in, out);
            close("linear+bias " + backend.name(), ReferenceOps.linear(x, w, bias, N, in, out), Floats.toArray(y));
            y.fill((byte) 7);
            Linear.forward(backend, y, Floats.of(arena, x), Floats.of(arena, w), null, N, in, out);
            close("linear " + backend.name(), ReferenceOps.linear(x, w, null, N, in, out), Floats.toArray(y));
        }
    }

    record AttentionCase(String name, int B, int T, int NH, int NKV, int HS, boolean causal, int[] lengths) {}

    static Stream<Object[]> attentionCases() {
        var cases = Stream.of(
                new AttentionCase("bidirectional, padded", 3, 13, 4, 4, 16, false, new int[] {13, 7, 1}),
                new AttentionCase("causal, padded", 3, 13, 4, 4, 16, true, new int[] {13, 7, 1}),
                new AttentionCase("causal GQA 8/2", 2, 17, 8, 2, 8, true, new int[] {17, 9}),
                new AttentionCase("bidirectional GQA 6/3, padded", 2, 11, 6, 3, 12, false, new int[] {4, 11}),
                new AttentionCase("causal MQA 4/1, no mask", 2, 9, 4, 1, 32, true, null));
        return cases.flatMap(c -> backends().map(b -> new Object[] {c, b}));
    }

    @ParameterizedTest(name = "{0} on {1}")
    @MethodSource("attentionCases")
    void attention(AttentionCase c, ComputeBackend backend) {
        Random rnd = new Random(c.name().hashCode());
        int B = c.B(), T = c.T(), NH = c.NH(), NKV = c.NKV(), HS = c.HS();
        float[] q = random(rnd, B * T * NH * HS, 1, 0), k = random(rnd, B * T * NKV * HS, 1, 0),
                v = random(rnd, B * T * NKV * HS, 1, 0);
        int[] mask = null;
        if (c.lengths() != null) {
            mask = new int[B * T];
            for (int b = 0; b < B; b++) for (int t = 0; t < c.lengths()[b]; t++) mask[b * T + t] = 1;
        }
        float[] expected = ReferenceOps.attention(q, k, v, mask, B, T, NH, NKV, HS, c.causal());
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = Floats.allocate(arena, B * T * NH * HS);
            Attention.forward(backend, out, Floats.of(arena, q), Floats.of(arena, k), Floats.of(arena, v), mask, B, T,
                    NH, NKV, HS, c.causal());
            float[] actual = Floats.toArray(out);
            close(c.name() + " on " + backend.name(), expected, actual);
            if (mask == null) return;
            // padded keys get no weight: changing their k and v changes no real token's output
            float[] k2 = k.clone(), v2 = v.clone();
            for (int i = 0; i < B * T; i++) {
                if (mask[i] != 0) continue;
                for (int j = 0; j < NKV * HS; j++) {
                    k2[i * NKV * HS + j] += 100;
                    v2[i * NKV * HS + j] -= 50;
                }
            }
            Attention.forward(backend, out, Floats.of(arena, q), Floats.of(arena, k2), Floats.of(arena, v2), mask, B, T,
                    NH, NKV, HS, c.causal());
            float[] again = Floats.toArray(out);
            for (int i = 0; i < B * T; i++) {
                if (mask[i] == 0) continue;
                for (int j = 0; j < NH * HS; j++) {
                    assertEquals(actual[i * NH * HS + j], again[i * NH * HS + j], 0f, "real position " + i);
                }
            }
        }
    }

    @Test
    void attentionRejectsHeadsThatDoNotGroup() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = Floats.allocate(arena, 1000);
            var e = assertThrows(IllegalArgumentException.class,
                    () -> Attention.forward(new dev.eva4j.cpu.java.JavaBackend(), s, s, s, s, null, 1, 2, 4, 3, 2, true));
            assertTrue(e.getMessage().contains("must divide"), e.getMessage());
        }
    }

    @Test
    void ropeDefaultAndPerSequencePositions() {
        Random rnd = new Random(5);
        int B = 2, T = 6, NH = 3, HS = 16;
        float[] x = random(rnd, B * T * NH * HS, 1, 0);
        float[] inv = Rope.inverseFrequencies(HS, 10000, null);
        assertEquals(1f, inv[0]);
        assertEquals((float) (1 / Math.pow(10000, 14.0 / 16)), inv[7], 1e-6 * inv[7]);
        int[] shared = {0, 1, 2, 3, 4, 5};
        int[] perSeq = {3, 4, 5, 6, 7, 8, 100, 101, 102, 4000, 4001, 4002};
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = Floats.of(arena, x);
            Rope.apply(s, B, T, NH, HS, shared, inv);
            close("rope", ReferenceOps.rope(x, B, T, NH, HS, shared, inv), Floats.toArray(s));
            MemorySegment s2 = Floats.of(arena, x);
            Rope.apply(s2, B, T, NH, HS, perSeq, inv);
            close("rope per sequence", ReferenceOps.rope(x, B, T, NH, HS, perSeq, inv), Floats.toArray(s2));
        }
        // position 0 is the identity
        float[] y = ReferenceOps.rope(x, 1, 1, NH, HS, new int[] {0}, inv);
        for (int i = 0; i < NH * HS; i++) assertEquals(x[i], y[i]);
    }

    @Test
    void ropeLlama3Scaling() {
        int HS = 128;
        double theta = 500000;
        var scaling = new Rope.Llama3Scaling(8, 1, 4, 8192);
        float[] plain = Rope.inverseFrequencies(HS, theta, null), scaled = Rope.inverseFrequencies(HS, theta, scaling);
        double lowWavelen = 8192 / 1.0, highWavelen = 8192 / 4.0;
        int kept = 0, divided = 0, smoothed = 0;
        for (int i = 0; i < HS / 2; i++) {
            double wavelen = 2 * Math.PI / plain[i];
            if (wavelen < highWavelen) {
                assertEquals(plain[i], scaled[i], "high frequency " + i + " is kept");
                kept++;
            } else if (wavelen > lowWavelen) {
                assertEquals(plain[i] / 8, scaled[i], 1e-7 * plain[i], "low frequency " + i + " is divided by factor");
                divided++;
            } else {
                assertTrue(scaled[i] < plain[i] && scaled[i] > plain[i] / 8, "medium frequency " + i + " lies between");
                double smooth = (8192 / wavelen - 1) / (4 - 1);
                assertEquals((1 - smooth) * plain[i] / 8 + smooth * plain[i], scaled[i], 1e-6 * plain[i]);
                smoothed++;
            }
        }
        assertTrue(kept > 0 && divided > 0 && smoothed > 0, kept + " kept, " + divided + " divided, " + smoothed + " smoothed");
        assertThrows(IllegalArgumentException.class, () -> new Rope.Llama3Scaling(8, 4, 1, 8192));
    }

    @Test
    void activationsResidualAndSoftmax() {
        Random rnd = new Random(6);
        int n = 5000;
        float[] a = random(rnd, n, 3, 0), b = random(rnd, n, 3, 0);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = Floats.allocate(arena, n);
            Activations.gelu(out, Floats.of(arena, a), n);
            close("gelu", ReferenceOps.gelu(a), Floats.toArray(out));
            Activations.silu(out, Floats.of(arena, a), n);
            close("silu", ReferenceOps.silu(a), Floats.toArray(out));
            Activations.siluMul(out, Floats.of(arena, a), Floats.of(arena, b), n);
            close("siluMul", ReferenceOps.siluMul(a, b), Floats.toArray(out));
            Activations.add(out, Floats.of(arena, a), Floats.of(arena, b), n);
            close("add", ReferenceOps.add(a, b), Floats.toArray(out));
            Softmax.forward(out, Floats.of(arena, a), 50, 100);
            close("softmax", ReferenceOps.softmax(a, 50, 100), Floats.toArray(out));
        }
        // gelu's negative tail is relative-accurate element by element, not just against the largest value
        float[] tail = {-3f, -4.5f, -5.5f, -7f};
        float[] ref = ReferenceOps.gelu(tail);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = Floats.of(arena, tail);
            Activations.gelu(s, s, tail.length);
            for (int i = 0; i < tail.length; i++) assertEquals(ref[i], s.getAtIndex(Floats.F32, i), 1e-6 * Math.abs(ref[i]));
        }
    }

    @Test
    void shortOperandIsNamed() {
        try (Arena arena = Arena.ofConfined()) {
            var e = assertThrows(IllegalArgumentException.class, () -> Norms.rmsNorm(Floats.allocate(arena, 10),
                    Floats.allocate(arena, 12), Floats.allocate(arena, 4), 3, 4, 1e-5f));
            assertTrue(e.getMessage().contains("rmsNorm: out holds 10 floats, needs 12"), e.getMessage());
        }
    }
}
