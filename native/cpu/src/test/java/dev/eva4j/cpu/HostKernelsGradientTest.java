package dev.eva4j.cpu;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.eva4j.cpu.java.JavaBackend;
import dev.eva4j.cpu.openblas.OpenBlasBackend;
import dev.eva4j.spi.Buffer;
import dev.eva4j.spi.ComputeBackend;
import dev.eva4j.spi.DType;
import dev.eva4j.spi.Kernels;
import java.util.Random;
import java.util.function.DoubleSupplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A quick check of every backward kernel of both CPU backends: for a random direction d, the derivative of
 * L = sum(out * R) along d by central differences of the float32 forward pass (L summed in float64) against
 * {@code <grad, d>} from the backward pass with dout = R. Loose (1e-2 relative): it catches a wrong formula, not
 * the last digits, which eva4j-testkit checks against the float64 reference.
 */
class HostKernelsGradientTest {
    private static final double H = 1e-2, TOL = 1e-2;

    static Stream<Named<ComputeBackend>> backends() {
        return Stream.of(Named.of("openblas", new OpenBlasBackend()), Named.of("java", new JavaBackend()));
    }

    private Kernels k;
    private final Random rnd = new Random(11);

    private Kernels kernels(ComputeBackend backend) {
        assumeTrue(backend.isAvailable(), () -> backend.name() + " unavailable: " + backend.unavailableReason());
        return k = backend.kernels();
    }

    private float[] gaussian(int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) rnd.nextGaussian();
        return v;
    }

    private Buffer random(long n) {
        Buffer b = k.allocateFloats(n);
        k.upload(b, 0, gaussian(Math.toIntExact(n)));
        return b;
    }

    private Buffer ints(int... values) {
        Buffer b = k.allocate(DType.I32, values.length);
        k.upload(b, 0, values);
        return b;
    }

    private float[] read(Buffer b) {
        float[] v = new float[Math.toIntExact(b.length())];
        k.download(b, 0, v);
        return v;
    }

    /** L = sum(out * r) after running forward. */
    private DoubleSupplier loss(Runnable forward, Buffer out, float[] r) {
        return () -> {
            forward.run();
            float[] o = read(out);
            double s = 0;
            for (int i = 0; i < o.length; i++) s += (double) o[i] * r[i];
            return s;
        };
    }

    /**
     * Runs loss once at x (so saved activations match), zeroes dx, runs backward, then compares {@code <dx, d>} with
     * the central difference of loss along a random d.
     */
    private void check(String what, DoubleSupplier loss, Runnable backward, Buffer x, Buffer dx) {
        float[] x0 = read(x);
        loss.getAsDouble();
        k.fill(dx, 0, dx.length());
        backward.run();
        float[] g = read(dx), d = gaussian(x0.length);
        double analytic = 0;
        for (int i = 0; i < g.length; i++) analytic += (double) g[i] * d[i];
        double[] side = new double[2];
        for (int s = 0; s < 2; s++) {
            float[] moved = new float[x0.length];
            for (int i = 0; i < x0.length; i++) moved[i] = (float) (x0[i] + (s == 0 ? H : -H) * d[i]);
            k.upload(x, 0, moved);
            side[s] = loss.getAsDouble();
        }
        k.upload(x, 0, x0);
        double numeric = (side[0] - side[1]) / (2 * H);
        double err = Math.abs(numeric - analytic) / Math.max(1, Math.abs(numeric));
        if (!(err <= TOL)) {
            throw new AssertionError(k.name() + " " + what + ": backward gives " + analytic
                    + " along d, central differences " + numeric + " (relative difference " + err + ")");
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void normsAndLinear(ComputeBackend backend) {
        kernels(backend);
        int N = 5, C = 7, OUT = 3;
        Buffer inp = random(N * C), w = random(C), b = random(C), out = k.allocateFloats(N * C);
        Buffer mean = k.allocateFloats(N), rstd = k.allocateFloats(N), dinp = k.allocateFloats(N * C);
        Buffer dw = k.allocateFloats(C), db = k.allocateFloats(C), dout = random(N * C);
        float[] r = read(dout);
        DoubleSupplier ln = loss(() -> k.layerNormForward(out, mean, rstd, inp, w, b, N, C, 1e-5f), out, r);
        check("layerNorm dinp", ln, () -> k.layerNormBackward(dinp, null, null, dout, inp, w, mean, rstd, N, C), inp, dinp);
        check("layerNorm dweight", ln, () -> k.layerNormBackward(null, dw, null, dout, inp, w, mean, rstd, N, C), w, dw);
        check("layerNorm dbias", ln, () -> k.layerNormBackward(null, null, db, dout, inp, w, mean, rstd, N, C), b, db);
        DoubleSupplier rms = loss(() -> k.rmsNormForward(out, rstd, inp, w, N, C, 1e-5f), out, r);
        check("rmsNorm dinp", rms, () -> k.rmsNormBackward(dinp, null, dout, inp, w, rstd, N, C), inp, dinp);
        check("rmsNorm dweight", rms, () -> k.rmsNormBackward(null, dw, dout, inp, w, rstd, N, C), w, dw);

        Buffer weight = random(OUT * C), bias = random(OUT), y = k.allocateFloats(N * OUT), dy = random(N * OUT);
        Buffer dweight = k.allocateFloats(OUT * C), dbias = k.allocateFloats(OUT);
        DoubleSupplier mm = loss(() -> k.matmulForward(y, inp, weight, bias, N, C, OUT), y, read(dy));
        check("matmul dinp", mm, () -> k.matmulBackward(dinp, null, null, dy, inp, weight, N, C, OUT), inp, dinp);
        check("matmul dweight", mm, () -> k.matmulBackward(null, dweight, null, dy, inp, weight, N, C, OUT), weight,
                dweight);
        check("matmul dbias", mm, () -> k.matmulBackward(null, null, dbias, dy, inp, weight, N, C, OUT), bias, dbias);

        int R = 2;
        Buffer a = random(R * C), lb = random(OUT * R), xa = k.allocateFloats(N * R);
        Buffer da = k.allocateFloats(R * C), dlb = k.allocateFloats(OUT * R);
        for (float dropout : new float[] {0f, 0.3f}) {
            DoubleSupplier lora = loss(() -> k.loraForward(y, xa, inp, weight, bias, a, lb, 1.5f, dropout, 5, N, C,
                    OUT, R), y, read(dy));
            check("lora dinp p=" + dropout, lora, () -> k.loraBackward(dinp, null, null, dy, inp, xa, weight, a, lb,
                    1.5f, dropout, 5, N, C, OUT, R), inp, dinp);
            check("lora da p=" + dropout, lora, () -> k.loraBackward(null, da, null, dy, inp, xa, weight, a, lb,
                    1.5f, dropout, 5, N, C, OUT, R), a, da);
            check("lora db p=" + dropout, lora, () -> k.loraBackward(null, null, dlb, dy, inp, xa, weight, a, lb,
                    1.5f, dropout, 5, N, C, OUT, R), lb, dlb);
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void attentionAndRope(ComputeBackend backend) {
        kernels(backend);
        int B = 2, T = 4, NH = 4, NKV = 2, HS = 6;
        long nq = (long) B * T * NH * HS, nkv = (long) B * T * NKV * HS;
        Buffer q = random(nq), kk = random(nkv), v = random(nkv), out = k.allocateFloats(nq), dout = random(nq);
        Buffer att = k.allocateFloats((long) B * NH * T * T), mask = ints(1, 1, 1, 0, 1, 1, 1, 1);
        Buffer dq = k.allocateFloats(nq), dk = k.allocateFloats(nkv), dv = k.allocateFloats(nkv);
        for (boolean causal : new boolean[] {false, true}) {
            DoubleSupplier l = loss(() -> k.attentionForward(out, att, q, kk, v, mask, B, T, NH, NKV, HS, causal),
                    out, read(dout));
            Runnable back = () -> k.attentionBackward(dq, dk, dv, dout, q, kk, v, att, B, T, NH, NKV, HS);
            check("attention dq causal=" + causal, l, back, q, dq);
            check("attention dk causal=" + causal, l, back, kk, dk);
            check("attention dv causal=" + causal, l, back, v, dv);
        }
        int N = B * T;
        Buffer inv = k.allocateFloats(HS / 2), positions = ints(0, 1, 2, 3, 7, 0, 2, 5);
        k.upload(inv, 0, new float[] {1f, 0.1f, 0.01f});
        Buffer dq2 = k.allocateFloats(nq);
        DoubleSupplier rope = loss(() -> k.ropeForward(out, q, positions, inv, N, NH, HS), out, read(dout));
        check("rope", rope, () -> k.ropeBackward(dq2, dout, positions, inv, N, NH, HS), q, dq2);
    }

    @ParameterizedTest
    @MethodSource("backends")
    void elementwiseLossPoolingEmbedding(ComputeBackend backend) {
        kernels(backend);
        int n = 37;
        Buffer x = random(n), y = random(n), out = k.allocateFloats(n), dout = random(n);
        Buffer dx = k.allocateFloats(n), dy = k.allocateFloats(n);
        float[] r = read(dout);
        check("gelu", loss(() -> k.geluForward(out, x, n), out, r), () -> k.geluBackward(dx, dout, x, n), x, dx);
        DoubleSupplier swiglu = loss(() -> k.swigluForward(out, x, y, n), out, r);
        check("swiglu dgate", swiglu, () -> k.swigluBackward(dx, null, dout, x, y, n), x, dx);
        check("swiglu dup", swiglu, () -> k.swigluBackward(null, dy, dout, x, y, n), y, dy);
        DoubleSupplier residual = loss(() -> k.residualForward(out, x, y, n), out, r);
        check("residual da", residual, () -> k.residualBackward(dx, null, dout, n), x, dx);
        check("residual db", residual, () -> k.residualBackward(null, dy, dout, n), y, dy);

        int N = 4, V = 5;
        Buffer logits = random(N * V), probs = k.allocateFloats(N * V), dlogits = k.allocateFloats(N * V);
        Buffer targets = ints(3, -100, 0, 4);
        check("crossEntropy", () -> 1.7 * k.crossEntropyForward(probs, logits, targets, N, V, -100),
                () -> k.crossEntropyBackward(dlogits, probs, targets, N, V, -100, 1.7f), logits, dlogits);

        int B = 2, T = 3, C = 4;
        Buffer inp = random(B * T * C), dinp = k.allocateFloats(B * T * C), pooled = k.allocateFloats(B * C);
        Buffer dpooled = random(B * C), mask = ints(1, 1, 0, 1, 0, 1);
        check("meanPool", loss(() -> k.meanPoolForward(pooled, inp, mask, B, T, C), pooled, read(dpooled)),
                () -> k.meanPoolBackward(dinp, dpooled, mask, B, T, C), inp, dinp);
        check("clsPool", loss(() -> k.clsPoolForward(pooled, inp, B, T, C), pooled, read(dpooled)),
                () -> k.clsPoolBackward(dinp, dpooled, B, T, C), inp, dinp);

        Buffer table = random(5 * C), dtable = k.allocateFloats(5 * C), ids = ints(4, 0, 4, 2, 1, 4);
        Buffer emb = k.allocateFloats(6 * C), demb = random(6 * C);
        check("embedding", loss(() -> k.embeddingForward(emb, ids, table, 6, 5, C, false), emb, read(demb)),
                () -> k.embeddingBackward(dtable, demb, ids, 6, 5, C), table, dtable);
    }
}
