package dev.eva4j.testkit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.eva4j.spi.Buffer;
import dev.eva4j.spi.DType;
import dev.eva4j.spi.DropoutMask;
import java.util.Random;
import java.util.function.DoubleSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The oracle's own correctness: every backward pass of {@link ReferenceKernels} against float64 central finite
 * differences of its forward pass (loss = sum(dout * out) with a random dout, step 1e-6 relative, norm-wise relative
 * tolerance 1e-6), each gradient added to a non-zero pre-filled buffer; and forward passes on values known by hand.
 */
class ReferenceKernelsTest {
    private static final double FD_TOLERANCE = 1e-6;

    private final ReferenceKernels k = new ReferenceKernels();
    private final Random rnd = new Random(20261201);

    // ------------------------------------------------------------------------------------ backward vs numeric

    @Test
    void embeddingBackward() {
        int N = 6, V = 4, C = 5;
        Buffer ids = ints(0, 3, 3, 1, 0, 3);
        Buffer table = random(V * C);
        Buffer dout = random(N * C);
        Buffer out = k.allocateFloats(N * C);
        DoubleSupplier loss = () -> {
            k.embeddingForward(out, ids, table, N, V, C, false);
            return dot(dout, out, N * C);
        };
        checkGradient("embeddingBackward dtable", table, V * C, loss,
                g -> k.embeddingBackward(g, dout, ids, N, V, C));
    }

    @Test
    void layerNormBackward() {
        int N = 3, C = 7;
        Buffer inp = random(N * C, 2, 0.5);
        Buffer weight = random(C);
        Buffer bias = random(C);
        Buffer dout = random(N * C);
        Buffer out = k.allocateFloats(N * C);
        Buffer mean = k.allocateFloats(N);
        Buffer rstd = k.allocateFloats(N);
        k.layerNormForward(out, mean, rstd, inp, weight, bias, N, C, 1e-5f);
        DoubleSupplier loss = () -> {
            k.layerNormForward(out, null, null, inp, weight, bias, N, C, 1e-5f);
            return dot(dout, out, N * C);
        };
        checkGradient("layerNormBackward dinp", inp, N * C, loss,
                g -> k.layerNormBackward(g, null, null, dout, inp, weight, mean, rstd, N, C));
        checkGradient("layerNormBackward dweight", weight, C, loss,
                g -> k.layerNormBackward(null, g, null, dout, inp, weight, mean, rstd, N, C));
        checkGradient("layerNormBackward dbias", bias, C, loss,
                g -> k.layerNormBackward(null, null, g, dout, inp, weight, mean, rstd, N, C));
    }

    @Test
    void rmsNormBackward() {
        int N = 3, C = 7;
        Buffer inp = random(N * C, 2, 0.5);
        Buffer weight = random(C);
        Buffer dout = random(N * C);
        Buffer out = k.allocateFloats(N * C);
        Buffer rstd = k.allocateFloats(N);
        k.rmsNormForward(out, rstd, inp, weight, N, C, 1e-5f);
        DoubleSupplier loss = () -> {
            k.rmsNormForward(out, null, inp, weight, N, C, 1e-5f);
            return dot(dout, out, N * C);
        };
        checkGradient("rmsNormBackward dinp", inp, N * C, loss,
                g -> k.rmsNormBackward(g, null, dout, inp, weight, rstd, N, C));
        checkGradient("rmsNormBackward dweight", weight, C, loss,
                g -> k.rmsNormBackward(null, g, dout, inp, weight, rstd, N, C));
    }

    @Test
    void matmulBackward() {
        int N = 3, IN = 5, OUT = 4;
        Buffer inp = random(N * IN);
        Buffer weight = random(OUT * IN);
        Buffer bias = random(OUT);
        Buffer dout = random(N * OUT);
        Buffer out = k.allocateFloats(N * OUT);
        DoubleSupplier loss = () -> {
            k.matmulForward(out, inp, weight, bias, N, IN, OUT);
            return dot(dout, out, N * OUT);
        };
        checkGradient("matmulBackward dinp", inp, N * IN, loss,
                g -> k.matmulBackward(g, null, null, dout, inp, weight, N, IN, OUT));
        checkGradient("matmulBackward dweight", weight, OUT * IN, loss,
                g -> k.matmulBackward(null, g, null, dout, inp, weight, N, IN, OUT));
        checkGradient("matmulBackward dbias", bias, OUT, loss,
                g -> k.matmulBackward(null, null, g, dout, inp, weight, N, IN, OUT));
    }

    @ParameterizedTest
    @ValueSource(floats = {0f, 0.3f})
    void loraBackward(float dropout) {
        int N = 4, IN = 5, OUT = 3, R = 2;
        float scale = 1.5f;
        long seed = 77;
        Buffer inp = random(N * IN);
        Buffer weight = random(OUT * IN);
        Buffer bias = random(OUT);
        Buffer a = random(R * IN);
        Buffer b = random(OUT * R);
        Buffer dout = random(N * OUT);
        Buffer out = k.allocateFloats(N * OUT);
        Buffer xa = k.allocateFloats(N * R);
        Buffer scratch = k.allocateFloats(N * R);
        k.loraForward(out, xa, inp, weight, bias, a, b, scale, dropout, seed, N, IN, OUT, R);
        DoubleSupplier loss = () -> {
            k.loraForward(out, scratch, inp, weight, bias, a, b, scale, dropout, seed, N, IN, OUT, R);
            return dot(dout, out, N * OUT);
        };
        String at = " (dropout " + dropout + ")";
        checkGradient("loraBackward dinp" + at, inp, N * IN, loss,
                g -> k.loraBackward(g, null, null, dout, inp, xa, weight, a, b, scale, dropout, seed, N, IN, OUT, R));
        checkGradient("loraBackward da" + at, a, R * IN, loss,
                g -> k.loraBackward(null, g, null, dout, inp, xa, weight, a, b, scale, dropout, seed, N, IN, OUT, R));
        checkGradient("loraBackward db" + at, b, OUT * R, loss,
                g -> k.loraBackward(null, null, g, dout, inp, xa, weight, a, b, scale, dropout, seed, N, IN, OUT, R));
    }

    @ParameterizedTest
    @ValueSource(strings = {"bidirectional", "causal", "padded", "padded causal"})
    void attentionBackward(String variant) {
        int B = 3, T = 4, NH = 4, NKV = 2, HS = 3;
        boolean causal = variant.contains("causal");
        // sequence 0 real, sequence 1 with trailing padding, sequence 2 fully padded
        Buffer mask = variant.contains("padded") ? ints(1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0) : null;
        int qn = B * T * NH * HS;
        int kvn = B * T * NKV * HS;
        Buffer q = random(qn);
        Buffer kk = random(kvn);
        Buffer v = random(kvn);
        Buffer dout = random(qn);
        Buffer out = k.allocateFloats(qn);
        Buffer att = k.allocateFloats(B * NH * T * T);
        k.attentionForward(out, att, q, kk, v, mask, B, T, NH, NKV, HS, causal);
        DoubleSupplier loss = () -> {
            k.attentionForward(out, null, q, kk, v, mask, B, T, NH, NKV, HS, causal);
            return dot(dout, out, qn);
        };
        checkGradient("attentionBackward dq (" + variant + ")", q, qn, loss,
                g -> k.attentionBackward(g, null, null, dout, q, kk, v, att, B, T, NH, NKV, HS));
        checkGradient("attentionBackward dk (" + variant + ")", kk, kvn, loss,
                g -> k.attentionBackward(null, g, null, dout, q, kk, v, att, B, T, NH, NKV, HS));
        checkGradient("attentionBackward dv (" + variant + ")", v, kvn, loss,
                g -> k.attentionBackward(null, null, g, dout, q, kk, v, att, B, T, NH, NKV, HS));
    }

    @Test
    void ropeBackward() {
        int N = 4, H = 3, HS = 6;
        Buffer inp = random(N * H * HS);
        Buffer positions = ints(0, 5, 2, 9);
        Buffer invFreq = k.allocateFloats(HS / 2);
        k.upload(invFreq, 0, new double[] {1, 0.1, 0.01});
        Buffer dout = random(N * H * HS);
        Buffer out = k.allocateFloats(N * H * HS);
        DoubleSupplier loss = () -> {
            k.ropeForward(out, inp, positions, invFreq, N, H, HS);
            return dot(dout, out, N * H * HS);
        };
        checkGradient("ropeBackward dinp", inp, N * H * HS, loss,
                g -> k.ropeBackward(g, dout, positions, invFreq, N, H, HS));
    }

    @Test
    void geluBackward() {
        int n = 40;
        Buffer inp = random(n, 3, 0);
        Buffer dout = random(n);
        Buffer out = k.allocateFloats(n);
        DoubleSupplier loss = () -> {
            k.geluForward(out, inp, n);
            return dot(dout, out, n);
        };
        checkGradient("geluBackward dinp", inp, n, loss, g -> k.geluBackward(g, dout, inp, n));
    }

    @Test
    void swigluBackward() {
        int n = 40;
        Buffer gate = random(n, 3, 0);
        Buffer up = random(n);
        Buffer dout = random(n);
        Buffer out = k.allocateFloats(n);
        DoubleSupplier loss = () -> {
            k.swigluForward(out, gate, up, n);
            return dot(dout, out, n);
        };
        checkGradient("swigluBackward dgate", gate, n, loss, g -> k.swigluBackward(g, null, dout, gate, up, n));
        checkGradient("swigluBackward dup", up, n, loss, g -> k.swigluBackward(null, g, dout, gate, up, n));
    }

    @Test
    void residualBackward() {
        int n = 9;
        Buffer a = random(n);
        Buffer b = random(n);
        Buffer dout = random(n);
        Buffer out = k.allocateFloats(n);
        DoubleSupplier loss = () -> {
            k.residualForward(out, a, b, n);
            return dot(dout, out, n);
        };
        checkGradient("residualBackward da", a, n, loss, g -> k.residualBackward(g, null, dout, n));
        checkGradient("residualBackward db", b, n, loss, g -> k.residualBackward(null, g, dout, n));
    }

    @Test
    void crossEntropyBackward() {
        int N = 5, V = 7;
        Buffer logits = random(N * V, 3, 0);
        Buffer targets = ints(3, -100, 0, 6, -100);
        Buffer probs = k.allocateFloats(N * V);
        Buffer scratch = k.allocateFloats(N * V);
        float dloss = 0.75f;
        k.crossEntropyForward(probs, logits, targets, N, V, -100);
        DoubleSupplier loss = () -> dloss * k.crossEntropyForward(scratch, logits, targets, N, V, -100);
        checkGradient("crossEntropyBackward dlogits", logits, N * V, loss,
                g -> k.crossEntropyBackward(g, probs, targets, N, V, -100, dloss));
    }

    @Test
    void meanPoolBackward() {
        int B = 3, T = 4, C = 5;
        Buffer inp = random(B * T * C);
        Buffer mask = ints(1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0);
        Buffer dout = random(B * C);
        Buffer out = k.allocateFloats(B * C);
        DoubleSupplier loss = () -> {
            k.meanPoolForward(out, inp, mask, B, T, C);
            return dot(dout, out, B * C);
        };
        checkGradient("meanPoolBackward dinp", inp, B * T * C, loss, g -> k.meanPoolBackward(g, dout, mask, B, T, C));
    }

    @Test
    void clsPoolBackward() {
        int B = 2, T = 3, C = 4;
        Buffer inp = random(B * T * C);
        Buffer dout = random(B * C);
        Buffer out = k.allocateFloats(B * C);
        DoubleSupplier loss = () -> {
            k.clsPoolForward(out, inp, B, T, C);
            return dot(dout, out, B * C);
        };
        checkGradient("clsPoolBackward dinp", inp, B * T * C, loss, g -> k.clsPoolBackward(g, dout, B, T, C));
    }

    // ------------------------------------------------------------------------------------------ known values

    @Test
    void erfKnownValues() {
        assertEquals(0.5204998778130465, Erf.erf(0.5), 5e-16);
        assertEquals(0.9953222650189527, Erf.erf(2), 5e-16);
        assertEquals(-0.9999779095030014, Erf.erf(-3), 5e-16);
        assertEquals(0.0, Erf.erf(0), 0);
        assertEquals(1.0, Erf.erf(7), 0);
    }

    @Test
    void geluKnownValues() {
        Buffer x = buffer(1, -1, 0, 3);
        Buffer out = k.allocateFloats(4);
        k.geluForward(out, x, 4);
        double[] y = values(out, 4);
        assertEquals(0.8413447460685429, y[0], 1e-15, "gelu(1)");
        assertEquals(-0.15865525393145705, y[1], 1e-15, "gelu(-1)");
        assertEquals(0.0, y[2], 0, "gelu(0)");
        assertEquals(2.9959503059051097, y[3], 1e-15, "gelu(3)");
    }

    @Test
    void layerNormOfASmallRow() {
        Buffer x = buffer(1, 2, 3, 4);
        Buffer out = k.allocateFloats(4);
        Buffer mean = k.allocateFloats(1);
        Buffer rstd = k.allocateFloats(1);
        k.layerNormForward(out, mean, rstd, x, buffer(1, 1, 1, 1), buffer(0, 0, 0, 0), 1, 4, 0f);
        double s = 1 / Math.sqrt(1.25);
        assertArrayEquals(new double[] {-1.5 * s, -0.5 * s, 0.5 * s, 1.5 * s}, values(out, 4), 1e-15);
        assertEquals(2.5, values(mean, 1)[0], 0);
        assertEquals(s, values(rstd, 1)[0], 1e-15);
    }

    @Test
    void crossEntropyOfAKnownRow() {
        // probs (1/6, 1/3, 1/2), target 2: loss ln 2; the second row is ignored and changes nothing
        Buffer logits = buffer(0, Math.log(2), Math.log(3), 5, -5, 0);
        Buffer probs = k.allocateFloats(6);
        double loss = k.crossEntropyForward(probs, logits, ints(2, -100), 2, 3, -100);
        assertEquals(Math.log(2), loss, 1e-15);
        assertArrayEquals(new double[] {1 / 6.0, 1 / 3.0, 0.5}, slice(values(probs, 6), 0, 3), 1e-15);
        Buffer dlogits = k.allocateFloats(6);
        k.crossEntropyBackward(dlogits, probs, ints(2, -100), 2, 3, -100, 1f);
        assertArrayEquals(new double[] {1 / 6.0, 1 / 3.0, -0.5, 0, 0, 0}, values(dlogits, 6), 1e-15);
        assertEquals(0.0, k.crossEntropyForward(probs, logits, ints(-100, -100), 2, 3, -100), 0, "no counted row");
    }

    @Test
    void adamwStepsByHand() {
        // lr 0.125, betas 0.5 and 0.75, eps 0, weight decay 0.5, g = 0.5 twice, p = 1:
        // step 1: p = 1 * (1 - 0.0625) = 0.9375; m = 0.25; v = 0.0625; p -= (0.125 / 0.5) * 0.25 / (0.25 / 0.5)
        // step 2: p = 0.8125 * 0.9375; m = 0.375; v = 0.109375; p -= (0.125 / 0.75) * 0.375 / sqrt(0.109375 / 0.4375)
        Buffer p = buffer(1);
        Buffer g = buffer(0.5);
        Buffer m = k.allocateFloats(1);
        Buffer v = k.allocateFloats(1);
        k.adamw(p, g, m, v, 1, 0.125f, 0.5f, 0.75f, 0f, 0.5f, 1);
        assertEquals(0.8125, values(p, 1)[0], 1e-15);
        assertEquals(0.25, values(m, 1)[0], 0);
        assertEquals(0.0625, values(v, 1)[0], 0);
        k.adamw(p, g, m, v, 1, 0.125f, 0.5f, 0.75f, 0f, 0.5f, 2);
        assertEquals(0.76171875 - 0.125, values(p, 1)[0], 1e-15);
        assertEquals(0.375, values(m, 1)[0], 0);
        assertEquals(0.109375, values(v, 1)[0], 0);
    }

    @Test
    void attentionAveragesTheVisibleValues() {
        // q = 0: every visible key scores the same, so each output is the mean of the visible values
        int B = 2, T = 3, NH = 2, NKV = 1, HS = 1;
        Buffer q = k.allocateFloats(B * T * NH * HS);
        Buffer kk = buffer(1, 2, 3, 4, 5, 6);
        Buffer v = buffer(1, 2, 3, 4, 5, 6);
        Buffer out = k.allocateFloats(B * T * NH * HS);
        Buffer mask = ints(1, 1, 1, 1, 0, 0);
        k.attentionForward(out, null, q, kk, v, mask, B, T, NH, NKV, HS, true);
        // sequence 0, causal: means of v[0..t]; sequence 1: only key 0 visible
        assertArrayEquals(new double[] {1, 1, 1.5, 1.5, 2, 2, 4, 4, 4, 4, 4, 4}, values(out, 12), 1e-15);
        k.attentionForward(out, null, q, kk, v, ints(0, 0, 0, 1, 1, 1), B, T, NH, NKV, HS, false);
        assertArrayEquals(new double[] {0, 0, 0, 0, 0, 0, 5, 5, 5, 5, 5, 5}, values(out, 12), 1e-15,
                "a fully padded sequence gives zero outputs");
    }

    @Test
    void ropeRotatesByAQuarterTurn() {
        // pos 1, invFreq pi/2: (x1, x2) -> (-x2, x1)
        Buffer out = k.allocateFloats(2);
        k.ropeForward(out, buffer(3, 5), ints(1), buffer(Math.PI / 2), 1, 1, 2);
        assertArrayEquals(new double[] {-5, 3}, values(out, 2), 1e-15);
    }

    @Test
    void poolingKnownValues() {
        Buffer inp = buffer(1, 3, 100, 7, 8, 9);
        Buffer out = k.allocateFloats(2);
        k.meanPoolForward(out, inp, ints(1, 1, 0, 0, 0, 0), 2, 3, 1);
        assertArrayEquals(new double[] {2, 0}, values(out, 2), 0);
        k.clsPoolForward(out, inp, 2, 3, 1);
        assertArrayEquals(new double[] {1, 7}, values(out, 2), 0);
    }

    @Test
    void loraDropoutScalesKeptInputs() {
        // N = 1, IN = 1, R = 1: xa = inp * factor * a, the factor from DropoutMask over element 0
        float p = 0.5f;
        Buffer xa = k.allocateFloats(1);
        Buffer out = k.allocateFloats(1);
        for (long seed = 0; seed < 8; seed++) {
            k.loraForward(out, xa, buffer(3), buffer(0), null, buffer(2), buffer(1), 1f, p, seed, 1, 1, 1, 1);
            double factor = DropoutMask.uniform(seed, 0) >= p ? 2 : 0;
            assertEquals(6 * factor, values(xa, 1)[0], 0, "seed " + seed);
            assertEquals(6 * factor, values(out, 1)[0], 0, "seed " + seed);
        }
    }

    @Test
    void normAndF32Buffers() {
        assertEquals(5.0, k.norm(buffer(3, 4), 2), 0);
        Buffer f32 = k.allocate(DType.F32, 2);
        k.upload(f32, 0, new double[] {0.1, 0.2});
        assertArrayEquals(new double[] {(float) 0.1, (float) 0.2}, values(f32, 2), 0);
    }

    // ---------------------------------------------------------------------------------------------- helpers

    @FunctionalInterface
    private interface Backward {
        void addInto(Buffer gradient);
    }

    /**
     * Central differences of {@code loss} with respect to the first {@code n} elements of {@code x}, against the
     * gradient {@code backward} adds to a buffer pre-filled with random values.
     */
    private void checkGradient(String what, Buffer x, int n, DoubleSupplier loss, Backward backward) {
        double[] numeric = new double[n];
        for (int j = 0; j < n; j++) {
            double v = values(x, n)[j];
            double h = 1e-6 * Math.max(1, Math.abs(v));
            set(x, j, v + h);
            double up = loss.getAsDouble();
            set(x, j, v - h);
            double down = loss.getAsDouble();
            set(x, j, v);
            numeric[j] = (up - down) / ((v + h) - (v - h));
        }
        double[] prefill = gaussian(n, 1, 0);
        Buffer gradient = buffer(prefill);
        backward.addInto(gradient);
        double[] added = values(gradient, n);
        for (int i = 0; i < n; i++) added[i] -= prefill[i];
        Compare.assertClose(what, "finite differences", numeric, "backward", added, FD_TOLERANCE);
    }

    private void set(Buffer x, int index, double value) {
        k.upload(x, index, new double[] {value});
    }

    private double dot(Buffer a, Buffer b, int n) {
        double[] x = values(a, n);
        double[] y = values(b, n);
        double sum = 0;
        for (int i = 0; i < n; i++) sum += x[i] * y[i];
        return sum;
    }

    private Buffer random(int n) {
        return random(n, 1, 0);
    }

    private Buffer random(int n, double scale, double offset) {
        return buffer(gaussian(n, scale, offset));
    }

    private double[] gaussian(int n, double scale, double offset) {
        double[] values = new double[n];
        for (int i = 0; i < n; i++) values[i] = offset + scale * rnd.nextGaussian();
        return values;
    }

    private Buffer buffer(double... values) {
        Buffer b = k.allocateFloats(values.length);
        k.upload(b, 0, values);
        return b;
    }

    private Buffer ints(int... values) {
        Buffer b = k.allocate(DType.I32, values.length);
        k.upload(b, 0, values);
        return b;
    }

    private double[] values(Buffer b, int n) {
        double[] values = new double[n];
        k.download(b, 0, values);
        return values;
    }

    private static double[] slice(double[] values, int from, int to) {
        return java.util.Arrays.copyOfRange(values, from, to);
    }
}
